// Scaling (the Diff and RetNet papers argue from scaling curves): each architecture trained at several
// widths (non-embedding parameters N) and token budgets (D), test bpb L of each, and per-axis power laws
//   L(N) = c N^k  (every width at the largest budget),   L(D) = c' D^k'  (the largest width at every budget)
// fitted on log-log axes with the exponent's 95% interval. The fraction of the reference's (the
// Transformer's) parameters or tokens at which the architecture matches the reference's loss at its
// largest point L_ref:  N* = (L_ref / c)^(1/k),  fraction = N* / N_ref  (the same for tokens). The
// reference's grid is trained (or served by the cache) in each unit, so a unit's records depend on itself.
//
// Records: scaling_bpb {d, steps, params, tokens}; scaling_fit_exponent {axis} (ci95; note: c, R^2);
// param_fraction_to_match / token_fraction_to_match (flag 'extrapolated' outside the fitted range,
// 'no_fit' when the loss does not fall along the axis); train_seconds {model: 'own' | the reference, d, steps,
// cache} per grid model, so `archbench analyze time` counts the suite's training.
import type { ArchitectureSpec } from '../../architectures/interface.ts';
import { getArchitecture } from '../../architectures/registry.ts';
import { evalWindows } from '../../harness/data/streams.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import { REFERENCE_ARCH, corpusStream, disposeModel, matchedConfig, trainedModel } from '../../harness/models.ts';
import { powerLawFit } from '../../harness/stats.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { SCALING_SETTINGS, type ScalingSettings } from './settings.ts';

interface GridPoint {
  d: number;
  steps: number;
  params: number;
  tokens: number;
  bpb: number;
  /** The model's training seconds and cache status (a cache hit trained in an earlier unit or run). */
  seconds: number;
  cache: string;
}

/** The L-shaped grid: every width at the largest budget, the largest width at the smaller budgets. */
export function gridOf(s: ScalingSettings): { d: number; steps: number }[] {
  const maxSteps = s.steps.at(-1)!, maxD = s.widths.at(-1)!;
  return [...s.widths.map((d) => ({ d, steps: maxSteps })), ...s.steps.slice(0, -1).map((steps) => ({ d: maxD, steps }))];
}

/** Train (or load) and score `spec` at every grid point. */
async function grid(ctx: SuiteContext, spec: ArchitectureSpec, s: ScalingSettings): Promise<GridPoint[]> {
  const windows = evalWindows(ctx.corpus.splits.test, ctx.preset.size.seq, s.evalTokens);
  const out: GridPoint[] = [];
  for (const { d, steps } of gridOf(s)) {
    const preset = { ...ctx.preset, size: { ...ctx.preset.size, d } };
    const { config, nonEmbedding } = matchedConfig(spec, preset, 'params');
    const train = { ...ctx.preset.train, steps, warmup: Math.min(s.warmup, Math.floor(steps / 10)) };
    const { model, info } = await trainedModel(ctx.cache, { spec, config, seed: ctx.seed, stream: corpusStream(ctx.corpus), train, purpose: 'scaling' });
    try {
      out.push({ d, steps, params: nonEmbedding, tokens: info.tokens, bpb: await evaluateBpb(model, windows, ctx.preset.evalBatch), seconds: info.seconds, cache: info.cache });
    } finally {
      disposeModel(model);
    }
    ctx.meter.sample();
  }
  return out;
}

export interface AxisFit {
  coefficient: number;
  exponent: number;
  ci95: [number, number];
  r2: number;
  xs: number[];
}

/** L = c x^k over the points that vary along `axis` (the others at the largest value of the other axis). */
export function axisFit(points: Pick<GridPoint, 'd' | 'steps' | 'params' | 'tokens' | 'bpb'>[], axis: 'params' | 'tokens'): AxisFit {
  const maxSteps = Math.max(...points.map((p) => p.steps)), maxD = Math.max(...points.map((p) => p.d));
  const on = points.filter((p) => (axis === 'params' ? p.steps === maxSteps : p.d === maxD));
  const xs = on.map((p) => p[axis]);
  const f = powerLawFit(xs, on.map((p) => p.bpb));
  return { coefficient: f.coefficient, exponent: f.exponent, ci95: f.ci95, r2: f.r2, xs };
}

