// Global setup (vitest.config.ts): one scratch folder per test run. TMPDIR points into it before the
// test workers start, so every temporary folder of the tests and of the CLI processes they spawn lands
// there, and the folder is removed when the run ends instead of leaving thousands behind in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function scratchRoot(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'archbench-tests-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
