/**
 * `npm run synth [-- cdk options]`: `cdk synth` without its console noise, then a summary of what it
 * wrote (scripts/synth-summary.ts): the template, the function bundles and the cdk-nag verdict. On a
 * failure CDK's own output is printed in full. Works without an AWS account.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { summarizeAssembly, summaryLines } from './synth-summary.js';

const args = process.argv.slice(2);
const outputFlag = args.findIndex((arg) => arg === '-o' || arg === '--output');
const outdir = resolve(outputFlag >= 0 ? (args[outputFlag + 1] ?? 'cdk.out') : 'cdk.out');
const started = performance.now();
process.stderr.write('synthesizing: bundling the functions with esbuild, running cdk-nag…\n');

const child = spawn('cdk', ['synth', '--quiet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});
child.stderr.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});
const code = await new Promise<number>((resolveExit) => {
  child.once('error', (error) => {
    output += `${error.message}\n`;
    resolveExit(1);
  });
  child.once('close', (exit) => resolveExit(exit ?? 1));
});
const seconds = Math.round((performance.now() - started) / 1000);
if (code !== 0) {
  process.stderr.write(output);
  process.stderr.write(`\nsynth failed (exit code ${code}); cdk-nag findings, if any, are named above.\n`);
  process.exitCode = code;
} else {
  process.stdout.write(`${summaryLines(summarizeAssembly(outdir), process.cwd(), seconds).join('\n')}\n`);
}
