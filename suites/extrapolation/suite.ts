// Length extrapolation (the LeX paper's table): the text model, trained at context T, scored for test
// bits per byte at T, 2T, 4T, 8T, 16T (where memory allows), each architecture under its own long-context
// inference convention (forwardLong when it has one, else the full forward). Every length scores the
// same test bytes: K regions of the longest length, evenly spaced over the test split, cut into windows
// of each length, so the rows differ only in how much context each byte had.
//
// Records:
//   test_bpb        {length, variant}                         mean over the scored bytes (note: the convention)
//   bpb_ratio_to_T  {length, variant}                         bpb(L) / bpb(T)
//   bpb_by_position {length, variant, from, to}               where in the window a model breaks
//   attention_resolution {length, layer}                      LeX's indicator (mean over heads; 'mean' over layers)
// Variants: 'native'; 'sliding_window' for any architecture whose config.mixer has a `window` option that
// is 0 (full attention): the same trained weights rebuilt with window = T, so a reader can separate the
// position scheme from the window.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel, ModelConfig } from '../../architectures/interface.ts';
import { Params } from '../../architectures/layers.ts';
import { tokenNll } from '../../architectures/ops/loss/index.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { EXTRAPOLATION_SETTINGS, type ExtrapolationSettings } from './settings.ts';

/** Bucket edges: 0, T/4, T/2, T, 2T, 4T, ... up to L. */
export function bucketEdges(seq: number, length: number): number[] {
  const edges = [0];
  for (const e of [seq / 4, seq / 2, seq]) if (e > 0 && e < length && Number.isInteger(e) && e > edges.at(-1)!) edges.push(e);
  for (let e = 2 * seq; e < length; e *= 2) edges.push(e);
  edges.push(length);
  return edges;
}

/** Start offsets of `k` regions of `span` bytes evenly spaced over `total` bytes (fewer if it is short). */
export function regionStarts(total: number, span: number, k: number): number[] {
  const room = total - span;
  if (room < 0) return [];
  const n = Math.min(k, room + 1);
  return Array.from({ length: n }, (_, j) => (n === 1 ? 0 : Math.floor((j * room) / (n - 1))));
}

/**
 * Per-position NLL sums (nats) of `forward` on windows of `length` cut from the regions; returns the
 * position sums and the number of windows.
 */
export async function positionNll(forward: (t: tf.Tensor2D) => tf.Tensor3D, bytes: Uint8Array, starts: number[], span: number, length: number,
  batchTokens: number): Promise<{ sums: Float64Array; windows: number }> {
  const wins: number[] = [];
  for (const s of starts) for (let o = 0; o + length <= span; o += length) wins.push(s + o);
  const sums = new Float64Array(length);
  const per = Math.max(1, Math.floor(batchTokens / length));
  for (let i = 0; i < wins.length; i += per) {
    const group = wins.slice(i, i + per);
    const flat = new Int32Array(group.length * (length + 1));
    group.forEach((w, j) => flat.set(bytes.subarray(w, w + length + 1), j * (length + 1)));
    const nll = await readAndDispose(tf.tidy(() => {
      const all = tf.tensor2d(flat, [group.length, length + 1], 'int32');
      return tokenNll(forward(all.slice([0, 0], [-1, length])), all.slice([0, 1], [-1, length]));
    }));
    for (let j = 0; j < group.length; j++) for (let p = 0; p < length; p++) sums[p] += nll[j * length + p]!;
  }
  return { sums, windows: wins.length };
}

/**
 * Attention resolution (Sun et al., LeX): with s[n] the expected pre-softmax score at relative distance n
 * (mean over queries i >= n of S[i, i - n]), R = sum_n e^{s[n]} (e^{s[n]} - e^{s[n+1]}) / (sum_n e^{s[n]})^2
 * over n = 0..L-1 (the last term without a successor). Per head; scores [H, L, L] row-major. Entries at
 * -Infinity (keys the inference convention hides, e.g. LeX's blocks) are left out of the mean; a distance
 * no query sees has e^{s[n]} = 0.
 */
export function attentionResolution(scores: Float32Array, heads: number, length: number): number[] {
  const out: number[] = [];
  for (let h = 0; h < heads; h++) {
    const sum = new Float64Array(length), cnt = new Float64Array(length);
    const base = h * length * length;
    for (let i = 0; i < length; i++) for (let j = 0; j <= i; j++) {
      const v = scores[base + i * length + j]!;
      if (v === -Infinity) continue;
      sum[i - j] += v;
      cnt[i - j]++;
    }
    const s = Array.from(sum, (v, n) => (cnt[n] ? v / cnt[n]! : -Infinity));
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    let num = 0;
    for (let n = 0; n < length; n++) num += e[n]! * (e[n]! - (n + 1 < length ? e[n + 1]! : 0));
    out.push(num / (z * z));
  }
  return out;
}

