// The context sweep of one efficiency unit: every length at the first batch size, then the other batch
// sizes at a few lengths. Short probes come first at each batch size (they also warm the decode path up);
// before each point its peak memory and time are extrapolated from what was measured, and a point that
// would not fit the memory budget or what is left of the phase's time budget is recorded as skipped.
import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, disposeState } from '../../architectures/decode-state.ts';
import { log } from '../../harness/progress.ts';
import { now, profiled, tidyPrefill, tidyStep, tokenIds } from './calls.ts';
import { measurePoint, type Estimates } from './context-point.ts';
import { Extrapolator, memoryBudget, mib } from './measure.ts';
import { POINT_METRICS } from './metrics.ts';
import type { Unit } from './recorder.ts';
import type { EfficiencySettings } from './settings.ts';

export interface PlannedPoint {
  length: number;
  batch: number;
  phase: 'sweep' | 'batch';
}

export function contextPlan(settings: EfficiencySettings): PlannedPoint[] {
  const plan: PlannedPoint[] = [];
  const [firstBatch, ...otherBatches] = settings.batches;
  for (const length of settings.lengths) plan.push({ length, batch: firstBatch!, phase: 'sweep' });
  for (const batch of otherBatches) for (const length of settings.batchLengths) plan.push({ length, batch, phase: 'batch' });
  return plan;
}

/** Short profiled prefills (and one step) at the probe lengths: what the first real point is extrapolated from. */
async function probe(u: Unit, batch: number): Promise<Estimates> {
  const { model, ctx, settings } = u;
  const est: Estimates = { memory: new Extrapolator('memory'), prefill: new Extrapolator('time'), step: new Extrapolator('time') };
  for (const length of settings.probeLengths) {
    const tokens = tf.tensor2d(tokenIds(model.config.vocab, batch, length, ctx.seed), [batch, length], 'int32');
    const p = await profiled(() => tidyPrefill(model, tokens));
    await p.result.logits.data();
    est.memory.add(length, p.peakBytes - p.before);
    est.prefill.add(length, p.seconds);
    const tok = tf.tensor1d(Array.from({ length: batch }, () => 1), 'int32');
    // the first probe also warms the decode path up (JIT of the JS around the kernels, kernel caches)
    let state = p.result.state;
    const warm = length === settings.probeLengths[0];
    const until = now() + (warm ? settings.decode.globalWarmupS : 0);
    for (let i = 0; warm && (i < settings.decode.globalWarmup || now() < until); i++) {
      const s = tidyStep(model, state, tok);
      await s.logits.data();
      disposeReplaced(state, s.state);
      s.logits.dispose();
      state = s.state;
    }
    const t0 = now();
    const s = tidyStep(model, state, tok);
    await s.logits.data();
    est.step.add(length, now() - t0);
    disposeReplaced(state, s.state);
    disposeState(s.state);
    tf.dispose([p.result.logits, s.logits, tokens, tok]);
  }
  return est;
}

/** Measure the point, or record why it is skipped: the extrapolated peak exceeds the memory budget, or its time what the phase has left. */
async function guardedPoint(u: Unit, length: number, batch: number, est: Estimates): Promise<void> {
  const { settings, rec, clock, label } = u;
  const dims = { context: length, batch };
  const predicted = est.memory.predict(length) ?? 0;
  const budget = memoryBudget(u.backend, settings.memory.safety, settings.memory.budgetBytes);
  if (predicted > budget.bytes) {
    const why = `skipped before running: estimated prefill peak ${mib(predicted)} above the budget ${mib(budget.bytes)} (${budget.why}); `
      + `estimate extrapolated from measured peaks at shorter lengths`;
    rec.skip(POINT_METRICS, dims, why);
    log(`${label} T=${length} B=${batch}: ${why}`);
    return;
  }
  const tPrefill = est.prefill.predict(length) ?? 0;
  const tStep = est.step.predict(length) ?? 0;
  const need = tPrefill * (1 + settings.prefill.minSamples) + tStep * (1 + settings.decode.warmup + settings.decode.minSamples);
  if (need > clock.remaining()) {
    const why = `skipped before running: estimated ${need.toFixed(1)} s (prefill ~${tPrefill.toFixed(2)} s per run) exceeds the `
      + `${Math.max(0, clock.remaining()).toFixed(1)} s left of this phase's time budget`;
    rec.skip(POINT_METRICS, dims, why);
    log(`${label} T=${length} B=${batch}: ${why}`);
    return;
  }
  await measurePoint(u, length, batch, est);
}

/** The sweep phase (first batch size), then the batch phase (the others), each on its own time budget. */
export async function contextSweep(u: Unit, plan: PlannedPoint[]): Promise<void> {
  const estimates = new Map<number, Estimates>();
  for (const phase of ['sweep', 'batch'] as const) {
    u.clock.start(u.settings.budgetS[phase]);
    for (const p of plan.filter((q) => q.phase === phase)) {
      if (!estimates.has(p.batch)) estimates.set(p.batch, await probe(u, p.batch));
      await guardedPoint(u, p.length, p.batch, estimates.get(p.batch)!);
    }
    u.clock.finish();
  }
}
