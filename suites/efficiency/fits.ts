// Summaries of one efficiency unit from its own measurements: power-law fits of each cost against length,
// the state as a constant plus bytes per token (measured and analytic), the decode latency's growth, and
// the analytic state-size comparison with the reference (from the two configs alone, no other unit's
// records). curvesOf is also how reports/crossovers.ts reads the records.
import type { LanguageModel } from '../../architectures/interface.ts';
import { withDryModel } from '../../architectures/dry-build.ts';
import { getArchitecture } from '../../architectures/registry.ts';
import { REFERENCE_ARCH, matchedConfig } from '../../harness/models.ts';
import { powerLawFit } from '../../harness/stats.ts';
import type { Measurement, SuiteContext } from '../interface.ts';
import { analyticCrossover, linearFit } from './measure.ts';
import { CONTEXT_FITS, TRAIN_FITS } from './metrics.ts';
import type { Recorder } from './recorder.ts';
import type { EfficiencySettings } from './settings.ts';

/** A cost against length at each batch size: batch -> length -> value. */
export type Curve = Map<number, Map<number, number>>;

/** One metric's measured values (skipped and failed ones left out) by batch, then by length (dims.context, or dims.seq for training). */
export function curvesOf(ms: readonly Pick<Measurement, 'metric' | 'value' | 'dims' | 'flag'>[], metric: string): Curve {
  const out: Curve = new Map();
  for (const m of ms) {
    if (m.metric !== metric || m.flag === 'skipped' || !Number.isFinite(m.value) || !m.dims) continue;
    const batch = Number(m.dims.batch), length = Number(m.dims.context ?? m.dims.seq);
    if (!Number.isFinite(batch) || !Number.isFinite(length)) continue;
    let byLength = out.get(batch);
    if (!byLength) out.set(batch, (byLength = new Map()));
    byLength.set(length, m.value);
  }
  return out;
}

/** Power law of every fitted metric against its length axis, per batch size with at least two lengths. */
export function powerLawFits(rec: Recorder): void {
  for (const metric of [...CONTEXT_FITS, ...TRAIN_FITS]) {
    const against = TRAIN_FITS.includes(metric) ? 'seq' : 'context';
    for (const [batch, curve] of curvesOf(rec.out, metric)) {
      if (curve.size < 2) continue;
      const pts = [...curve].sort((a, b) => a[0] - b[0]);
      const fit = powerLawFit(pts.map((q) => q[0]), pts.map((q) => q[1]));
      const dims = { of: metric, batch, against };
      const note = `${metric} ~ ${fit.coefficient.toPrecision(4)} x ${against}^${fit.exponent.toFixed(3)} over ${fit.n} lengths `
        + `${pts[0]![0]}..${pts.at(-1)![0]}; R^2 ${fit.r2.toFixed(4)}${fit.n < 3 ? '; two points: no interval' : ''}`;
      rec.add('power_law_exponent', fit.exponent, 'exponent', dims, { ci95: fit.n > 2 ? fit.ci95 : null, note });
      rec.add('power_law_r2', fit.r2, 'r2', dims, { note });
    }
  }
}

/** State as a constant plus bytes per token (measured and analytic); decode latency growth from the shortest to the longest length. */
export function summarise(rec: Recorder, model: LanguageModel, settings: EfficiencySettings): void {
  const analytic = model.analyticStateBytes?.bind(model);
  for (const [batch, pts] of curvesOf(rec.out, 'state_bytes')) {
    const lens = [...pts.keys()].sort((a, b) => a - b);
    if (lens.length < 2) continue;
    const fit = linearFit(lens, lens.map((l) => pts.get(l)!));
    const span = `${lens[0]}..${lens.at(-1)}`;
    rec.add('state_bytes_per_token', fit.slope, 'bytes', { batch }, { note: `least-squares slope of measured state bytes over lengths ${span}` });
    rec.add('state_bytes_constant', fit.intercept, 'bytes', { batch }, { note: `least-squares intercept of measured state bytes over lengths ${span}` });
    const values = lens.map((l) => pts.get(l)!);
    rec.add('state_bytes_max_over_min', Math.max(...values) / Math.min(...values), 'ratio', { batch }, { note: `over lengths ${span}; 1 means identical at every length` });
    if (analytic) {
      const a = linearFit(lens, lens.map((l) => analytic(l, batch).bytes));
      rec.add('state_bytes_per_token_analytic', a.slope, 'bytes', { batch }, { note: analytic(lens[0]!, batch).formula });
      rec.add('state_bytes_constant_analytic', a.intercept, 'bytes', { batch });
    }
  }
  for (const [batch, pts] of curvesOf(rec.out, 'decode_latency')) {
    const lens = [...pts.keys()].sort((a, b) => a - b);
    if (lens.length < 2) continue;
    const lo = lens[0]!, hi = lens.at(-1)!;
    const planned = batch === settings.batches[0] ? settings.lengths.at(-1)! : settings.batchLengths.at(-1)!;
    rec.add('decode_latency_growth', pts.get(hi)! / pts.get(lo)!, 'ratio', { batch, from: lo, to: hi }, {
      note: `median per-token decode latency at ${hi} over that at ${lo}${hi < planned ? ` (longest planned ${planned} not measured)` : ''}`,
    });
  }
}

/** Analytic state-size comparison with the reference: bytes-per-token ratio and the length where this state becomes smaller. */
export function analyticAgainstReference(rec: Recorder, ctx: SuiteContext, model: LanguageModel, settings: EfficiencySettings): void {
  const refSpec = getArchitecture(REFERENCE_ARCH);
  const analytic = model.analyticStateBytes?.bind(model);
  if (!refSpec || !analytic) return;
  const refCfg = matchedConfig(refSpec, ctx.preset, 'params').config;
  withDryModel(refSpec, refCfg, (refModel) => {
    if (!refModel.analyticStateBytes) return;
    const refA = (t: number, b: number) => refModel.analyticStateBytes!(t, b).bytes;
    const b = settings.batches[0]!;
    const maxT = settings.lengths.at(-1)!;
    const slope = (f: (t: number, b: number) => number) => (f(maxT, b) - f(maxT / 2, b)) / (maxT / 2);
    const refSlope = slope(refA);
    const mine = (t: number, bb: number) => analytic(t, bb).bytes;
    const ratio = refSlope > 0 ? slope(mine) / refSlope : NaN;
    const constant = mine(maxT, b) - slope(mine) * maxT;
    rec.add('state_bytes_per_token_ratio_vs_reference_analytic', ratio, 'ratio', { batch: b, versus: REFERENCE_ARCH }, {
      note: `analytic bytes per token over the reference's (${REFERENCE_ARCH}: ${refModel.analyticStateBytes(maxT, b).formula}); this model's constant part ${constant} B`,
    });
    const at = analyticCrossover((t) => mine(t, b), (t) => refA(t, b));
    rec.add('crossover_length', at ?? NaN, 'tokens', { of: 'state_bytes_analytic', batch: b, versus: REFERENCE_ARCH }, {
      flag: at === null ? 'not_reached' : undefined,
      note: at === null ? 'analytic state never smaller than the reference\'s up to 2^24 tokens' : 'smallest length from which the analytic state is smaller than the reference\'s',
    });
  });
}
