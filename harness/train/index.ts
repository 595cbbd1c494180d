// Training: the one trainer every figure's model is trained with. openTrainer() decides, before any batch
// is taken, how many data-parallel participants compute the gradients (this thread alone: local.ts; this
// thread and worker threads: parallel.ts) and returns a Trainer that takes one step at a time (the
// efficiency suite times those steps); train() runs it over a batch sequence with the learning-rate
// schedule, an optional stop hook and divergence detection. The loss and gradients are in step.ts, AdamW
// and clipping in optim.ts. Training is asynchronous (webgpu reads tensors only with `await t.data()`).
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { TrainConfig } from '../presets.ts';
import { injectedLoss } from '../faults.ts';
import { InterruptedError, interruptRequested, trainingStarted, yieldToEvents } from '../interrupt.ts';
import { log } from '../progress.ts';
import { LocalTrainer } from './local.ts';
import { type OptimizerState, learningRate } from './optim.ts';
import { CPU_BACKENDS, openParallelTrainer } from './parallel.ts';
import type { Trainer } from './step.ts';

export interface TrainResult {
  steps: number;
  tokens: number;
  /** Wall time of the steps (opening the trainer, i.e. starting workers and building replicas, excluded). */
  seconds: number;
  tokensPerS: number;
  losses: number[];
  /** Step at which the loss became NaN or infinite; training stopped there. */
  divergedAt?: number;
  /** Data-parallel participants (threads, each with its own backend) that computed the gradients. */
  workers: number;
}

export interface TrainHooks {
  onStep?(step: number, loss: number, tokensPerS: number): void;
  meter?: PeakMeter;
  /** Data-parallel workers (1: this thread only). Default: defaultWorkers(model, cfg). */
  workers?: number;
  /**
   * Called after each step with the number of steps done (the model holds the updated weights); true ends
   * training there, before cfg.steps (a budget calibrated on a probe: suites/tasks/training.ts).
   */
  stop?(stepsDone: number): boolean | Promise<boolean>;
  /** Continue a run from this checkpoint (the model holds its weights); the batches it took are skipped. */
  resume?: TrainProgress;
  /**
   * Save a checkpoint every `everySeconds` of training (and every `everySteps` steps when given), and when
   * an interrupt is requested (harness/interrupt.ts), before stopping with InterruptedError.
   */
  checkpoint?: { everySeconds: number; everySteps?: number; save(p: TrainProgress): Promise<void> };
}

/** Where a training run stands after `step` steps: enough, with the model's weights, to continue it exactly. */
export interface TrainProgress {
  step: number;
  losses: number[];
  tokens: number;
  /** Seconds of training so far (earlier sessions included). */
  seconds: number;
  optimizer: OptimizerState;
}

export interface TrainerOptions {
  /** Data-parallel participants (1: this thread only). Default: defaultWorkers(model, cfg, seq). */
  workers?: number;
  /** Tokens per row of every batch (default model.config.seq); every batch has cfg.batch rows. */
  seq?: number;
  meter?: PeakMeter;
  /** AdamW's state to continue from (a training checkpoint). */
  resume?: OptimizerState;
}

/**
 * Data-parallel participants to use by default: ARCHBENCH_WORKERS when set; else, on CPU backends and when
 * a step (cfg.batch rows of seq tokens) is big enough, one per core. The default depends only on the
 * machine and the model, never on its momentary load, so a rerun on the same machine reproduces the same
 * numbers bit for bit. The count is recorded with the results, which do not depend on it beyond float
 * tolerance.
 */
export function defaultWorkers(model: LanguageModel, cfg: TrainConfig, seq = model.config.seq): number {
  const env = process.env.ARCHBENCH_WORKERS;
  if (env && /^\d+$/.test(env) && Number(env) >= 1) return Math.min(Number(env), cfg.batch);
  if (!CPU_BACKENDS.includes(tf.getBackend())) return 1;
  const flopsPerStep = cfg.batch * seq * model.flopsPerToken(seq);
  if (flopsPerStep < MIN_PARALLEL_FLOPS || cfg.steps < MIN_PARALLEL_STEPS) return 1;
  return Math.max(1, Math.min(availableParallelism(), cfg.batch));
}

