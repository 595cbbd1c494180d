// The efficiency suite: state bytes counted from the tensors against the analytic size, the memory guard
// (a point that would not fit is recorded as skipped, not run), the correctness gate, the fits, a unit's
// records independent of the units before it, and the records' fields and units (tiny preset, through the
// CLI). Crossovers against the reference are the report's: tests/crossovers.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchitectureSpec, DecodeState, LanguageModel } from '../architectures/interface.ts';
import { getArchitecture } from '../architectures/index.ts';
import { PeakMeter } from '../harness/measure.ts';
import { buildModel, disposeModel, matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { powerLawFit } from '../harness/stats.ts';
import type { ResultRecord } from '../harness/store.ts';
import { crossoversFromRecords } from '../reports/crossovers.ts';
import { Extrapolator, WASM_HEAP_LIMIT, analyticCrossover, medianInterval, memoryBudget } from '../suites/efficiency/measure.ts';
import { EFFICIENCY_SETTINGS, type EfficiencySettings } from '../suites/efficiency/settings.ts';
import { runEfficiency } from '../suites/efficiency/suite.ts';
import { disposeReplaced, disposeState, stateBytes } from '../architectures/decode-state.ts';
import type { Measurement, SuiteContext } from '../suites/interface.ts';
import { AUTO_CPU_BACKEND, cli, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

const tiny = PRESETS.tiny!;
const transformer = () => getArchitecture('transformer')!;

function context(spec: ArchitectureSpec): SuiteContext {
  return { preset: tiny, seed: 0, spec, matched: matchedConfig(spec, tiny, 'params'), meter: new PeakMeter() } as unknown as SuiteContext;
}

/** Tiny settings trimmed further: one batch size, two lengths, no extra batch, short training. */
function quick(over: Partial<EfficiencySettings> = {}): EfficiencySettings {
  const base = EFFICIENCY_SETTINGS.tiny!;
  return { ...base, lengths: [16, 32], batches: [1], batchLengths: [], train: { ...base.train, lengths: [8, 16] }, ...over };
}

const of = (ms: Measurement[], metric: string) => ms.filter((m) => m.metric === metric);

describe('state bytes', () => {
  it('counts the transformer KV cache from its tensors and matches layers x 2 x T x d_kv x 4 x batch', () => {
    const spec = transformer();
    const cfg = matchedConfig(spec, tiny, 'params').config;
    const model = buildModel(spec, cfg, 0);
    expect(model.analyticStateBytes).toBeTypeOf('function');
    const before = tf.memory().numTensors;
    const { logits, state } = tf.tidy(() => model.prefill(tf.tensor2d(new Int32Array(2 * 10).fill(5), [2, 10], 'int32')) as unknown as tf.TensorContainer) as unknown as { logits: tf.Tensor; state: DecodeState };
    const expected = cfg.layers * 2 * 10 * cfg.d * 4 * 2;
    expect(stateBytes(state)).toBe(expected);
    expect(model.analyticStateBytes!(10, 2).bytes).toBe(expected);
    // one step: one more position; the replaced tensors are disposed, nothing else leaks
    const tok = tf.tensor1d([1, 2], 'int32');
    const r = tf.tidy(() => model.step(state, tok) as unknown as tf.TensorContainer) as unknown as { logits: tf.Tensor; state: DecodeState };
    disposeReplaced(state, r.state);
    expect(r.state.pos).toBe(11);
    expect(stateBytes(r.state)).toBe(model.analyticStateBytes!(11, 2).bytes);
    disposeState(r.state);
    tf.dispose([logits, r.logits, tok]);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 8); // masks and rotation tables the layers cache
    disposeModel(model);
  });

  it('counts a buffer shared by several layers once', () => {
    const kv = tf.zeros([1, 2, 8, 4]);
    const state: DecodeState = { pos: 8, layers: [{ k: kv, v: kv }, { k: kv, v: kv, n: 3 }, { s: tf.zeros([2]) }] };
    expect(stateBytes(state)).toBe(1 * 2 * 8 * 4 * 4 + 2 * 4);
    disposeState(state);
    expect(kv.isDisposed).toBe(true);
  });
});

describe('the suite on the transformer (tiny)', () => {
  let out: Measurement[];
  beforeAll(async () => {
    out = await runEfficiency(context(transformer()), quick());
  });

  it('passes the gate and measures every point, state bytes equal to the analytic value', () => {
    expect(of(out, 'correctness_gate')[0]!.value).toBe(1);
    for (const length of [16, 32]) {
      const at = (metric: string) => of(out, metric).find((m) => m.dims?.context === length && m.dims?.batch === 1)!;
      for (const metric of ['prefill_latency', 'decode_latency', 'decode_tokens_per_s', 'prefill_tokens_per_s']) {
        expect(at(metric).value).toBeGreaterThan(0);
      }
      expect(at('state_bytes').value).toBe(at('state_bytes_analytic').value);
      expect(at('state_bytes_over_analytic').value).toBe(1);
      expect(at('decode_peak_tensor_bytes').value).toBeGreaterThan(at('state_bytes').value);
      expect(at('decode_latency').ci95![0]).toBeLessThanOrEqual(at('decode_latency').value);
    }
    expect(out.filter((m) => m.flag === 'skipped' || m.flag === 'failed')).toEqual([]);
  });

  it('fits the KV bytes against length with exponent 1', () => {
    const fit = of(out, 'power_law_exponent').find((m) => m.dims?.of === 'state_bytes')!;
    expect(fit.value).toBeCloseTo(1, 6);
    expect(of(out, 'state_bytes_per_token')[0]!.value).toBe(2 * 2 * 32 * 4); // layers x 2 x d_kv x 4
    expect(of(out, 'state_bytes_constant')[0]!.value).toBeCloseTo(0, 6);
  });

  it('times the training step against sequence length', () => {
    expect(of(out, 'train_step_latency').map((m) => m.dims?.seq)).toEqual([8, 16]);
    expect(of(out, 'train_peak_tensor_bytes').every((m) => m.value > 0)).toBe(true);
  });
});

describe('memory guard and gate', () => {
  it('bounds wasm and wasm+openblas alike by the wasm heap', () => {
    for (const backend of ['wasm', 'wasm+openblas']) {
      const b = memoryBudget(backend, 1);
      expect(b.bytes, backend).toBeLessThanOrEqual(WASM_HEAP_LIMIT);
      if (b.bytes < WASM_HEAP_LIMIT - 1024 ** 3) continue; // another bound is tighter on this machine
      expect(b.why, backend).toMatch(/wasm heap limit/);
    }
  });

  it('records a point that would not fit as skipped (with the reason) instead of running it', async () => {
    const out = await runEfficiency(context(transformer()), quick({ memory: { safety: 0.75, budgetBytes: 1 } }));
    const skipped = out.filter((m) => m.flag === 'skipped');
    for (const length of [16, 32]) {
      const rec = skipped.find((m) => m.metric === 'prefill_latency' && m.dims?.context === length)!;
      expect(rec).toBeDefined();
      expect(Number.isNaN(rec.value)).toBe(true);
      expect(rec.note).toMatch(/estimated prefill peak .* above the budget/);
    }
    expect(skipped.filter((m) => m.metric === 'train_step_latency')).toHaveLength(2);
    expect(out.filter((m) => m.metric === 'decode_latency' && !m.flag)).toEqual([]);
  });

  it('skips by the time budget too', async () => {
    const out = await runEfficiency(context(transformer()), quick({ budgetS: { sweep: 0, batch: 0, train: 0, unit: 0 } }));
    const rec = out.find((m) => m.metric === 'decode_latency' && m.dims?.context === 32)!;
    expect(rec.flag).toBe('skipped');
    expect(rec.note).toMatch(/time budget/);
  });

  it('reports no speed for a model whose step disagrees with forward', async () => {
    const ref = transformer();
    const broken: ArchitectureSpec = {
      ...ref, name: 'broken-step',
      build: (cfg, p) => {
        const m = ref.build(cfg, p);
        const step = m.step.bind(m);
        return Object.assign(m, {
          step: (s: DecodeState, t: tf.Tensor1D) => {
            const r = step(s, t);
            return { logits: tf.add(r.logits, 0.5) as tf.Tensor2D, state: r.state };
          },
        }) as LanguageModel;
      },
    };
    const out = await runEfficiency(context(broken), quick());
    const gate = of(out, 'correctness_gate')[0]!;
    expect(gate.value).toBe(0);
    expect(gate.flag).toBe('failed');
    const timed = out.filter((m) => /latency|tokens_per_s/.test(m.metric));
    expect(timed.length).toBeGreaterThan(0);
    expect(timed.every((m) => m.flag === 'skipped' && Number.isNaN(m.value))).toBe(true);
  });
});

describe('a unit on its own', () => {
  it('records the same whether or not the reference unit ran before it in this process', async () => {
    const retnet = getArchitecture('retnet')!;
    const seed = 5; // no other test runs this seed: nothing of the reference's at it before this test
    // a fixed number of decode steps (the state after decoding is measured at context + steps taken)
    const base = EFFICIENCY_SETTINGS.tiny!.decode;
    const settings = quick({ decode: { ...base, warmupMaxS: Infinity, minSamples: base.maxSamples } });
    const run = (spec: ArchitectureSpec) => runEfficiency({ ...context(spec), seed }, settings);
    const alone = await run(retnet);
    await run(transformer());
    const after = await run(retnet);
    const key = (m: Measurement) => `${m.metric} ${JSON.stringify(m.dims)} ${m.unit} ${m.flag ?? ''}`;
    expect(after.map(key)).toEqual(alone.map(key));
    // values that do not depend on timing are equal too (notes included)
    const exact = (ms: Measurement[]) => ms.filter((m) => /^(param_bytes|correctness_gate|gate_relative_logit_diff|state_bytes.*|crossover_length)$/.test(m.metric))
      .map((m) => ({ ...m, value: Number.isNaN(m.value) ? 'NaN' : m.value }));
    expect(exact(after)).toEqual(exact(alone));
    expect(exact(alone).length).toBeGreaterThan(10);
  });
});

describe('fits and estimates', () => {
  it('recovers a known power-law exponent with its interval', () => {
    const xs = [256, 512, 1024, 2048, 4096, 8192];
    const noise = [1.03, 0.98, 1.01, 0.97, 1.02, 0.99];
    const fit = powerLawFit(xs, xs.map((x, i) => 3e-6 * x ** 1.5 * noise[i]!));
    expect(fit.exponent).toBeGreaterThan(1.45);
    expect(fit.exponent).toBeLessThan(1.55);
    expect(fit.ci95[0]).toBeLessThan(1.5);
    expect(fit.ci95[1]).toBeGreaterThan(1.5);
    expect(fit.r2).toBeGreaterThan(0.99);
  });

  it('extrapolates memory exactly for a quadratic and never below the last point', () => {
    const e = new Extrapolator('memory');
    const f = (t: number) => 1000 + 50 * t + 0.25 * t * t;
    for (const t of [32, 64, 128]) e.add(t, f(t));
    expect(e.predict(1024)).toBeCloseTo(f(1024), 3);
    const flat = new Extrapolator('memory');
    flat.add(64, 500);
    flat.add(128, 400);
    expect(flat.predict(256)).toBe(400);
    const time = new Extrapolator('time');
    time.add(100, 1);
    time.add(200, 4);
    expect(time.predict(400)).toBeCloseTo(16, 6);
  });

  it('finds where a constant analytic cost falls below a linear one', () => {
    expect(analyticCrossover(() => 1000, (t) => 10 * t)).toBe(101);
    expect(analyticCrossover((t) => 10 * t, () => 1000)).toBe(1);
    expect(analyticCrossover(() => 1000, () => 1000)).toBeNull();
  });

  it('gives the median an order-statistics interval with at least 95% coverage', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    const { ci95, coverage } = medianInterval(xs);
    expect(coverage).toBeGreaterThanOrEqual(0.95);
    expect(ci95[0]).toBeLessThan(10.5);
    expect(ci95[1]).toBeGreaterThan(10.5);
    expect(ci95).toEqual([6, 15]);
  });
});

