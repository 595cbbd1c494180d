// The one-thread trainer: this thread computes every gradient, then hands it to the update step, one
// replaceable piece (Update): clipping by the global norm and AdamW. The host update (any backend) reads
// the gradients into one flat vector and runs FlatAdamW there; on wasm those reads are zero-copy views.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { TrainConfig } from '../presets.ts';
import { FlatAdamW, FlatLayout, clipScale, sumSquares } from './optim.ts';
import { type Trainer, gradients } from './step.ts';

/** The update step of a trainer: clip one step's gradients by their global norm, apply AdamW to the weights. */
export interface Update {
  /** Update the model's weights from `grads` (it disposes them); resolves once the new weights are in place. */
  apply(grads: Record<string, tf.Tensor>, lr: number): Promise<void>;
}

/** The update on the host: gradients read into a flat vector, FlatAdamW on it, every variable assigned from it. */
export class HostUpdate implements Update {
  private readonly layout: FlatLayout;
  private readonly opt: FlatAdamW;
  /** The weights and one step's gradient, flat. */
  private readonly w: Float32Array;
  private readonly g: Float32Array;

  private constructor(private readonly model: LanguageModel, private readonly cfg: TrainConfig) {
    this.layout = new FlatLayout(model.params.vars);
    this.opt = new FlatAdamW(cfg, this.layout);
    this.w = new Float32Array(this.layout.total);
    this.g = new Float32Array(this.layout.total);
  }

  /** Opened on the model's current weights. */
  static async open(model: LanguageModel, cfg: TrainConfig): Promise<HostUpdate> {
    const u = new HostUpdate(model, cfg);
    await u.layout.readAsync(model.params.vars, u.w);
    return u;
  }

  async apply(grads: Record<string, tf.Tensor>, lr: number): Promise<void> {
    await this.layout.writeAsync(grads, this.g);
    tf.dispose(grads);
    this.opt.apply(this.g, this.w, lr, clipScale(Math.sqrt(sumSquares(this.g)), this.cfg.clip));
    this.layout.assign(this.model.params.vars, this.w);
  }
}

export class LocalTrainer implements Trainer {
  readonly workers = 1;

  private constructor(private readonly model: LanguageModel, private readonly update: Update, private readonly meter?: PeakMeter) {}

  /** A one-thread trainer with the host update. */
  static async open(model: LanguageModel, cfg: TrainConfig, meter?: PeakMeter): Promise<LocalTrainer> {
    return new LocalTrainer(model, await HostUpdate.open(model, cfg), meter);
  }

  async step(batch: Batch, lr: number): Promise<number> {
    const { loss, grads } = await gradients(this.model, batch, this.meter);
    if (Number.isFinite(loss)) await this.update.apply(grads, lr);
    else tf.dispose(grads);
    return loss;
  }

  close(): void {}
}