/** The model rebuilt with a sliding window of `window` keys and the trained weights, or why not. */
function slidingWindowTwin(ctx: SuiteContext, model: LanguageModel, window: number): { model?: LanguageModel; why?: string } {
  const cfg = model.config;
  if (!('window' in cfg.mixer)) return { why: 'the configuration has no window option' };
  if (Number(cfg.mixer.window) !== 0) return { why: `the configuration already sets window ${cfg.mixer.window}` };
  const twinCfg: ModelConfig = { ...cfg, mixer: { ...cfg.mixer, window } };
  const twin = ctx.spec.build(twinCfg, new Params(ctx.seed));
  const names = [...twin.params.vars.keys()].sort().join('|');
  if (names !== [...model.params.vars.keys()].sort().join('|')) {
    twin.params.dispose();
    return { why: 'the windowed build has different parameters' };
  }
  for (const [n, v] of twin.params.vars) v.assign(model.params.get(n));
  return { model: twin };
}

function conventionOf(m: LanguageModel): string {
  return m.forwardLong ? `forwardLong: ${m.longConvention ?? 'unspecified'}` : 'forward: the parallel form over the whole sequence (equivalent to decoding with the full cache)';
}

function fitsMemory(m: LanguageModel, length: number, s: ExtrapolationSettings): boolean {
  if (m.forwardLong) return true; // blockwise / chunkwise conventions bound their working set
  return m.config.heads * length * length * 4 <= s.maxScoreBytes;
}

