import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// Docs may name the folders the project came from; nothing that runs may read them.
const isDoc = (file: string) => file.endsWith('.md');
// A relative path that starts with `../` (a `./…/../` path is caught the same way once it is resolved).
const RELATIVE = /(?<![\w.$/-])(?:\.\.\/)+[\w.@${}*/-]*/g;
// Folders beside the clone that sessions happened to have (never present in a user's clone).
const KNOWN_OUTSIDE =
  /(?<![\w./-])(?:\/work\/)?shared\/(?:fixtures|seed|hooks|DESIGN\.md|SPEC\.md|STYLE\.md)/g;

/** The paths in a tracked file's text that lead outside the repository (relative to the file's folder). */
function outsideReferences(file: string, text: string, repoRoot = root): string[] {
  const found: string[] = [];
  const from = dirname(resolve(repoRoot, file));
  for (const [ref] of text.matchAll(RELATIVE)) {
    const to = relative(repoRoot, resolve(from, ref));
    if (to === '..' || to.startsWith(`..${sep}`)) found.push(ref);
  }
  for (const [ref] of text.matchAll(KNOWN_OUTSIDE)) found.push(ref);
  return found;
}

describe('the repository stands on its own', () => {
  it('the check finds a path that leads outside the repository', () => {
    expect(
      outsideReferences('test/x.test.ts', "new URL('../../shared/fixtures/a.json', import.meta.url)"),
    ).toEqual(['../../shared/fixtures/a.json']);
    expect(outsideReferences('apps/cli/src/a.ts', "import '../../../../x.js'")).toEqual(['../../../../x.js']);
    expect(outsideReferences('scripts/a.sh', 'cat /work/shared/seed/page.txt')).toEqual([
      '/work/shared/seed',
    ]);
    expect(outsideReferences('apps/cli/src/a.ts', "import '../../../test/fixtures/a.json'")).toEqual([]);
    expect(outsideReferences('apps/cli/tsconfig.json', '"extends": "../../tsconfig.json"')).toEqual([]);
  });

  it('no tracked file (docs aside) references a path outside the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      // This file holds the check's own examples of bad paths.
      .filter((f) => f && !isDoc(f) && f !== 'pnpm-lock.yaml' && f !== 'test/self-contained.test.ts');
    const offenders: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(resolve(root, file), 'utf8');
      } catch {
        continue; // deleted in the work tree
      }
      for (const ref of outsideReferences(file, text)) offenders.push(`${file}: ${ref}`);
    }
    expect(offenders).toEqual([]);
  });
});