/** Below this much work per step (~25 ms on one core), starting worker threads costs more than it saves. */
export const MIN_PARALLEL_FLOPS = 5e8;
export const MIN_PARALLEL_STEPS = 20;

/**
 * A trainer for `model` (AdamW and clipping as cfg says) over batches of cfg.batch rows of opts.seq
 * tokens. With more than one participant (at most one per row and four per core) the workers are started
 * and their replicas checked here, before any batch: when they cannot be used, that is logged and the
 * trainer is the one-thread one (its `workers` says so). One data-parallel trainer is open at a time.
 */
export async function openTrainer(model: LanguageModel, cfg: TrainConfig, opts: TrainerOptions = {}): Promise<Trainer> {
  const seq = opts.seq ?? model.config.seq;
  const workers = Math.min(opts.workers ?? defaultWorkers(model, cfg, seq), cfg.batch, Math.max(2, availableParallelism() * 4));
  if (workers > 1) {
    const parallel = openParallelTrainer(model, cfg, { workers, seq, meter: opts.meter, resume: opts.resume });
    if (!('problem' in parallel)) return parallel;
    log(`data-parallel training with ${workers} participants not possible (${parallel.problem}); training on one thread`);
  }
  return LocalTrainer.open(model, cfg, opts.meter, opts.resume);
}

/**
 * Train `model` for cfg.steps on the batch sequence, or until hooks.stop says so. Stops early, flagged, on
 * a non-finite loss. The trainer (and so the number of workers, returned) is chosen before the first batch
 * is taken; a data-parallel run matches the one-thread run within float tolerance.
 */
export async function train(model: LanguageModel, data: Iterator<Batch>, cfg: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const from = hooks.resume;
  const trainer = await openTrainer(model, cfg, { workers: hooks.workers, meter: hooks.meter, resume: from?.optimizer });
  const trainingEnded = trainingStarted();
  try {
    const losses = [...(from?.losses ?? [])];
    let tokens = from?.tokens ?? 0, divergedAt: number | undefined;
    for (let skip = 0; skip < (from?.step ?? 0); skip++) data.next(); // the batches the checkpointed steps took
    const t0 = performance.now(), before = from?.seconds ?? 0;
    let savedAt = t0;
    /** Save a checkpoint after `step` steps; false when there is no saving hook. */
    const checkpoint = async (step: number): Promise<boolean> => {
      if (!hooks.checkpoint) return false;
      const optimizer = await trainer.optimizerState();
      await hooks.checkpoint.save({ step, losses: [...losses], tokens, seconds: before + (performance.now() - t0) / 1000, optimizer });
      savedAt = performance.now();
      return true;
    };
    for (let step = from?.step ?? 0; step < cfg.steps; step++) {
      const b = data.next().value as Batch;
      const loss = injectedLoss(model.config.arch, step, await trainer.step(b, learningRate(cfg, step)));
      if (!Number.isFinite(loss)) {
        divergedAt = step;
        break;
      }
      losses.push(loss);
      tokens += b.batch * b.seq;
      hooks.onStep?.(step, loss, tokens / (before + (performance.now() - t0) / 1000));
      if (await hooks.stop?.(step + 1)) break;
      await yieldToEvents(); // a step on a CPU backend resolves in microtasks only: let a SIGINT handler run
      if (interruptRequested()) {
        const saved = await checkpoint(step + 1);
        throw new InterruptedError(`at training step ${step + 1} of ${cfg.steps} (${saved ? 'checkpoint saved' : 'no checkpoint saved'})`);
      }
      const every = hooks.checkpoint;
      if (every && step + 1 < cfg.steps && ((performance.now() - savedAt) / 1000 >= every.everySeconds || (every.everySteps && (step + 1) % every.everySteps === 0))) {
        await checkpoint(step + 1);
      }
    }
    const seconds = before + (performance.now() - t0) / 1000;
    return { steps: losses.length, tokens, seconds, tokensPerS: tokens / seconds, losses, divergedAt, workers: trainer.workers };
  } finally {
    trainingEnded();
    trainer.close();
  }
}