/** x* with c x*^k = target, as a fraction of `of`; flagged when the fit does not fall or x* lies outside its range. */
export function fractionToMatch(fit: AxisFit, target: number, of: number): { value: number; flag?: string } {
  if (!(fit.exponent < 0)) return { value: NaN, flag: 'no_fit' };
  const x = (target / fit.coefficient) ** (1 / fit.exponent);
  const inside = x >= Math.min(...fit.xs) && x <= Math.max(...fit.xs);
  return { value: x / of, ...(inside ? {} : { flag: 'extrapolated' }) };
}

/** Each grid model's training seconds (for `archbench analyze time`: a cache hit was trained elsewhere). */
function trainingRecords(points: GridPoint[], model: string): Measurement[] {
  return points.map((p) => ({ metric: 'train_seconds', value: p.seconds, unit: 's', dims: { model, d: p.d, steps: p.steps, cache: p.cache } }));
}

export const scaling: Suite = {
  name: 'scaling',
  description: 'loss against parameters and against tokens (per-axis power laws), and the fraction of the Transformer\'s parameters / tokens at which each architecture matches its loss',
  settings: SCALING_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: {
    scaling_bpb: { direction: 'lower', kind: 'quality', headline: false },
    scaling_fit_exponent: { direction: 'none', kind: 'info', headline: false },
    param_fraction_to_match: { direction: 'lower', kind: 'quality', headline: true },
    token_fraction_to_match: { direction: 'lower', kind: 'quality', headline: false },
    train_seconds: { direction: 'lower', kind: 'bookkeeping', headline: false },
  },
  async run(ctx): Promise<Measurement[]> {
    const s = SCALING_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`scaling: no settings for preset ${ctx.preset.name}`);
    const mine = await grid(ctx, ctx.spec, s);
    const out: Measurement[] = mine.map((p) => ({ metric: 'scaling_bpb', value: p.bpb, unit: 'bpb', dims: { d: p.d, steps: p.steps, params: p.params, tokens: p.tokens } }));
    const fits = { params: axisFit(mine, 'params'), tokens: axisFit(mine, 'tokens') };
    for (const [axis, f] of Object.entries(fits)) {
      out.push({ metric: 'scaling_fit_exponent', value: f.exponent, unit: 'exponent', ci95: f.ci95, dims: { axis },
        note: `bpb = ${f.coefficient.toPrecision(4)} x ${axis}^k over ${f.xs.join(', ')}; R^2 ${f.r2.toFixed(3)}` });
    }
    out.push(...trainingRecords(mine, 'own'));
    if (ctx.spec.name === REFERENCE_ARCH) return out;
    const ref = await grid(ctx, getArchitecture(REFERENCE_ARCH)!, s);
    out.push(...trainingRecords(ref, REFERENCE_ARCH));
    const top = ref.reduce((a, b) => (b.params >= a.params && b.tokens >= a.tokens ? b : a));
    for (const [axis, metric] of [['params', 'param_fraction_to_match'], ['tokens', 'token_fraction_to_match']] as const) {
      const r = fractionToMatch(fits[axis], top.bpb, top[axis]);
      out.push({ metric, value: r.value, unit: 'ratio', dims: { versus: REFERENCE_ARCH }, ...(r.flag ? { flag: r.flag } : {}),
        note: `${axis} at which ${ctx.spec.name}'s fit reaches ${REFERENCE_ARCH}'s ${top.bpb.toFixed(4)} bpb (its largest point: ${top[axis]} ${axis})` });
    }
    return out;
  },
};

registerSuite(scaling);
