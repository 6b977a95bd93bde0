import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * What `npm run synth` produced, in a few lines: where the template is and what is in it, the function
 * bundles, and the cdk-nag verdict (findings, and the findings acknowledged with a reason). Read from
 * the cloud assembly CDK wrote (`cdk.out/`), never from the CLI's console output.
 */

/** The acknowledged-rules entry CDK writes into an assembly's metadata (`Validations.of(x).acknowledge`). */
const ACKNOWLEDGED = 'aws:cdk:acknowledged-rules';

export interface AssemblySummary {
  readonly stacks: readonly {
    readonly name: string;
    readonly templatePath: string;
    readonly resources: number;
    readonly functions: number;
    readonly outputs: readonly string[];
  }[];
  /** Function bundles (`asset.*` folders with an `index.mjs`) and the largest one's size in bytes. */
  readonly bundles: { readonly count: number; readonly largestBytes: number };
  /** `rule at construct path` of every cdk-nag finding nobody acknowledged. */
  readonly findings: readonly string[];
  /** Acknowledged findings per rule id (`AwsSolutions-APIG4` → 5). */
  readonly acknowledged: Readonly<Record<string, number>>;
}

function json(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Reads the cloud assembly in `directory` (default `cdk.out`). */
export function summarizeAssembly(directory: string): AssemblySummary {
  const files = readdirSync(directory);
  const stacks = files
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => {
      const template = record(json(join(directory, file)));
      const resources = Object.values(record(template.Resources)).map(record);
      return {
        name: file.replace(/\.template\.json$/, ''),
        templatePath: join(directory, file),
        resources: resources.length,
        functions: resources.filter((resource) => resource.Type === 'AWS::Lambda::Function').length,
        outputs: Object.keys(record(template.Outputs)),
      };
    });
  const bundleSizes = files
    .filter((file) => file.startsWith('asset.') && existsSync(join(directory, file, 'index.mjs')))
    .map((file) => statSync(join(directory, file, 'index.mjs')).size);
  const acknowledged: Record<string, number> = {};
  for (const file of files.filter((name) => name.endsWith('.metadata.json'))) {
    for (const entries of Object.values(record(json(join(directory, file))))) {
      for (const entry of Array.isArray(entries) ? entries.map(record) : []) {
        if (entry.type !== ACKNOWLEDGED) continue;
        for (const key of Object.keys(record(entry.data))) {
          // `Annotation::AwsSolutions-IAM5[Resource::…]` → `AwsSolutions-IAM5`
          const rule = key.replace(/^Annotation::/, '').replace(/\[.*$/, '');
          acknowledged[rule] = (acknowledged[rule] ?? 0) + 1;
        }
      }
    }
  }
  return {
    stacks,
    bundles: { count: bundleSizes.length, largestBytes: Math.max(0, ...bundleSizes) },
    findings: findingsIn(directory),
    acknowledged,
  };
}

/** The findings of the validation report CDK writes when a validation plugin (cdk-nag) ran. */
function findingsIn(directory: string): string[] {
  const file = join(directory, 'validation-report.json');
  if (!existsSync(file)) return [];
  const reports = record(json(file)).pluginReports;
  return (Array.isArray(reports) ? reports.map(record) : []).flatMap((plugin) =>
    (Array.isArray(plugin.violations) ? plugin.violations.map(record) : []).flatMap((violation) =>
      (Array.isArray(violation.violatingConstructs) ? violation.violatingConstructs.map(record) : []).map(
        (construct) => `${String(violation.ruleName)} at ${String(construct.constructPath)}`,
      ),
    ),
  );
}

/** The summary as the lines `npm run synth` prints; paths relative to `cwd`. */
export function summaryLines(summary: AssemblySummary, cwd: string, seconds: number): string[] {
  const acknowledged = Object.entries(summary.acknowledged).sort(([a], [b]) => a.localeCompare(b));
  const total = acknowledged.reduce((sum, [, n]) => sum + n, 0);
  const nag =
    summary.findings.length === 0
      ? `AwsSolutions and Serverless: passed, no open finding; ${total} acknowledged with a reason${
          total === 0 ? '' : ` (${acknowledged.map(([rule, n]) => `${rule} ×${n}`).join(', ')})`
        }`
      : `AwsSolutions and Serverless: ${summary.findings.length} open finding${summary.findings.length === 1 ? '' : 's'}: ${summary.findings.join('; ')}`;
  return [
    `synth done in ${seconds} s`,
    ...summary.stacks.map(
      (stack) =>
        `  template  ${relative(cwd, stack.templatePath)}: ${stack.resources} resources, ${stack.functions} Lambda functions, outputs ${stack.outputs.join(', ')}`,
    ),
    `  bundles   ${summary.bundles.count} function bundle${summary.bundles.count === 1 ? '' : 's'}, the largest ${Math.round(summary.bundles.largestBytes / 1024)} KiB`,
    `  cdk-nag   ${nag}`,
  ];
}
