// One point (context length, batch) of the efficiency suite's context sweep: a profiled prefill (peak
// memory; its state is the one decode starts from), the state's bytes against the analytic size, one
// profiled then timed decode steps, then timed prefills. A point that raises leaves one failed record per
// metric and none of its partial ones.
import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, disposeState, stateBytes } from '../../architectures/decode-state.ts';
import { log } from '../../harness/progress.ts';
import { profiled, rss, tidyPrefill, tidyStep, tokenIds } from './calls.ts';
import { mib, sampleCount, timeIt, type Extrapolator } from './measure.ts';
import { POINT_METRICS } from './metrics.ts';
import { errorText, rssNote, type Unit } from './recorder.ts';

/** Cost estimates at one batch size, extrapolated to longer lengths before each point. */
export interface Estimates {
  /** Peak tensor bytes of a prefill on top of what lived before it. */
  memory: Extrapolator;
  /** Seconds of one prefill. */
  prefill: Extrapolator;
  /** Seconds of one decode step. */
  step: Extrapolator;
}

/**
 * Peak memory is reported as what a process holding only this model (and, for decode, this cache) would
 * need: the parameters plus the most the call had alive on top of what existed before it (tf.profile's
 * peak over every kernel minus numBytes before the call). Other units' leftovers and earlier points'
 * tensors are thereby excluded; caches the call creates (a causal mask at a new length) are included.
 */
const PEAK_DEF = 'parameters + (peak tf.memory().numBytes over the call\'s kernels, tf.profile - numBytes just before the call)';

export async function measurePoint(u: Unit, length: number, batch: number, est: Estimates): Promise<void> {
  const { model, ctx, settings, rec, paramBytes, backend, label } = u;
  const dims = { context: length, batch };
  const tokens = tf.tensor2d(tokenIds(model.config.vocab, batch, length, ctx.seed), [batch, length], 'int32');
  const tok = tf.tensor1d(tokenIds(model.config.vocab, batch, 1, ctx.seed + 2), 'int32');
  const mark = rec.out.length;
  try {
    // memory pass (also the first warm-up): profiled prefill; its state is the one decode starts from
    let rssPeak = rss();
    const p = await profiled(() => tidyPrefill(model, tokens));
    await p.result.logits.data();
    rssPeak = Math.max(rssPeak, rss());
    ctx.meter.sample();
    p.result.logits.dispose();
    est.memory.add(length, p.peakBytes - p.before);
    est.prefill.add(length, p.seconds);
    const prefillPeak = paramBytes + Math.max(0, p.peakBytes - p.before);
    rec.add('prefill_peak_tensor_bytes', prefillPeak, 'bytes', dims, { note: `${PEAK_DEF}; parameters ${mib(paramBytes)}` });
    rec.add('prefill_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });

    let state = p.result.state;
    const measured = stateBytes(state);
    rec.add('state_bytes', measured, 'bytes', dims, { note: `distinct buffers held by the decoding state after prefill (pos ${state.pos})` });
    const analytic = model.analyticStateBytes?.(state.pos, batch);
    if (analytic) {
      rec.add('state_bytes_analytic', analytic.bytes, 'bytes', dims, { note: analytic.formula });
      const ratio = measured / analytic.bytes;
      rec.add('state_bytes_over_analytic', ratio, 'ratio', dims, {
        flag: Math.abs(ratio - 1) > 0.01 ? 'mismatch' : undefined,
        note: `measured ${measured} B / analytic ${analytic.bytes} B (${analytic.formula})`,
      });
    }

    // decode: one profiled step (memory, warm-up), then timed steps; each step disposes what it replaced
    const sampleMem = () => {
      rssPeak = Math.max(rssPeak, rss());
    };
    rssPeak = rss();
    const ps = await profiled(() => tidyStep(model, state, tok));
    await ps.result.logits.data();
    sampleMem();
    const decodePeak = paramBytes + measured + Math.max(0, ps.peakBytes - ps.before);
    disposeReplaced(state, ps.result.state);
    ps.result.logits.dispose();
    state = ps.result.state;
    ctx.meter.sample();
    est.step.add(length, ps.seconds);
    const stepFn = async () => {
      const r = tidyStep(model, state, tok);
      await r.logits.data();
      disposeReplaced(state, r.state);
      r.logits.dispose();
      state = r.state;
    };
    const dWarm = ps.seconds <= settings.decode.warmupMaxS ? settings.decode.warmup : 0;
    const dt = await timeIt(stepFn, { warmup: dWarm, samples: sampleCount(ps.seconds, settings.decode), after: sampleMem });
    rec.timing('decode_latency', dt, dims, `1 profiled step and ${dWarm} warm-up steps, from context ${length} on (one token per sequence per step)`);
    rec.add('decode_tokens_per_s', batch / dt.median, 'tokens/s', dims, { ci95: [batch / dt.ci95[1], batch / dt.ci95[0]], note: 'batch / median per-step latency' });
    rec.add('decode_peak_tensor_bytes', decodePeak, 'bytes', dims, {
      note: `parameters + the cache before the step (${measured} B) + (peak tf.memory().numBytes over one step's kernels, tf.profile - numBytes just before it); parameters ${mib(paramBytes)}`,
    });
    rec.add('decode_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });
    const after = stateBytes(state);
    rec.add('state_bytes_after_decode', after, 'bytes', { context: state.pos, batch }, { note: `after ${state.pos - length} decode steps from context ${length}` });
    const analyticAfter = model.analyticStateBytes?.(state.pos, batch);
    if (analyticAfter) {
      rec.add('state_bytes_after_decode_analytic', analyticAfter.bytes, 'bytes', { context: state.pos, batch }, {
        flag: Math.abs(after / analyticAfter.bytes - 1) > 0.01 ? 'mismatch' : undefined, note: analyticAfter.formula,
      });
    }
    disposeState(state);

    // prefill timing (the profiled pass above was its first warm-up)
    const pWarm = p.seconds <= settings.prefill.warmupMaxS ? settings.prefill.warmup : 0;
    const pt = await timeIt(async () => {
      const r = tidyPrefill(model, tokens);
      await r.logits.data();
      r.logits.dispose();
      disposeState(r.state);
    }, { warmup: pWarm, samples: sampleCount(p.seconds, settings.prefill) });
    rec.timing('prefill_latency', pt, dims, `1 profiled run and ${pWarm} warm-up runs`);
    rec.add('prefill_tokens_per_s', (batch * length) / pt.median, 'tokens/s', dims, { ci95: [(batch * length) / pt.ci95[1], (batch * length) / pt.ci95[0]], note: 'batch x length / median prefill latency' });
    log(`${label} T=${length} B=${batch}: prefill ${pt.median.toFixed(3)} s, decode ${(dt.median * 1000).toFixed(2)} ms/token, `
      + `state ${mib(measured)}, prefill peak ${mib(prefillPeak)}`);
  } catch (e) {
    // a model that raises at this point: drop its partial records, record why, go on with the next point
    rec.out.splice(mark);
    const why = `raised while measuring: ${errorText(e)}`;
    rec.fail(POINT_METRICS, dims, why);
    log(`${label} T=${length} B=${batch}: ${why}`);
  } finally {
    tf.dispose([tokens, tok]);
  }
}
