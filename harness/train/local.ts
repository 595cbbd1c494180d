// The one-thread trainer: this thread computes every gradient, clips it by its global norm and applies
// AdamW to the whole flat parameter vector.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { TrainConfig } from '../presets.ts';
import { FlatAdamW, FlatLayout, clipScale, sumSquares } from './optim.ts';
import { type Trainer, gradients } from './step.ts';

export class LocalTrainer implements Trainer {
  readonly workers = 1;
  private readonly layout: FlatLayout;
  private readonly opt: FlatAdamW;
  /** The weights (read from the model when opened) and one step's gradient, flat. */
  private readonly w: Float32Array;
  private readonly g: Float32Array;

  constructor(private readonly model: LanguageModel, private readonly cfg: TrainConfig, private readonly meter?: PeakMeter) {
    this.layout = new FlatLayout(model.params.vars);
    this.opt = new FlatAdamW(cfg, this.layout);
    this.w = new Float32Array(this.layout.total);
    this.g = new Float32Array(this.layout.total);
    this.layout.read(model.params.vars, this.w);
  }

  step(batch: Batch, lr: number): number {
    const { loss, grads } = gradients(this.model, batch, this.meter);
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      return loss;
    }
    this.layout.write(grads, this.g);
    tf.dispose(grads);
    this.opt.apply(this.g, this.w, lr, clipScale(Math.sqrt(sumSquares(this.g)), this.cfg.clip));
    this.layout.assign(this.model.params.vars, this.w);
    return loss;
  }

  close(): void {}
}
