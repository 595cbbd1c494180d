// Language-modeling perplexity: test-split bits per byte at the training context, beside the corpus's
// unigram baseline (what a model gets from letter frequencies alone). The interval is a t interval over
// equal-sized batches of evaluation windows.
// Where the model offers activation probes (capabilities.activations), also (outliers.ts):
//   activation_top1 / _top10 / _kurtosis {layer, of: hidden|mixer|logits}   per layer and the largest ('max')
//   quantized_bpb {bits}   bpb with every layer's output hidden state quantized per tensor (32: unquantized,
//                          the same windows)
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { unigramBpb } from '../../harness/data/corpus.ts';
import { evalWindows } from '../../harness/data/streams.ts';
import { meanCi } from '../../harness/stats.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import type { Measurement, Suite } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { outlierRecords, quantize } from './outliers.ts';
import { PERPLEXITY_SETTINGS, type PerplexitySettings } from './settings.ts';

/** Outlier statistics and quantized bpb on the first test windows, or one record saying why not. */
async function activationRecords(model: LanguageModel, windows: Int32Array[], batch: number, s: PerplexitySettings): Promise<Measurement[]> {
  const probe = model.capabilities.activations ? model.activations : undefined;
  if (!probe) return [{ metric: 'activation_top1', value: NaN, unit: 'value', dims: { layer: 'max', of: 'hidden' }, flag: 'not_available', note: 'the model declares no activation probes (capabilities.activations)' }];
  const seq = model.config.seq;
  const probeWins = windows.slice(0, s.probeWindows);
  const flat = new Int32Array(probeWins.length * seq);
  probeWins.forEach((w, i) => flat.set(w.subarray(0, seq), i * seq));
  const tokens = tf.tensor2d(flat, [probeWins.length, seq], 'int32');
  const out = await outlierRecords(probe, tokens).finally(() => tokens.dispose());
  const qWins = windows.slice(0, s.quantWindows);
  const dims = { tokens: qWins.length * seq };
  const note = 'every layer\'s output hidden state (the residual stream) quantized per tensor: symmetric, scale max|x| / (2^(bits-1) - 1), round to nearest';
  out.push({ metric: 'quantized_bpb', value: await evaluateBpb(model, qWins, batch), unit: 'bpb', dims: { ...dims, bits: 32 }, note: 'unquantized (float32), the same windows' });
  for (const bits of s.bits) {
    out.push({ metric: 'quantized_bpb', value: await evaluateBpb(model, qWins, batch, (t) => probe.forward(t, (h) => quantize(h, bits) as tf.Tensor3D)), unit: 'bpb', dims: { ...dims, bits }, note });
  }
  return out;
}

export const perplexity: Suite = {
  name: 'perplexity',
  alone: 'cores',
  description: 'test-split bits per byte at the training context, with the unigram baseline',
  settings: PERPLEXITY_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: {
    test_bpb: { headline: true },
    final_train_loss: { headline: false },
    unigram_bpb: { headline: false },
    activation_top1: { direction: 'lower', kind: 'info', headline: false },
    activation_top10: { direction: 'lower', kind: 'info', headline: false },
    activation_kurtosis: { direction: 'lower', kind: 'info', headline: false },
    quantized_bpb: { direction: 'lower', kind: 'quality', headline: false },
  },
  async run(ctx): Promise<Measurement[]> {
    const s = PERPLEXITY_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`perplexity: no settings for preset ${ctx.preset.name}`);
    const { model, info } = await ctx.textModel();
    const seq = model.config.seq;
    const batch = ctx.preset.evalBatch;
    const windows = evalWindows(ctx.corpus.splits.test, seq, ctx.preset.evalTokens);
    const groups: number[] = [];
    for (let i = 0; i + batch <= windows.length; i += batch) groups.push(await evaluateBpb(model, windows.slice(i, i + batch), batch));
    ctx.meter.sample();
    const { mean, ci95 } = meanCi(groups);
    const tokens = groups.length * batch * seq;
    return [
      { metric: 'test_bpb', value: mean, unit: 'bpb', ci95, dims: { seq, tokens, split: 'test' } },
      { metric: 'unigram_bpb', value: unigramBpb(ctx.corpus.splits.train, ctx.corpus.splits.test), unit: 'bpb', dims: { split: 'test' } },
      { metric: 'train_tokens_per_s', value: info.tokensPerS, unit: 'tokens/s', dims: { steps: info.steps, tokens: info.tokens, cache: info.cache } },
      { metric: 'final_train_loss', value: info.finalLoss / Math.LN2, unit: 'bpb', dims: { steps: info.steps } },
      ...await activationRecords(model, windows, batch, s),
    ];
  },
};

registerSuite(perplexity);
