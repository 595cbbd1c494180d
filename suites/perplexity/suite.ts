// Language-modeling perplexity: test-split bits per byte at the training context, beside the corpus's
// unigram baseline (what a model gets from letter frequencies alone). The interval is a t interval over
// equal-sized batches of evaluation windows.
import { unigramBpb } from '../../harness/data/corpus.ts';
import { evalWindows } from '../../harness/data/streams.ts';
import { meanCi } from '../../harness/stats.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import type { Measurement, Suite } from '../interface.ts';
import { registerSuite } from '../registry.ts';

export const perplexity: Suite = {
  name: 'perplexity',
  description: 'test-split bits per byte at the training context, with the unigram baseline',
  metrics: {
    test_bpb: { headline: true },
    final_train_loss: { headline: false },
    unigram_bpb: { headline: false },
    train_seconds: { headline: false },
  },
  async run(ctx): Promise<Measurement[]> {
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
      { metric: 'train_seconds', value: info.seconds, unit: 's', dims: { cache: info.cache } },
      { metric: 'final_train_loss', value: info.finalLoss / Math.LN2, unit: 'bpb', dims: { steps: info.steps } },
    ];
  },
};

registerSuite(perplexity);
