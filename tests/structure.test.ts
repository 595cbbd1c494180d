// The house's floors (.dependency-cruiser.cjs): architectures < harness < suites < reports < cli, no import
// loop, no suite importing another. dependency-cruiser reads the real imports (type-only ones included);
// the rules are first shown to catch each kind of violation in a throwaway tree, then the project is checked.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../harness/hash.ts';

const FOLDERS = ['architectures', 'harness', 'suites', 'reports', 'cli', 'bin', 'tools'];
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation { rule: { name: string }; from: string; to: string }

function violations(cwd: string, folders: string[]): Violation[] {
  const out = execFileSync(process.execPath, [DEPCRUISE, ...folders, '--config', CONFIG, '--output-type', 'json'], {
    cwd, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

const describeViolations = (vs: Violation[]): string[] => vs.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);

describe('the floors and their rule file', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'archbench-floors-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
  };

  it('catches an import up the floors, a loop, suites importing each other and architectures importing the harness', () => {
    write({
      'architectures/layer.ts': "import { store } from '../harness/store.ts';\nexport const layer = store;\n",
      'harness/store.ts': "export const store = 1;\n",
      'harness/upward.ts': "import { suite } from '../suites/a/suite.ts';\nexport const up = suite;\n",
      'harness/loop-a.ts': "import { b } from './loop-b.ts';\nexport const a = b;\n",
      'harness/loop-b.ts': "import { a } from './loop-a.ts';\nexport const b = () => a;\n",
      'suites/a/suite.ts': "import { other } from '../b/suite.ts';\nexport const suite = other;\n",
      'suites/b/suite.ts': "import type { Shared } from '../tasks/shared.ts';\nexport const other: Shared = 1;\n",
      'suites/tasks/shared.ts': 'export type Shared = number;\n',
      'reports/ok.ts': "import { suite } from '../suites/a/suite.ts';\nexport const ok = suite;\n",
      'architectures/layer.test.ts': "import { store } from '../harness/store.ts';\nexport const t = store;\n",
    });
    const found = describeViolations(violations(scratch, ['architectures', 'harness', 'suites', 'reports'])).sort(); // a loop is named once
    expect(found).toEqual([
      'architectures-stand-alone: architectures/layer.ts -> harness/store.ts',
      'harness-below-suites: harness/upward.ts -> suites/a/suite.ts',
      'no-import-loop: harness/loop-a.ts -> harness/loop-b.ts',
      'suites-apart: suites/a/suite.ts -> suites/b/suite.ts',
    ]);
  });

  it('the project keeps them: no import up the floors, no loop, no suite importing another', () => {
    expect(describeViolations(violations(ROOT, FOLDERS))).toEqual([]);
  });
});
