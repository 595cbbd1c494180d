// `archbench verify --golden`: the architectures' own layers against the reference vectors in
// ../shared/golden (when present), on other shapes cut from them, and the exit codes for a numerical
// mismatch (1) and for a malformed file or an unknown case type (2).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyGolden } from '../cli/golden.ts';
import { ROOT } from '../harness/hash.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

const GOLDEN = join(ROOT, '..', 'shared', 'golden');
const present = existsSync(GOLDEN);

type Arr = { shape: number[]; data: number[] };
type Case = { case: string; config: Record<string, unknown>; weights: Record<string, Arr>; inputs: Record<string, Arr>; outputs: Record<string, Arr> };

const read = (name: string): Case => JSON.parse(readFileSync(join(GOLDEN, name), 'utf8')) as Case;
const caseFiles = (): string[] => (present ? readdirSync(GOLDEN).filter((f) => f.endsWith('.json')).sort() : []);

/** The leading block of an array: the first `sizes[i]` entries along each of its first axes. */
function leading(a: Arr, sizes: number[]): Arr {
  const shape = a.shape.map((n, i) => (i < sizes.length ? Math.min(n, sizes[i]!) : n));
  const strides = a.shape.map((_, i) => a.shape.slice(i + 1).reduce((x, y) => x * y, 1));
  const data: number[] = [];
  const walk = (axis: number, offset: number) => {
    if (axis === a.shape.length) return void data.push(a.data[offset]!);
    for (let i = 0; i < shape[axis]!; i++) walk(axis + 1, offset + i * strides[axis]!);
  };
  walk(0, 0);
  return { shape, data };
}

beforeAll(async () => {
  await useBackend();
});

afterEach(() => {
  process.exitCode = undefined; // verify sets 1 on a mismatch; do not leak it into the test runner
});

describe.skipIf(!present)('golden cases in ../shared/golden', () => {
  it('every case and every form passes, and every output of every file is checked', async () => {
    const checks = await verifyGolden(GOLDEN);
    expect(checks.filter((k) => !k.pass).map((k) => `${k.file} ${k.form} ${k.maxAbsErr}`)).toEqual([]);
    for (const f of caseFiles()) {
      const outputs = Object.keys(read(f).outputs).filter((k) => !k.startsWith('intermediate.'));
      expect(checks.filter((k) => k.file === f).map((k) => k.form)).toEqual(expect.arrayContaining(outputs));
    }
    // the forms the issue names are all among them
    const forms = new Set(checks.map((k) => `${k.case}:${k.form}`));
    for (const f of ['retnet_msr:parallel_output', 'retnet_msr:recurrent_output', 'retnet_msr:chunkwise_output',
      'yoco_gate_retention:output_prefill_then_recurrent', 'diffattn_gqa:output', 'xpos:decode.q_last_upscale_offset']) expect(forms).toContain(f);
  });

  it('the CLI prints one line per check and exits 0; --json gives one object per check', async () => {
    const text = await cli(['verify', '--golden', GOLDEN]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/retnet_msr\.json\s+chunkwise_output\s+max\|err\|\s+\S+\s+tol 1\.00e-4\s+ok/);
    const json = await cli(['verify', '--golden', GOLDEN, '--json']);
    expect(json.code).toBe(0);
    const rows = json.out.trim().split('\n').map((l) => JSON.parse(l) as { pass: boolean; max_abs_err: number; tolerance: number });
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.every((r) => r.pass && r.max_abs_err <= r.tolerance)).toBe(true);
  });

  it('nothing depends on these files: batch 1 and shorter sequences cut from them pass too', async () => {
    const dir = tempDir('golden-cut-');
    for (const f of caseFiles()) {
      const c = read(f);
      const isXpos = c.case.startsWith('xpos');
      // causal layers: the first L-2 positions of the outputs are the outputs of the first L-2 inputs;
      // xPos is centred on the length, so only its batch is cut
      const len = isXpos ? Infinity : (c.inputs.x!.shape[1]! - 2);
      const cut = (a: Arr) => leading(a, [1, len]);
      for (const k of Object.keys(c.inputs)) if (k === 'x' || (isXpos && !k.startsWith('decode.offset'))) c.inputs[k] = cut(c.inputs[k]!);
      for (const k of Object.keys(c.outputs)) if (!k.startsWith('intermediate.') && !k.startsWith('table.')) c.outputs[k] = cut(c.outputs[k]!);
      if (typeof c.config.prefill_len === 'number') c.config.prefill_len = Math.min(c.config.prefill_len, len);
      writeFileSync(join(dir, f), JSON.stringify(c));
    }
    const checks = await verifyGolden(dir);
    expect(checks.length).toBeGreaterThan(20);
    expect(checks.filter((k) => !k.pass).map((k) => `${k.file} ${k.form} ${k.maxAbsErr}`)).toEqual([]);
  });

  it('a perturbed weight fails the check: exit 1', async () => {
    const dir = tempDir('golden-bad-');
    const c = read('retnet_msr_x10.json');
    c.weights['out_proj.weight']!.data[0]! += 0.05;
    writeFileSync(join(dir, 'retnet_msr_x10.json'), JSON.stringify(c));
    const r = await cli(['verify', '--golden', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/parallel_output .* FAIL/);
  });
});

describe('bad input: one clear line, exit 2', () => {
  const minimal = { case: 'xpos', config: { head_dim: 4, scale_base: 512 }, weights: {}, inputs: { q: { shape: [1, 2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }, k: { shape: [1, 2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] } }, outputs: {} };
  const run = async (files: Record<string, string>) => {
    const dir = tempDir('golden-input-');
    for (const [n, text] of Object.entries(files)) writeFileSync(join(dir, n), text);
    return cli(['verify', '--golden', dir]);
  };

  it.each([
    ['not JSON', { 'a.json': '{"case": ' }, /malformed golden file a\.json: not JSON/],
    ['unknown case type', { 'a.json': JSON.stringify({ ...minimal, case: 'mamba_ssm' }) }, /unknown case type 'mamba_ssm' in a\.json; known: retnet_msr, xpos, diffattn, yoco_gate_retention/],
    ['data that does not fill its shape', { 'a.json': JSON.stringify({ ...minimal, inputs: { ...minimal.inputs, q: { shape: [1, 2, 4], data: [1, 2] } } }) }, /inputs\.q has 2 values for shape \[1,2,4\]/],
    ['a missing hyperparameter', { 'a.json': JSON.stringify({ ...minimal, config: { head_dim: 4 }, outputs: { q_upscale: minimal.inputs.q } }) }, /config\.scale_base must be a number/],
    ['an output no form produces', { 'a.json': JSON.stringify({ ...minimal, outputs: { q_sideways: minimal.inputs.q } }) }, /output\(s\) q_sideways match no form of xpos/],
    ['no case files', {}, /no case files/],
  ])('%s', async (_what, files, message) => {
    const r = await run(files as Record<string, string>);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').filter((l) => l.startsWith('archbench:'))).toHaveLength(1);
    expect(r.err).toMatch(message as RegExp);
  });

  it('needs --golden', async () => {
    const r = await cli(['verify']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--golden DIR/);
  });
});
