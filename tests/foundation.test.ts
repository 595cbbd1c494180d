// The foundation: determinism, causality, the inference path, resume after kill -9, one cache entry per
// backend, bad input (the reliability battery, tests/reliability/, holds corrupt cache entries and more).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { batches, mixture, textStream } from '../harness/data/streams.ts';
import { buildModel, matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { readRecords, unitKey } from '../harness/store.ts';
import { AUTO_CPU_BACKEND, CPU_BACKENDS, cli, cliProcess, killAfterFirstUnit, tempDir, testBpb, tinyTextModel, useBackend } from './helpers.ts';

const tiny = PRESETS.tiny!;
const spec = getArchitecture('transformer')!;

beforeAll(async () => {
  await useBackend();
});

describe('determinism', () => {
  it('the same seed gives identical bpb; another seed differs', async () => {
    const a = await tinyTextModel(tempDir());
    const b = await tinyTextModel(tempDir());
    const c = await tinyTextModel(tempDir(), 1);
    const [ba, bb, bc] = [await testBpb(a.model), await testBpb(b.model), await testBpb(c.model)];
    expect(a.info.cache).toBe('trained');
    expect(bb).toBe(ba);
    expect(bc).not.toBe(ba);
    expect(Number.isFinite(ba)).toBe(true);
  });

  it('batches are identical per seed and the mixture interleaves at its rates', () => {
    const corpus = loadCorpus('default');
    const s = textStream(corpus.splits.train, {});
    const first = (seed: number) => batches(s, { batch: 2, seq: 16, seed }).next().value!.tokens;
    expect(first(3)).toEqual(first(3));
    expect(first(3)).not.toEqual(first(4));
    const answers = { spec: { kind: 'answers' }, window: (_: unknown, seq: number) => ({ tokens: new Int32Array(seq + 1).fill(7), mask: new Float32Array(seq) }) };
    const mix = batches(mixture([{ stream: s, rate: 3 }, { stream: answers, rate: 1 }]), { batch: 400, seq: 4, seed: 0 }).next().value!;
    let sevens = 0;
    for (let b = 0; b < 400; b++) if (mix.tokens.subarray(b * 5, b * 5 + 5).every((t: number) => t === 7)) sevens++;
    expect(sevens / 400).toBeGreaterThan(0.18);
    expect(sevens / 400).toBeLessThan(0.32);
  });
});

describe('the Transformer inference path', () => {
  const { config } = matchedConfig(spec, tiny, 'params');
  const model = buildModel(spec, config, 5);
  const T = 12;
  const ids = Array.from({ length: 2 * T }, (_, i) => (i * 37 + 11) % 256);

  it('is causal: changing token t+1 leaves logits at t and earlier unchanged', () => {
    const t = 6;
    const changed = [...ids];
    changed[t + 1] = (changed[t + 1]! + 101) % 256;
    const a = tf.tidy(() => model.forward(tf.tensor2d(ids, [2, T], 'int32')).arraySync());
    const b = tf.tidy(() => model.forward(tf.tensor2d(changed, [2, T], 'int32')).arraySync());
    const maxDiff = (i: number) => Math.max(...a[0]![i]!.map((v, j) => Math.abs(v - b[0]![i]![j]!)));
    for (let i = 0; i <= t; i++) expect(maxDiff(i)).toBeLessThan(1e-6);
    expect(maxDiff(t + 1)).toBeGreaterThan(1e-4);
  });

  it('prefill + step gives the full forward logits within 1e-4', () => {
    const full = tf.tidy(() => model.forward(tf.tensor2d(ids, [2, T], 'int32')).arraySync());
    const p = 5;
    const prompt = tf.tensor2d([...ids.slice(0, p), ...ids.slice(T, T + p)], [2, p], 'int32');
    let { logits, state } = model.prefill(prompt);
    let maxErr = 0;
    for (let t = p; t < T; t++) {
      const last = (logits.rank === 3 ? logits.squeeze([1]) : logits).arraySync() as number[][];
      for (let b = 0; b < 2; b++) for (let v = 0; v < 256; v++) maxErr = Math.max(maxErr, Math.abs(last[b]![v]! - full[b]![t - 1]![v]!));
      const r = model.step(state, tf.tensor1d([ids[t]!, ids[T + t]!], 'int32'));
      logits = r.logits as unknown as tf.Tensor3D;
      state = r.state;
    }
    expect(maxErr).toBeLessThan(1e-4);
  });
});

describe('model cache', () => {
  it.runIf(CPU_BACKENDS.length > 1)('keeps one entry per backend: a model trained on wasm is not served to wasm+openblas', async () => {
    const dir = tempDir();
    try {
      expect((await tinyTextModel(dir)).info.cache).toBe('trained');
      await useBackend('wasm+openblas');
      expect((await tinyTextModel(dir)).info.cache).toBe('trained');
      expect((await tinyTextModel(dir)).info.cache).toBe('hit');
      expect(readdirSync(dir)).toHaveLength(2);
    } finally {
      await useBackend('wasm');
    }
  });
});

describe('bad input exits 2 with one line and writes nothing', () => {
  const cases: [string[], RegExp][] = [
    [['run', 'nosuch'], /unknown suite 'nosuch'; valid: .*perplexity/],
    [['run', '--arch', 'transformer,nosuch'], /unknown architecture 'nosuch'; valid: .*transformer/],
    [['run', '--preset', 'huge'], /unknown preset 'huge'; valid: tiny, small, paper/],
    [['run', '--backend', 'quantum'], /'quantum' is invalid.*auto, tensorflow, webgpu, wasm\+openblas, wasm, cpu/],
    [['run', '--seeds', '2x'], /--seeds must be a positive integer, got '2x'/],
    [['run', '--shard', '3/2'], /--shard must be i\/n/],
    [['list', 'gadgets'], /unknown list 'gadgets'; valid: archs, suites, presets/],
    [['run', '--corpus', '/no/such/file'], /corpus '\/no\/such\/file' does not exist/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const out = join(tempDir(), 'run');
      const r = await cli([...args, '--out', out].filter((a, i, all) => !(args[0] === 'list' && (a === '--out' || all[i - 1] === '--out'))));
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('run directory', () => {
  it('resumes after kill -9: no unit lost or written twice', async () => {
    const out = join(tempDir(), 'run');
    const cache = tempDir();
    const args = ['run', 'perplexity', '--arch', 'transformer', '--preset', 'tiny', '--seeds', '3', '--out', out, '--cache', cache];
    await killAfterFirstUnit(args, out);
    const before = new Set(readRecords(out).map(unitKey));
    expect(before.size).toBeGreaterThanOrEqual(1);
    expect(before.size).toBeLessThan(3);
    const second = await new Promise<number>((resolve) => cliProcess(args).on('exit', (c) => resolve(c ?? -1)));
    expect(second).toBe(0);
    const records = readRecords(out);
    const keys = records.map((r) => `${unitKey(r)}|${r.metric}|${JSON.stringify(r.dims)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(records.map(unitKey)).size).toBe(3);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.backend).toBe(AUTO_CPU_BACKEND);
    expect(manifest.resumed).toHaveLength(1);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(records.length + 1);
    const bpb = records.filter((r) => r.metric === 'test_bpb');
    expect(bpb).toHaveLength(3);
    for (const r of bpb) expect(Number.isFinite(r.value)).toBe(true);
  });
});