describe('records through the CLI (tiny preset)', () => {
  let records: ResultRecord[];
  beforeAll(async () => {
    const dir = tempDir('archbench-eff-');
    const r = await cli(['run', 'efficiency', '--preset', 'tiny', '--arch', 'transformer,retnet', '--out', dir]);
    expect(r.code).toBe(0);
    records = readFileSync(join(dir, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResultRecord);
  });

  it('carries the fields and units DESIGN requires', () => {
    const own = records.filter((r) => r.suite === 'efficiency');
    expect(own.length).toBeGreaterThan(100);
    for (const r of own) {
      for (const k of ['suite', 'arch', 'seed', 'preset', 'metric', 'unit', 'dims', 'params', 'backend', 'elapsed_s', 'time']) expect(r).toHaveProperty(k);
      expect(r.preset).toBe('tiny');
      expect(r.backend).toBe(AUTO_CPU_BACKEND);
      if (/_bytes$/.test(r.metric)) expect(r.unit, r.metric).toBe('bytes');
      if (/_latency(_p75|_p99)?$/.test(r.metric)) expect(r.unit, r.metric).toBe('s');
      if (/_tokens_per_s$/.test(r.metric)) expect(r.unit, r.metric).toBe('tokens/s');
    }
    // every point metric carries its axes; every timed metric its sample count
    for (const r of own.filter((q) => ['prefill_latency', 'decode_latency', 'state_bytes', 'decode_peak_rss_bytes'].includes(q.metric))) {
      expect(r.dims).toHaveProperty('context');
      expect(r.dims).toHaveProperty('batch');
    }
    for (const r of own.filter((q) => q.metric === 'decode_latency' && !q.flag)) {
      const n = own.find((q) => q.arch === r.arch && q.metric === 'timing_samples' && q.dims.of === 'decode_latency'
        && q.dims.context === r.dims.context && q.dims.batch === r.dims.batch);
      expect(n?.value).toBeGreaterThanOrEqual(EFFICIENCY_SETTINGS.tiny!.decode.minSamples);
      expect(r.ci95).not.toBeNull();
    }
  });

  it('records the constant retention state; its measured crossover with the transformer follows from the records', () => {
    const ret = records.filter((r) => r.arch === 'retnet' && r.metric === 'state_bytes' && r.dims.batch === 1);
    expect(ret.length).toBe(3);
    expect(new Set(ret.map((r) => r.value)).size).toBe(1);
    // the suite records only the analytic comparison; measured ones are the report's
    expect(records.filter((r) => /ratio_vs_reference$/.test(r.metric) || (r.metric === 'crossover_length' && r.dims.of !== 'state_bytes_analytic'))).toEqual([]);
    expect(records.find((r) => r.arch === 'retnet' && r.metric === 'crossover_length' && r.dims.of === 'state_bytes_analytic')?.value).toBe(17);
    const x = crossoversFromRecords(records).find((c) => c.arch === 'retnet' && c.metric === 'crossover_length' && c.dims?.of === 'state_bytes' && c.dims?.batch === 1);
    expect(x?.value).toBe(16); // 8192 B against 512 B/token: equal at 16, half at 32
  });
});
