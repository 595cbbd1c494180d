// tools/subgroup-matrix-probe.mjs: where the adapter lacks chromium-experimental-subgroup-matrix (lavapipe)
// it says why and exits 0 with its facts as the last line; where the adapter has it, every f16 config it
// ran agrees with float64 sums and reports a positive TFLOP/s; a bad option is one line and exit 2.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../harness/hash.ts';

const probe = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'tools/subgroup-matrix-probe.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

describe('the subgroup-matrix probe', () => {
  it('answers: the reason it did not run and exit 0, or checked f16 runs with their TFLOP/s', () => {
    const r = probe('--size', '128', '--runs', '2');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const facts = JSON.parse(lines.at(-1)!) as { available: boolean; reason: string; configs: unknown[]; runs: { error?: string; relative_error: number; tflops: number }[] };
    process.stderr.write(`subgroup-matrix probe here: ${facts.available ? JSON.stringify(facts.runs) : facts.reason}\n`);
    if (!facts.available) {
      expect(facts.reason).not.toBe('');
      expect(r.stdout).toContain(`subgroup matrix not run: ${facts.reason}`);
      expect(facts.runs).toEqual([]);
      return;
    }
    expect(facts.configs.length).toBeGreaterThan(0);
    for (const run of facts.runs.filter((x) => !x.error)) {
      expect(run.relative_error).toBeLessThan(1e-3);
      expect(run.tflops).toBeGreaterThan(0);
    }
  });

  it('refuses a bad --size in one line, exit 2', () => {
    const r = probe('--size', 'big');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.includes('subgroup-matrix-probe'))).toEqual(["subgroup-matrix-probe: --size must be a positive integer, got 'big'"]);
  });
});
