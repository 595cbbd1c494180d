// The one-thread trainer: this thread computes every gradient, then hands it to the update step, one
// replaceable piece (Update): clipping by the global norm and AdamW. The host update (any backend) reads
// the gradients into one flat vector and runs FlatAdamW there; on wasm those reads are zero-copy views.
// On webgpu (fast paths on) the GPU update (gpu-update.ts) keeps weights and moments on the GPU instead.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { fastPathEnabled } from '../../architectures/ops/fast-path.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { TrainConfig } from '../presets.ts';
import { log } from '../progress.ts';
import { GpuUpdate } from './gpu-update.ts';
import { type AdamWConfig, FlatAdamW, FlatLayout, type OptimizerState, clipScale, sumSquares } from './optim.ts';
import { type Trainer, type Update, gradients } from './step.ts';

/** The update on the host: gradients read into a flat vector, FlatAdamW on it, every variable assigned from it. */
export class HostUpdate implements Update {
  readonly description = 'AdamW on the host';
  readonly parameterCopies = 2;
  private readonly layout: FlatLayout;
  private readonly opt: FlatAdamW;
  /** The weights and one step's gradient, flat. */
  private readonly w: Float32Array;
  private readonly g: Float32Array;

  private constructor(private readonly vars: ReadonlyMap<string, tf.Variable>, private readonly cfg: AdamWConfig, resume?: OptimizerState) {
    this.layout = new FlatLayout(vars);
    this.opt = new FlatAdamW(cfg, this.layout, 0, this.layout.total, resume && { m: resume.m.slice(), v: resume.v.slice() }, resume?.t);
    this.w = new Float32Array(this.layout.total);
    this.g = new Float32Array(this.layout.total);
  }

  /** Opened on the variables' current weights (and AdamW's state from a checkpoint when resuming). */
  static async open(vars: ReadonlyMap<string, tf.Variable>, cfg: AdamWConfig, resume?: OptimizerState): Promise<HostUpdate> {
    const u = new HostUpdate(vars, cfg, resume);
    await u.layout.readAsync(vars, u.w);
    return u;
  }

  async apply(grads: Record<string, tf.Tensor>, lr: number): Promise<void> {
    await this.layout.writeAsync(grads, this.g);
    tf.dispose(grads);
    this.opt.apply(this.g, this.w, lr, clipScale(Math.sqrt(sumSquares(this.g)), this.cfg.clip));
    this.layout.assign(this.vars, this.w);
  }

  async optimizerState(): Promise<OptimizerState> {
    return this.opt.state();
  }
}

/** The last update logged on webgpu, where there is a choice: a line is written when it changes. */
let loggedUpdate = '';

/**
 * The update step for these variables: on the GPU on webgpu with the fast paths on (weights and moments
 * stay there), else on the host; `resume`: AdamW's state from a checkpoint.
 */
export async function openUpdate(vars: ReadonlyMap<string, tf.Variable>, cfg: AdamWConfig, resume?: OptimizerState): Promise<Update> {
  const onWebgpu = tf.getBackend() === 'webgpu';
  const update = onWebgpu && fastPathEnabled() ? new GpuUpdate(vars, cfg, resume) : await HostUpdate.open(vars, cfg, resume);
  if (onWebgpu && update.description !== loggedUpdate) {
    loggedUpdate = update.description;
    log(`one-thread training on webgpu: ${update.description}`);
  }
  return update;
}

export class LocalTrainer implements Trainer {
  readonly workers = 1;

  private constructor(private readonly model: LanguageModel, readonly update: Update, private readonly meter?: PeakMeter) {}

  get parameterCopies(): number {
    return 1 + this.update.parameterCopies;
  }

  /**
   * A one-thread trainer with the GPU update on webgpu (fast paths on), else the host update; `resume`:
   * AdamW's state from a checkpoint.
   */
  static async open(model: LanguageModel, cfg: TrainConfig, meter?: PeakMeter, resume?: OptimizerState): Promise<LocalTrainer> {
    return new LocalTrainer(model, await openUpdate(model.params.vars, cfg, resume), meter);
  }

  async step(batch: Batch, lr: number): Promise<number> {
    const { loss, grads } = await gradients(this.model, batch, this.meter);
    if (Number.isFinite(loss)) await this.update.apply(grads, lr);
    else tf.dispose(grads);
    return loss;
  }

  optimizerState(): Promise<OptimizerState> {
    return this.update.optimizerState();
  }

  close(): void {
    this.update.dispose?.();
  }
}