async function evaluateVariant(ctx: SuiteContext, model: LanguageModel, variant: string, lengths: number[], span: number, starts: number[],
  s: ExtrapolationSettings, variantNote = ''): Promise<Measurement[]> {
  const seq = model.config.seq;
  const bytes = ctx.corpus.splits.test;
  const forward = (t: tf.Tensor2D) => (model.forwardLong ? model.forwardLong(t) : model.forward(t));
  const convention = `${variantNote ? `${variantNote}; ` : ''}${conventionOf(model)}`;
  const out: Measurement[] = [];
  let atT: number | undefined;
  for (const length of lengths) {
    const dims = { length, variant };
    if (!fitsMemory(model, length, s)) {
      out.push({ metric: 'test_bpb', value: NaN, unit: 'bpb', dims, flag: 'not_run', note: `attention logits at ${length} tokens exceed ${s.maxScoreBytes} bytes` });
      continue;
    }
    const t0 = performance.now();
    const { sums, windows } = await positionNll(forward, bytes, starts, span, length, s.batchTokens);
    ctx.meter.sample();
    const total = sums.reduce((a, b) => a + b, 0);
    const bpb = total / (windows * length) / Math.LN2;
    if (length === seq) atT = bpb;
    out.push({
      metric: 'test_bpb', value: bpb, unit: 'bpb', dims,
      note: `${convention}; ${windows} windows, ${windows * length} tokens; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    });
    if (atT !== undefined) out.push({ metric: 'bpb_ratio_to_T', value: bpb / atT, unit: 'ratio', dims });
    const edges = bucketEdges(seq, length);
    for (let b = 0; b + 1 < edges.length; b++) {
      let sum = 0;
      for (let p = edges[b]!; p < edges[b + 1]!; p++) sum += sums[p]!;
      out.push({ metric: 'bpb_by_position', value: sum / (windows * (edges[b + 1]! - edges[b]!)) / Math.LN2, unit: 'bpb', dims: { ...dims, from: edges[b]!, to: edges[b + 1]! } });
    }
  }
  return out;
}

export async function resolutionRecords(ctx: SuiteContext, model: LanguageModel, lengths: number[], starts: number[], s: ExtrapolationSettings): Promise<Measurement[]> {
  const out: Measurement[] = [];
  if (!model.capabilities.attentionMaps) {
    return [{ metric: 'attention_resolution', value: NaN, unit: 'ratio', dims: { length: model.config.seq, layer: 'mean' }, flag: 'not_applicable', note: 'no softmax attention maps (capabilities.attentionMaps not declared)' }];
  }
  if (!model.attentionScores) {
    return [{ metric: 'attention_resolution', value: NaN, unit: 'ratio', dims: { length: model.config.seq, layer: 'mean' }, flag: 'not_available', note: 'the architecture does not implement attentionScores' }];
  }
  const bytes = ctx.corpus.splits.test;
  const heads = model.config.heads;
  for (const length of lengths) {
    if (heads * length * length * 4 > s.maxScoreBytes) {
      out.push({ metric: 'attention_resolution', value: NaN, unit: 'ratio', dims: { length, layer: 'mean' }, flag: 'not_run', note: `scores at ${length} tokens exceed ${s.maxScoreBytes} bytes` });
      continue;
    }
    const perLayer: number[][] = Array.from({ length: model.config.layers }, () => []);
    for (const start of starts.slice(0, s.resolutionWindows)) {
      const ids = tf.tensor2d(Int32Array.from(bytes.subarray(start, start + length)), [1, length], 'int32');
      for (let l = 0; l < model.config.layers; l++) {
        const sc = model.attentionScores(ids, l);
        const h = sc.shape[1];
        const data = (await readAndDispose(sc)) as Float32Array;
        perLayer[l]!.push(...attentionResolution(data, h, length));
      }
      ids.dispose();
    }
    ctx.meter.sample();
    const means = perLayer.map((r) => r.reduce((a, b) => a + b, 0) / r.length);
    means.forEach((v, l) => out.push({ metric: 'attention_resolution', value: v, unit: 'ratio', dims: { length, layer: l } }));
    out.push({
      metric: 'attention_resolution', value: means.reduce((a, b) => a + b, 0) / means.length, unit: 'ratio', dims: { length, layer: 'mean' },
      note: `mean over ${heads} heads x ${means.length} layers, ${Math.min(s.resolutionWindows, starts.length)} window(s); the logits inference computes at this length (${conventionOf(model)})`,
    });
  }
  return out;
}

export const extrapolation: Suite = {
  name: 'extrapolation',
  alone: 'cores',
  description: 'test bpb of the text model at T..16T under each architecture\'s long-context convention, a sliding-window row, bpb by position, attention resolution',
  settings: EXTRAPOLATION_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: {
    bpb_ratio_to_T: { direction: 'lower', kind: 'quality', headline: false },
    bpb_by_position: { direction: 'lower', kind: 'quality', headline: false },
    attention_resolution: { direction: 'higher', kind: 'quality', headline: false },
  },
  figures(records, kit) {
    const figs = [
      { ...kit.lines(records, 'test_bpb', 'length', { where: { variant: 'native' }, logLog: false, title: 'Test bpb against evaluation length (each architecture\'s own convention)' }), name: 'bpb-length-native' },
    ];
    if (records.some((r) => r.metric === 'test_bpb' && r.dims.variant === 'sliding_window' && Number.isFinite(r.value))) {
      figs.push({ ...kit.lines(records, 'test_bpb', 'length', { where: { variant: 'sliding_window' }, logLog: false, title: 'Test bpb against length, sliding window of T (same weights)' }), name: 'bpb-length-window' });
    }
    if (records.some((r) => r.metric === 'attention_resolution' && Number.isFinite(r.value))) {
      figs.push({ ...kit.lines(records, 'attention_resolution', 'length', { where: { layer: 'mean' }, title: 'Attention resolution against length' }), name: 'resolution-length' });
    }
    const longest = Math.max(...records.filter((r) => r.metric === 'bpb_by_position' && r.dims.variant === 'native').map((r) => Number(r.dims.length)));
    if (Number.isFinite(longest)) {
      figs.push({ ...kit.lines(records, 'bpb_by_position', 'from', { where: { variant: 'native', length: longest }, logLog: false, title: `bpb by position in a ${longest}-token window (bucket start)` }), name: 'bpb-position' });
    }
    return figs;
  },
  async run(ctx): Promise<Measurement[]> {
    const s = EXTRAPOLATION_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`extrapolation: no settings for preset ${ctx.preset.name}`);
    const { model } = await ctx.textModel();
    const seq = model.config.seq;
    const lengths = [...new Set(s.multiples.map((m) => m * seq))].sort((a, b) => a - b);
    const runnable = lengths.filter((l) => fitsMemory(model, l, s));
    const span = Math.max(...runnable, seq);
    const starts = regionStarts(ctx.corpus.splits.test.length - 1, span, s.regions);
    if (starts.length === 0) throw new Error(`extrapolation: the test split is shorter than ${span + 1} bytes`);
    const out = await evaluateVariant(ctx, model, 'native', lengths, span, starts, s);
    const twin = slidingWindowTwin(ctx, model, seq);
    if (twin.model) {
      try {
        out.push(...await evaluateVariant(ctx, twin.model, 'sliding_window', lengths, span, starts, s, `window ${seq}`));
      } finally {
        twin.model.params.dispose();
      }
    } else {
      out.push({ metric: 'test_bpb', value: NaN, unit: 'bpb', dims: { length: seq, variant: 'sliding_window' }, flag: 'not_applicable', note: `no sliding-window row: ${twin.why}` });
    }
    out.push(...await resolutionRecords(ctx, model, runnable, starts, s));
    return out;
  },
};

registerSuite(extrapolation);
