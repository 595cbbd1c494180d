// The training sweep of one efficiency unit: step time and peak memory against sequence length at one
// batch size. An unprofiled canary step and profiled probes come first; before each length its peak
// memory and time are extrapolated, and a length that would not fit the memory or time budget is
// recorded as skipped. A step that raises fails that length and every longer one.
import type { LanguageModel } from '../../architectures/interface.ts';
import type { Batch } from '../../harness/data/streams.ts';
import { log } from '../../harness/progress.ts';
import type { Dims } from '../../harness/store.ts';
import { openTrainer } from '../../harness/train/index.ts';
import type { Trainer } from '../../harness/train/step.ts';
import type { SuiteContext } from '../interface.ts';
import { profiled, rss, tokenIds } from './calls.ts';
import { Extrapolator, memoryBudget, mib, sampleCount, timeIt } from './measure.ts';
import { TRAIN_METRICS } from './metrics.ts';
import { errorText, rssNote, type Unit } from './recorder.ts';

/**
 * Training steps of the trainer models are trained with (harness/train), with the workers training picks for a
 * step of this shape: one trainer per sequence length, opened before that length's first (untimed) use, and one
 * at a time (a data-parallel one holds the workers).
 */
function trainerPerLength(model: LanguageModel, ctx: SuiteContext, batch: number) {
  let open: { seq: number; trainer: Trainer } | null = null;
  const trainerFor = async (seq: number): Promise<Trainer> => {
    if (open?.seq !== seq) {
      open?.trainer.close();
      open = null; // stays null if opening raises
      open = { seq, trainer: await openTrainer(model, { ...ctx.preset.train, batch }, { seq }) };
    }
    return open.trainer;
  };
  return {
    /** Open (or keep) the trainer for this length; its participants, in words. */
    prepare: async (seq: number): Promise<string> => {
      const { workers } = await trainerFor(seq);
      return workers === 1 ? 'one thread' : `${workers} data-parallel threads`;
    },
    /** One step; it resolves once the step's work is done (the trainer reads the loss and gradients). */
    step: async (b: Batch): Promise<void> => {
      await (await trainerFor(b.seq)).step(b, ctx.preset.train.lr);
    },
    /** Parameter-sized buffers the trainer for this length keeps (opened by prepare). */
    parameterCopies: (seq: number): number => (open?.seq === seq ? open.trainer.parameterCopies : NaN),
    close: (): void => open?.trainer.close(),
  };
}

export async function trainSweep(u: Unit): Promise<void> {
  const { model, ctx, settings, rec, clock, backend, label, paramBytes } = u;
  const s = settings.train;
  const batch = s.batch;
  const trainer = trainerPerLength(model, ctx, batch);
  const makeBatch = (seq: number): Batch => ({
    batch, seq, tokens: tokenIds(model.config.vocab, batch, seq + 1, ctx.seed + 3), mask: new Float32Array(batch * seq).fill(1),
  });
  const mem = new Extrapolator('memory'), time = new Extrapolator('time');

  const measure = async (seq: number, dims: Dims) => {
    const b = makeBatch(seq);
    const on = await trainer.prepare(seq);
    let rssPeak = rss();
    const p = await profiled(() => trainer.step(b));
    await p.result;
    rssPeak = Math.max(rssPeak, rss());
    ctx.meter.sample();
    mem.add(seq, p.peakBytes - p.before);
    time.add(seq, p.seconds);
    const warm = p.seconds <= s.warmupMaxS ? s.warmup : 0;
    const tt = await timeIt(() => trainer.step(b), { warmup: warm, samples: sampleCount(p.seconds, s), after: () => { rssPeak = Math.max(rssPeak, rss()); } });
    rec.timing('train_step_latency', tt, dims, `1 profiled step and ${warm} warm-up steps; forward, backward, clipping and AdamW by the trainer models are trained with, on ${on}`);
    rec.add('train_tokens_per_s', (batch * seq) / tt.median, 'tokens/s', dims, { ci95: [(batch * seq) / tt.ci95[1], (batch * seq) / tt.ci95[0]] });
    const copies = trainer.parameterCopies(seq);
    const trainPeak = copies * paramBytes + Math.max(0, p.peakBytes - p.before);
    rec.add('train_peak_tensor_bytes', trainPeak, 'bytes', dims, {
      note: `parameters and AdamW's two moments${copies > 3 ? ' and the update\'s copy of the weights' : ''} (${copies} x ${mib(paramBytes)}) + (peak tf.memory().numBytes over one step's kernels, tf.profile - numBytes just before it)`
        + (on === 'one thread' ? '' : `; this thread's rows of the batch only (${on}: each worker's tensors live in its own backend)`),
    });
    rec.add('train_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });
    log(`${label} train seq=${seq} B=${batch}: step ${tt.median.toFixed(3)} s, peak ${mib(trainPeak)}`);
  };

  let failed: string | null = null;
  try {
    try {
      await trainer.step(makeBatch(s.probeLengths[0]!)); // unprofiled canary: a model whose training step raises fails here
      for (const seq of s.probeLengths) {
        await trainer.prepare(seq);
        const p = await profiled(() => trainer.step(makeBatch(seq)));
        await p.result;
        mem.add(seq, p.peakBytes - p.before);
        time.add(seq, p.seconds);
      }
    } catch (e) {
      failed = `a training step raised at a probe length (${s.probeLengths.join(', ')}): ${errorText(e)}`;
      log(`${label}: ${failed}`);
    }
    for (const seq of s.lengths) {
      const dims = { seq, batch };
      if (failed) {
        rec.fail(TRAIN_METRICS, dims, `not measured: ${failed}`);
        continue;
      }
      const predicted = mem.predict(seq) ?? 0;
      const budget = memoryBudget(backend, settings.memory.safety, settings.memory.budgetBytes);
      if (predicted > budget.bytes) {
        const why = `skipped before running: estimated training-step peak ${mib(predicted)} above the budget ${mib(budget.bytes)} (${budget.why})`;
        rec.skip(TRAIN_METRICS, dims, why);
        log(`${label} train seq=${seq}: ${why}`);
        continue;
      }
      const t = time.predict(seq) ?? 0;
      if (t * (1 + s.minSamples) > clock.remaining()) {
        const why = `skipped before running: estimated ${(t * (1 + s.minSamples)).toFixed(1)} s exceeds the ${Math.max(0, clock.remaining()).toFixed(1)} s left of the training phase's budget`;
        rec.skip(TRAIN_METRICS, dims, why);
        log(`${label} train seq=${seq}: ${why}`);
        continue;
      }
      const mark = rec.out.length;
      try {
        await measure(seq, dims);
      } catch (e) {
        rec.out.splice(mark);
        failed = `a training step raised at seq ${seq}: ${errorText(e)}`;
        rec.fail(TRAIN_METRICS, dims, failed);
        log(`${label} train seq=${seq}: ${failed}`);
      }
    }
  } finally {
    trainer.close();
  }
}
