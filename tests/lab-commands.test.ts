// The lab commands: `archbench calibrate` (a task model's learning curve), `archbench analyze icl`
// (the icl suite's tables from a run's records) and `archbench analyze SUITE` for the suites that declare
// methods (forgetting, selfimprove): help, bad input (exit 2, one line), and a small run of each.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultRecord } from '../harness/store.ts';
import type { MethodAnalysis } from '../reports/method-analysis.ts';
import { cli, tempDir } from './helpers.ts';

const oneLine = (err: string) => expect(err.trim().split('\n')).toHaveLength(1);

describe('archbench calibrate', () => {
  it('--help lists the arguments and the key=value settings', async () => {
    const r = await cli(['calibrate', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: archbench calibrate');
    expect(r.out).toContain('needle|mqar|retrieval|icl|addition');
    expect(r.out).toContain('key=value');
  });

  it.each([
    [['foo', 'tiny', 'scratch', '4', '2'], /unknown task 'foo'; valid: needle, mqar, retrieval, icl/],
    [['mqar', 'huge', 'scratch', '4', '2'], /unknown preset 'huge'; valid: tiny, small, paper/],
    [['mqar', 'tiny', 'warm', '4', '2'], /unknown init 'warm'; valid: scratch, text/],
    [['mqar', 'tiny', 'scratch', '4x', '2'], /steps must be a positive integer, got '4x'/],
    [['mqar', 'tiny', 'scratch', '4', '2', '16', '1e-3', 'sq=64'], /unknown setting 'sq'; valid: arch, seed/],
    [['mqar', 'tiny', 'scratch', '4', '2', '16', '1e-3', 'seq=abc'], /setting seq must be a number, got 'abc'/],
    [['mqar', 'tiny', 'scratch', '4', '2', '16', '1e-3', 'side=dev'], /unknown side 'dev'; valid: train, test/],
    [['mqar', 'tiny'], /missing required argument 'init'/],
  ])('bad input %j: exit 2 with one line naming it', async (args, message) => {
    const r = await cli(['calibrate', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    oneLine(r.err);
  });

  it('prints one JSON line per probe point', async () => {
    const r = await cli(['calibrate', 'mqar', 'tiny', 'scratch', '2', '1', '4', '3e-3', 'probe=2', 'keys=16', 'values=16', 'train=2', 'middle=2']);
    expect(r.code).toBe(0);
    const points = r.out.trim().split('\n').map((l) => JSON.parse(l) as { step: number; probes: Record<string, { n: number }> });
    expect(points.map((p) => p.step)).toEqual([0, 1, 2]);
    expect(points[0]!.probes.mqar2!.n).toBe(4); // 2 episodes x 2 queried keys
  });

  it("addition: selfimprove's base mixture, probed on the suite's budget probe (never the held-out test set)", async () => {
    const r = await cli(['calibrate', 'addition', 'tiny', 'scratch', '2', '2', '4', '3e-3', 'probe=3', 'rate=0.5', 'digits=2']);
    expect(r.code).toBe(0);
    const points = r.out.trim().split('\n').map((l) => JSON.parse(l) as { step: number; probes: Record<string, { n: number }> });
    expect(points.map((p) => p.step)).toEqual([0, 2]);
    expect(points[1]!.probes.addition2!.n).toBe(3); // three 2-digit problems, one answer each
    // tiny's 1-digit task has ~12 test-side problems, all in its 64-problem test set: no probe is left
    const none = await cli(['calibrate', 'addition', 'tiny', 'scratch', '2', '2', '4', '3e-3', 'probe=3']);
    expect(none.code).toBe(2);
    expect(none.err.trim().split('\n')).toHaveLength(1);
    expect(none.err).toMatch(/1-digit problems leave 0 test-side problems beside the 64-problem test set .* valid: digits=2 or more/);
  });
});

/** A run directory holding the icl records of two architectures: one order cell grid and one scaling row each. */
function fixtureRun(): string {
  const dir = join(tempDir('archbench-analyze-'), 'run');
  mkdirSync(dir);
  const common = { suite: 'icl', seed: 0, preset: 'tiny', unit: 'fraction', params: 1, backend: 'wasm', elapsed_s: 1, time: '' };
  const records: ResultRecord[] = [];
  for (const [arch, amp] of [['a', 0.2], ['b', 0.05]] as const) {
    const rec = (metric: string, value: number, dims: ResultRecord['dims']) => records.push({ ...common, arch, metric, value, dims });
    for (const arrangement of ['random', 'clustered']) {
      for (let set = 0; set < 4; set++) for (let p = 0; p < 4; p++) {
        rec('icl_accuracy', 0.5 + amp * (p % 2 ? 1 : -1) * (1 + set / 10), { experiment: 'order', demos: 4, arrangement, set, permutation: p });
      }
      rec('icl_accuracy_pooled', 0.5, { experiment: 'order', demos: 4, arrangement });
      for (const stat of ['mean', 'std', 'worst', 'best', 'gap']) rec(`permutation_${stat}`, 0.5, { demos: 4, arrangement });
    }
    rec('icl_accuracy_pooled', 0.75, { experiment: 'scaling', mode: 'conventional', demos: 16 });
    rec('accuracy_std', 0.1, { experiment: 'scaling', mode: 'conventional', demos: 16 });
    rec('conventional_seen', 12, { demos: 16 });
  }
  writeFileSync(join(dir, 'records.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return dir;
}

describe('archbench analyze icl', () => {
  it('--help names the analyses', async () => {
    const r = await cli(['analyze', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: archbench analyze');
    expect(r.out).toContain('one of icl');
  });

  it('prints the order and scaling tables, and the paired spread comparison of two architectures', async () => {
    const dir = fixtureRun();
    const r = await cli(['analyze', 'icl', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('| arch | demos | arrangement | mean | std | worst | best | gap | pooled [95% CI] | flag |');
    expect(r.out).toContain('| a | 4 | clustered | 0.500 |');
    expect(r.out).toContain('| b | 0 | 16 | conventional | 1 | 12 | 0.750 ');
    expect(r.out).not.toContain('Paired spread comparison');
    const pair = await cli(['analyze', 'icl', dir, 'a', 'b']);
    expect(pair.out).toContain('Paired spread comparison a - b');
    expect(pair.out).toMatch(/\| all \| 8 \| 0 \| [\d.]+ \| .* \| a spread higher \|/);
    const json = JSON.parse((await cli(['analyze', 'icl', dir, 'a', 'b', '--json'])).out) as { order: unknown[]; spread: { flaggedLeftOut: { scope: string; verdict: string }[] }; scaling: unknown[] };
    expect(json.order).toHaveLength(4);
    expect(json.scaling).toHaveLength(2);
    expect(json.spread.flaggedLeftOut.find((c) => c.scope === 'all')!.verdict).toBe('a spread higher');
  });

  it.each([
    [['foo', '.'], /unknown analysis 'foo'; valid: icl/],
    [['icl', '/nonexistent/run'], /run directory '\/nonexistent\/run' does not exist/],
    [['icl', 'RUN', 'a'], /compares two architectures \(archA archB\), got 1/],
    [['icl', 'RUN', 'a', 'z'], /architecture 'z' has no icl records in '.*'; valid: a, b/],
  ])('bad input %j: exit 2 with one line naming it', async (args, message) => {
    const r = await cli(['analyze', ...args.map((a) => (a === 'RUN' ? fixtureRun() : a))]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    oneLine(r.err);
  });

  it('a directory without records is bad input', async () => {
    const r = await cli(['analyze', 'icl', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds no records/);
    oneLine(r.err);
  });
});

/** A run directory with forgetting records over 3 seeds: tree clearly below plain, tree and uniform within noise, a floor-flagged arch. */
function methodsRun(): string {
  const dir = join(tempDir('archbench-analyze-'), 'run');
  mkdirSync(dir);
  const records: ResultRecord[] = [];
  const noise = [0.01, -0.004, -0.006];
  for (const [arch, flag] of [['a', undefined], ['b', 'floor']] as const) {
    for (const seed of [0, 1, 2]) {
      const rec = (metric: string, value: number, method: string) =>
        records.push({ suite: 'forgetting', arch, seed, preset: 'tiny', unit: 'bpb', params: 1, backend: 'wasm', elapsed_s: 1, time: '', metric, value, dims: { method }, ...(flag ? { flag } : {}) });
      rec('forgetting_bpb', 0.3 + noise[seed]!, 'plain');
      rec('forgetting_bpb', 0.2 + noise[seed]! * 0.5, 'tree');
      rec('forgetting_bpb', 0.2 + noise[(seed + 1) % 3]!, 'uniform');
      rec('forgetting_bpb', 0.19 + noise[seed]!, 'real');
      rec('b_bpb', 2.5, 'plain');
    }
  }
  writeFileSync(join(dir, 'records.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return dir;
}

describe('archbench analyze SUITE for a suite that declares its methods', () => {
  it('tabulates the metric by method per architecture over seeds and judges each declared pair, paired by seed', async () => {
    const dir = methodsRun();
    const json = JSON.parse((await cli(['analyze', 'forgetting', dir, '--json'])).out) as MethodAnalysis;
    expect(json.seeds).toEqual([0, 1, 2]);
    expect(json.tables.map((t) => t.metric)).toEqual(['forgetting_bpb', 'b_bpb']);
    expect(json.tables[0]!.columns).toEqual(['plain', 'tree', 'uniform', 'real']);
    const plainA = json.tables[0]!.rows.find((r) => r.arch === 'a')!.cells[0]!;
    expect(plainA.n).toBe(3);
    expect(plainA.mean).toBeCloseTo(0.3, 10);
    const pair = (arch: string, a: string, b: string) => json.pairs.find((p) => p.arch === arch && p.a === a && p.b === b)!;
    expect(pair('a', 'tree', 'plain').verdict).toBe('better');
    expect(pair('a', 'tree', 'plain').result.method).toBe('paired-t');
    expect(pair('a', 'tree', 'plain').result.diff).toBeCloseTo(-0.1, 10);
    expect(pair('a', 'tree', 'uniform').verdict).toBe('tied');
    expect(pair('a', 'uniform', 'plain').verdict).toBe('better');
    expect(pair('a', 'tree', 'plain').flags).toEqual([]);
    expect(pair('b', 'tree', 'plain').flags).toEqual(['floor']);
    const md = (await cli(['analyze', 'forgetting', dir])).out;
    expect(md).toContain('| architecture | plain | tree | uniform | real |');
    expect(md).toMatch(/\| a \| better \(-0\.1 \[[^\]]+\]\) \| tied/);
    expect(md).toMatch(/\| b \| better \(-0\.1 \[[^\]]+\]\) \[floor\]/);
  });

  it.each([
    [['forgetting', 'RUN', 'a'], /analyze forgetting takes no architectures, got: a/],
    [['selfimprove', 'RUN'], /run directory '.*' holds no selfimprove records/],
  ])('bad input %j: exit 2 with one line naming it', async (args, message) => {
    const r = await cli(['analyze', ...args.map((a) => (a === 'RUN' ? methodsRun() : a))]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    oneLine(r.err);
  });
});
