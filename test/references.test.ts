import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every comment, doc and README cites files inside this repository: a reader with a fresh clone can
 * open each one. Guards against links into a folder that only existed on one machine, and against
 * paths that went stale when files moved.
 */

const ROOT = resolve(import.meta.dirname, '..');
const TEXT = /\.(ts|mjs|js|md|json|ya?ml|txt|sh)$/;
/** Top-level folders of the repository: a path starting with one of them is a file reference. */
const FOLDERS = ['docs', 'shared', 'local', 'test', 'functions', 'infra', 'scripts', 'bench'];
/** Names the docs use as examples of files a reader would add, not files that exist. */
const EXAMPLE_PATHS = new Set(['functions/x.ts', 'functions/sync-leads.ts', 'local/bitrix24-client-credentials']);

function trackedTextFiles(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(
      (file) => (TEXT.test(file) || file === '.ci/run') && file !== 'package-lock.json' && existsSync(join(ROOT, file)),
    );
}

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** `path` of `[text](path)` links that are neither URLs nor anchors, without their `#fragment`. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const match of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1] ?? '';
    if (/^([a-z]+:|#|<)/i.test(target)) continue;
    links.push(target.replace(/#.*$/, ''));
  }
  return links;
}

/** Section numbers (`2.3`) of `docs/PROTOCOL.md`'s headings. */
function protocolSections(): Set<string> {
  const sections = new Set<string>();
  for (const match of read('docs/PROTOCOL.md').matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) {
    if (match[1] !== undefined) sections.add(match[1]);
  }
  return sections;
}

describe('references between files of the repository', () => {
  const files = trackedTextFiles();

  it('links only to files that exist inside the repository', () => {
    // Prepare
    const broken: string[] = [];

    // Act
    for (const file of files.filter((f) => f.endsWith('.md'))) {
      for (const link of relativeLinks(read(file))) {
        const target = normalize(join(dirname(file), link));
        const inside = !relative(ROOT, resolve(ROOT, target)).startsWith(`..${sep}`);
        if (!inside || !existsSync(join(ROOT, target))) broken.push(`${file}: ${link}`);
      }
    }

    // Assess
    expect(broken).toEqual([]);
  });

  it('names no folder outside the repository', () => {
    // Prepare
    const outside = /shared\/bitrix24\/|\/work\/|shared\/STYLE\.md/;
    const found: string[] = [];
    /** A `../…/shared/` path that climbs above the repository from `file`'s folder. */
    const climbsOut = (file: string, line: string) =>
      [...line.matchAll(/((?:\.\.\/)+)shared\//g)].some((match) => {
        const target = normalize(join(dirname(file), match[1] ?? ''));
        return target.startsWith('..');
      });

    // Act
    for (const file of files) {
      read(file)
        .split('\n')
        .forEach((line, index) => {
          // Markdown links are resolved by the test above; `../` inside them is a path within the repo.
          const withoutLinks = line.replace(/\]\([^)]*\)/g, '](…)');
          if (outside.test(withoutLinks) || climbsOut(file, withoutLinks)) {
            found.push(`${file}:${index + 1}: ${line.trim()}`);
          }
        });
    }

    // Assess
    expect(found).toEqual([]);
  });

  it('cites protocol notes by sections that exist in docs/PROTOCOL.md', () => {
    // Prepare
    const sections = protocolSections();
    const wrong: string[] = [];

    // Act
    for (const file of files) {
      for (const match of read(file).matchAll(/PROTOCOL\.md\)?((?:,? *§ *\d+(?:\.\d+)*)+)/g)) {
        for (const section of (match[1] ?? '').matchAll(/§ *(\d+(?:\.\d+)*)/g)) {
          if (!sections.has(section[1] ?? '')) wrong.push(`${file}: §${section[1]}`);
        }
      }
    }

    // Assess
    expect(sections.size).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });

  it('names repository paths that exist (globs by their folder)', () => {
    // Prepare
    const pattern = new RegExp(`(?<![\\w./#@-])((?:${FOLDERS.join('|')})/[\\w./-]*\\w)(\\*|-\\*)?`, 'g');
    const missing: string[] = [];

    // Act
    for (const file of files) {
      for (const match of read(file).matchAll(pattern)) {
        const path = match[1] ?? '';
        if (EXAMPLE_PATHS.has(path)) continue;
        const glob = match[2] !== undefined;
        const candidates = glob ? [dirname(path)] : [path, path.replace(/\.js$/, '.ts')];
        if (!candidates.some((candidate) => existsSync(join(ROOT, candidate)))) missing.push(`${file}: ${path}`);
      }
    }

    // Assess
    expect(missing).toEqual([]);
  });
});
