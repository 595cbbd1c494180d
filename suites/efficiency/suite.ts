// Inference and training cost against context length, on the real inference path (prefill, then step
// with the model's own cache), from the seeded initialisation (no trained weights needed).
//
// Per architecture, context length T and batch B: prefill latency; per-token decode latency and decode
// throughput at T; the bytes the decoding state really holds (counted from its tensors, each buffer
// once) beside the model's analytic size (LanguageModel.analyticStateBytes); peak tf.memory().numBytes
// and peak RSS during prefill and decode; training step time and memory against sequence length. Then
// power-law fits of every metric against length, a linear fit of the state (constant + bytes per token),
// and the analytic state size against the reference architecture's. A unit's records depend on its own
// measurements only: measured crossovers and ratios against the reference are computed from the records
// by the report (reports/crossovers.ts).
//
// Order of work in a unit: correctness gate (./gate.ts; no speed is reported for a model whose prefill +
// step disagree with forward); the context sweep (./context-sweep.ts) at the first batch size; the other
// batch sizes at a few lengths; the training sweep (./train-sweep.ts); the fits (./fits.ts). Before each
// point the suite extrapolates its peak memory from the points already measured (and small probes) and
// skips, with a record saying why, what would not fit the backend's heap or the machine; it also skips
// what would overrun the phase's time budget.
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { bufferBytes } from '../../architectures/decode-state.ts';
import { currentBackend } from '../../harness/backend.ts';
import { REFERENCE_ARCH, buildModel, disposeModel } from '../../harness/models.ts';
import { log } from '../../harness/progress.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { now } from './calls.ts';
import { contextPlan, contextSweep } from './context-sweep.ts';
import { analyticAgainstReference, powerLawFits, summarise } from './fits.ts';
import { gate } from './gate.ts';
import { EFFICIENCY_METRICS, POINT_METRICS, TRAIN_METRICS, efficiencyFigures } from './metrics.ts';
import { Clock, Recorder, type Unit } from './recorder.ts';
import { EFFICIENCY_SETTINGS, type EfficiencySettings } from './settings.ts';
import { trainSweep } from './train-sweep.ts';

export async function runEfficiency(ctx: SuiteContext, settings: EfficiencySettings): Promise<Measurement[]> {
  const spec = ctx.spec;
  const rec = new Recorder();
  const baseBytes = tf.memory().numBytes;
  const model = buildModel(spec, ctx.matched.config, ctx.seed);
  const paramBytes = [...model.params.vars.values()].reduce((s, v) => s + bufferBytes(v), 0);
  const afterBuild = tf.memory().numBytes;
  rec.add('param_bytes', paramBytes, 'bytes', {}, { note: `${model.params.vars.size} parameter tensors` });
  if (!model.analyticStateBytes) {
    rec.add('state_bytes_analytic', NaN, 'bytes', {}, {
      flag: 'skipped', note: 'the model declares no analyticStateBytes(context, batch): no analytic cross-check of its state',
    });
  }
  const label = `efficiency ${spec.name}`;
  const unit: Unit = {
    model, ctx, settings, rec, clock: new Clock(now() + settings.budgetS.unit), backend: currentBackend().name, label, paramBytes,
  };

  const load = () => loadavg()[0]!;
  rec.add('machine_load_avg', load(), 'load', { when: 'start' }, { note: `1-minute load average of the machine (${availableParallelism()} CPUs) when the unit started` });

  const g = await gate(model, settings.gate, ctx.seed);
  rec.add('correctness_gate', g.ok ? 1 : 0, 'bool', {}, { flag: g.ok ? undefined : 'failed', note: g.note });
  rec.add('gate_relative_logit_diff', g.relDiff, 'ratio', {}, { note: g.note });
  log(`${label}: correctness gate ${g.ok ? 'passed' : 'FAILED'} (${g.note})`);

  const plan = contextPlan(settings);
  if (!g.ok) {
    const why = `not measured: the correctness gate failed (${g.note})`;
    for (const p of plan) rec.skip(POINT_METRICS, { context: p.length, batch: p.batch }, why);
    for (const seq of settings.train.lengths) rec.skip(TRAIN_METRICS, { seq, batch: settings.train.batch }, why);
    disposeModel(model);
    return rec.out;
  }

  await contextSweep(unit, plan);
  unit.clock.start(settings.budgetS.train);
  await trainSweep(unit);
  unit.clock.finish();

  powerLawFits(rec);
  summarise(rec, model, settings);
  if (spec.name !== REFERENCE_ARCH) analyticAgainstReference(rec, ctx, model, settings);

  rec.add('machine_load_avg', load(), 'load', { when: 'end' }, { note: `1-minute load average of the machine (${availableParallelism()} CPUs) when the unit ended` });
  rec.add('cached_tensor_bytes', tf.memory().numBytes - afterBuild, 'bytes', {}, {
    note: 'tensors still alive after the sweep beyond the parameters (the model\'s caches: masks, rotation tables; or a leak)',
  });
  disposeModel(model);
  rec.add('unit_leaked_tensor_bytes', tf.memory().numBytes - baseBytes, 'bytes', {}, { note: 'live tensor bytes after the unit minus before it (caches kept by shared layers count here)' });
  return rec.out;
}

export const efficiency: Suite = {
  name: 'efficiency',
  description: 'prefill latency, decode latency and throughput, state bytes (measured and analytic), memory peaks and training step cost against context length',
  settings: EFFICIENCY_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: EFFICIENCY_METRICS,
  figures: efficiencyFigures,
  alone: 'timing',
  run: (ctx) => runEfficiency(ctx, EFFICIENCY_SETTINGS[ctx.preset.name] ?? EFFICIENCY_SETTINGS.small!),
};

registerSuite(efficiency);
