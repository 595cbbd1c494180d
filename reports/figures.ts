// Figures as Vega-Lite specs built from records. A suite may declare its own (Suite.figures, using the
// kit below); every metric it does not cover gets a generic figure chosen from the record's axes:
//   no axis -> bars with 95% intervals per architecture;
//   one axis -> lines against it (log-log with power-law fits for latency / memory / throughput);
//   two or more -> a heatmap over the two widest axes, one panel per architecture.
import type { ResultRecord } from '../harness/store.ts';
import { powerLawFit } from '../harness/stats.ts';
import { getSuite } from '../suites/index.ts';
import { canonical, fmt, fmtCi, groupRecords, NOT_DISCRIMINATING, type AxisValue, type MetricGroup } from './aggregate.ts';
import { displayUnit, words } from './format.ts';
import { HARNESS_METRICS, isTail } from './metrics.ts';
import type { BarOptions, FigureKit, FigureSpec, HeatmapOptions, LineOptions, VegaLiteSpec } from '../suites/interface.ts';


export const FONT = 'DejaVu Sans';
const WIDTH = 380, HEIGHT = 220;

/** Shared theme, merged into every spec (suite-declared ones too). */
export const THEME = {
  background: 'white',
  padding: 8,
  config: {
    aria: false,
    font: FONT,
    view: { stroke: '#ddd' },
    axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 180 },
    legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
    title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start' },
  },
};


export const safeName = (s: string): string => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'figure';

/** Architecture colours: a fixed order so an architecture has the same colour in every figure. */
export function archScale(archs: string[]): Record<string, unknown> {
  return { domain: [...archs].sort(), scheme: 'tableau10' };
}

const matches = (r: ResultRecord, where?: Record<string, string | number | boolean>) => !where || Object.entries(where).every(([k, v]) => r.dims?.[k] === v);

function groupOf(records: ResultRecord[], metric: string, where?: Record<string, string | number | boolean>): MetricGroup {
  const rs = records.filter((r) => r.metric === metric && matches(r, where));
  const g = groupRecords(rs).find((x) => x.metric === metric);
  if (!g) throw new Error(`no records of metric '${metric}'`);
  return g;
}

/** Times and bytes drawn in the unit their magnitude reads best in (ms, KiB, ...): the factor to divide by and the axis title. */
function axisUnit(g: MetricGroup, means: number[]): { factor: number; title: string } {
  const fin = means.filter(Number.isFinite).map(Math.abs).sort((a, b) => a - b);
  const d = displayUnit(g.unit, fin[Math.floor(fin.length / 2)] ?? 0);
  return { factor: d.factor, title: d.factor === 1 ? unitLabel(g) : `${words(g.metric)} (${d.unit})` };
}

const unitLabel = (g: MetricGroup) => `${words(g.metric)}${g.unit === 'fraction' ? ' (%)' : g.unit ? ` (${g.unit})` : ''}`;

/** The value axis: accuracies (fractions) ticked as percentages, other units as measured. */
const valueAxis = (g: MetricGroup) => (g.unit === 'fraction' ? { axis: { format: '~%' } } : {});

/** Does axis `other` take more than one value at some value of `axis` (so a figure against `axis` averages over it)? */
function varies(g: MetricGroup, axis: string, other: string): boolean {
  const seen = new Map<string, string>();
  return g.cells.some((c) => {
    const x = JSON.stringify(c.axes[axis]), o = JSON.stringify(c.axes[other]);
    const before = seen.get(x);
    seen.set(x, o);
    return before !== undefined && before !== o;
  });
}

/** Relative y-span below which differences are noise to the eye: the y scale then spans at least this much of the mean. */
const MIN_RELATIVE_SPAN = 0.02;

/** A y domain at least MIN_RELATIVE_SPAN of |centre| wide (so noise of 4e-5 on 1.0 is drawn flat, not as a spike). */
function minSpan(ys: number[]): { domain?: [number, number] } {
  const fin = ys.filter(Number.isFinite);
  if (!fin.length) return {};
  const lo = Math.min(...fin), hi = Math.max(...fin), centre = (lo + hi) / 2;
  const span = Math.max(MIN_RELATIVE_SPAN * Math.abs(centre), 1e-12);
  return hi - lo >= span ? {} : { domain: [centre - span / 2, centre + span / 2] };
}
const dirNote = (g: MetricGroup) => (g.info.direction === 'lower' ? 'lower is better' : g.info.direction === 'higher' ? 'higher is better' : '');

const whereText = (where?: Record<string, string | number | boolean>) => (where && Object.keys(where).length ? [`at ${Object.entries(where).map(([k, v]) => `${k}=${v}`).join(', ')}`] : []);

function subtitle(g: MetricGroup, extra: string[] = []): string[] {
  const seeds = new Set(g.cells.flatMap((c) => [...c.bySeed.keys()]));
  const ci = g.cells.some((c) => c.ciFrom === 'seeds') ? '95% interval over seeds' : g.cells.some((c) => c.ciFrom === 'record') ? "95% interval from the records (one seed)" : 'one seed, no interval';
  const flagged = g.cells.filter((c) => c.flags.some((f) => NOT_DISCRIMINATING.has(f)));
  const parts = [[dirNote(g), `${seeds.size} seed(s)`, ci].filter(Boolean).join('; ')];
  if (flagged.length) parts.push(`${flagged.length} point(s) at floor, shortcut or ceiling: not discriminating (hollow)`);
  return [...parts, ...extra];
}

function withTheme(spec: VegaLiteSpec): VegaLiteSpec {
  const config = { ...THEME.config, ...((spec.config as object | undefined) ?? {}) };
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...THEME, ...spec, config };
}

const flagOf = (flags: string[]) => flags.find((f) => NOT_DISCRIMINATING.has(f)) ?? '';

export const kit: FigureKit = {
  bars(records, metric, opts: BarOptions = {}) {
    const g = groupOf(records, metric, opts.where);
    const cells = g.cells.filter((c) => Number.isFinite(c.mean));
    const u = axisUnit(g, cells.map((c) => c.mean));
    const values = cells.map((c) => ({ arch: c.arch, point: Object.entries(c.axes).map(([k, v]) => `${k}=${v}`).join(', '), mean: c.mean / u.factor, lo: (c.ci95?.[0] ?? c.mean) / u.factor, hi: (c.ci95?.[1] ?? c.mean) / u.factor, n: c.n, flag: flagOf(c.flags) }));
    const faceted = g.axes.length > 0;
    const enc = {
      x: { field: 'arch', type: 'nominal', title: 'architecture', sort: [...new Set(values.map((v) => v.arch))].sort() },
      color: { field: 'arch', type: 'nominal', scale: archScale(g.archs), legend: null },
    };
    // Quality metrics (bpb, accuracy) as points: their zero is not meaningful; costs as bars from zero.
    const quality = g.info.kind === 'quality';
    const yScale = { zero: !quality };
    const layer = [
      { mark: quality ? { type: 'point', filled: true, size: 70 } : { type: 'bar', opacity: 0.85 }, encoding: { ...enc, y: { field: 'mean', type: 'quantitative', title: u.title, scale: yScale, ...valueAxis(g) },
        tooltip: [{ field: 'arch' }, { field: 'mean', format: '.4~g' }, { field: 'lo', format: '.4~g' }, { field: 'hi', format: '.4~g' }, { field: 'n' }] } },
      { mark: { type: 'errorbar', ticks: true, color: 'black' }, encoding: { x: enc.x, y: { field: 'lo', type: 'quantitative', title: u.title, scale: yScale }, y2: { field: 'hi' } } },
    ];
    const inner = { layer, width: { step: faceted ? 28 : 44 }, height: HEIGHT };
    const spec: VegaLiteSpec = faceted
      ? { data: { values }, facet: { field: 'point', type: 'ordinal', title: null }, columns: 4, spec: inner, resolve: { scale: { y: 'shared' } } }
      : { data: { values }, ...inner };
    return {
      name: `${g.metric}-bars`,
      title: opts.title ?? `${words(g.metric)}: mean and 95% interval per architecture`,
      covers: [metric],
      vegaLite: withTheme({ ...spec, title: { text: opts.title ?? u.title, subtitle: subtitle(g, whereText(opts.where)) } }),
    };
  },

  lines(records, metric, axis, opts: LineOptions = {}) {
    const g = groupOf(records, metric, opts.where);
    const numeric = g.numericAxes.has(axis) || g.cells.every((c) => typeof c.axes[axis] === 'number');
    // Average over the other axes (said in the subtitle) so one line per architecture remains; an axis
    // that takes one value per x (bucket ends beside bucket starts) is not averaged over, so not named.
    const others = g.axes.filter((a) => a !== axis && varies(g, axis, a));
    const acc = new Map<string, { arch: string; x: AxisValue; means: number[]; los: number[]; his: number[]; flag: string }>();
    for (const c of g.cells) {
      if (!Number.isFinite(c.mean)) continue;
      const x = c.axes[axis] ?? '';
      const k = `${c.arch}\u0000${JSON.stringify(x)}`;
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { arch: c.arch, x, means: [], los: [], his: [], flag: '' }));
      a.means.push(c.mean);
      a.los.push(c.ci95?.[0] ?? c.mean);
      a.his.push(c.ci95?.[1] ?? c.mean);
      a.flag ||= flagOf(c.flags);
    }
    const avg = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    const u = axisUnit(g, [...acc.values()].map((a) => avg(a.means)));
    const values = [...acc.values()].map((a) => ({ arch: a.arch, x: a.x, mean: avg(a.means) / u.factor, lo: avg(a.los) / u.factor, hi: avg(a.his) / u.factor, flag: a.flag }));
    const archs = [...new Set(values.map((v) => v.arch))].sort();
    const xs = [...new Set(values.map((v) => v.x).filter((x): x is number => typeof x === 'number'))].sort((p, q) => p - q);
    const ys = values.map((v) => v.mean);
    const spans = (v: number[]) => v.length > 1 && Math.min(...v) > 0 && Math.max(...v) / Math.min(...v) >= 4;
    const costly = g.info.kind === 'latency' || g.info.kind === 'memory' || g.info.kind === 'throughput';
    const logLog = opts.logLog ?? (numeric && costly && spans(xs) && ys.every((y) => y > 0));
    // Lengths and contexts (powers of two, mostly) on a log2 axis ticked at the measured values.
    const log2x = numeric && xs.length >= 2 && xs[0]! > 0 && (logLog || LENGTH_LIKE.test(axis));
    const wantFit = (opts.fit ?? logLog) && numeric;
    const fits: string[] = [];
    const fitValues: { arch: string; x: number; fit: number }[] = [];
    if (wantFit) {
      for (const arch of archs) {
        const pts = values.filter((v) => v.arch === arch && typeof v.x === 'number' && v.x > 0 && v.mean > 0).sort((p, q) => (p.x as number) - (q.x as number));
        if (pts.length < 2) continue;
        const f = powerLawFit(pts.map((p) => p.x as number), pts.map((p) => p.mean));
        fits.push(`${arch}: ${fmt(f.exponent)}${f.n > 2 ? ` ${fmtCi(f.ci95)}` : ''}, R² ${fmt(f.r2)}`);
        for (const p of pts) fitValues.push({ arch, x: p.x as number, fit: f.coefficient * (p.x as number) ** f.exponent });
      }
    }
    const scale = logLog ? { type: 'log', nice: false, padding: 8 } : { zero: false, ...minSpan(values.flatMap((v) => [v.lo, v.mean, v.hi])) };
    const xTitle = words(axis);
    const xEnc = !numeric ? { field: 'x', type: 'ordinal', title: xTitle }
      : log2x ? { field: 'x', type: 'quantitative', title: `${xTitle} (log2 scale)`, scale: { type: 'log', base: 2, nice: false, padding: 8 }, axis: { values: xs, format: '~s' } }
        : { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } };
    const color = { field: 'arch', type: 'nominal', title: 'architecture', scale: archScale(g.archs), legend: { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 } };
    const yTitle = u.title;
    const hasIntervals = values.some((v) => v.hi > v.lo);
    // Categories are not joined by lines: points only. Intervals as thin error bars, never filled bands.
    const layer: VegaLiteSpec[] = [
      ...(hasIntervals ? [{ mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.55 }, encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative', scale, title: yTitle }, y2: { field: 'hi' }, color } }] : []),
      { mark: numeric ? { type: 'line', strokeWidth: 1.8, point: { filled: true, size: 36 } } : { type: 'point', filled: true, size: 60 }, encoding: { x: xEnc, y: { field: 'mean', type: 'quantitative', scale, title: yTitle, ...valueAxis(g) }, color,
        tooltip: [{ field: 'arch' }, { field: 'x', title: axis }, { field: 'mean', format: '.4~g' }, { field: 'lo', format: '.4~g' }, { field: 'hi', format: '.4~g' }] } },
    ];
    if (values.some((v) => v.flag)) {
      layer.push({ transform: [{ filter: "datum.flag != ''" }], mark: { type: 'point', filled: true, color: 'white', size: 30 }, encoding: { x: xEnc, y: { field: 'mean', type: 'quantitative', scale } } });
    }
    if (fitValues.length) layer.push({ data: { values: fitValues }, mark: { type: 'line', strokeDash: [4, 3], strokeWidth: 1 }, encoding: { x: xEnc, y: { field: 'fit', type: 'quantitative', scale }, color } });
    const extra = [...whereText(opts.where), ...(others.length ? [`averaged over ${others.map(words).join(', ')}`] : []), ...(fits.length ? ['power-law fits (dashed), exponent [95%]:', ...fits.map((f) => `  ${f}`)] : [])];
    return {
      name: `${g.metric}-vs-${axis}`,
      title: opts.title ?? `${words(g.metric)} against ${words(axis)}${logLog ? ' (log-log)' : ''}`,
      caption: fits.length ? `Fits: ${fits.join('; ')}` : undefined,
      covers: [metric],
      vegaLite: withTheme({ data: { values }, layer, width: WIDTH, height: HEIGHT, title: { text: opts.title ?? `${u.title} against ${words(axis)}`, subtitle: subtitle(g, extra) } }),
    };
  },

  heatmap(records, metric, x, y, opts: HeatmapOptions = {}) {
    const g = groupOf(records, metric, opts.where);
    const others = g.axes.filter((a) => a !== x && a !== y);
    const acc = new Map<string, { arch: string; x: AxisValue; y: AxisValue; means: number[]; flag: string }>();
    for (const c of g.cells) {
      if (!Number.isFinite(c.mean)) continue;
      const k = canonical({ arch: c.arch, x: c.axes[x] ?? '', y: c.axes[y] ?? '' });
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { arch: c.arch, x: c.axes[x] ?? '', y: c.axes[y] ?? '', means: [], flag: '' }));
      a.means.push(c.mean);
      a.flag ||= flagOf(c.flags);
    }
    const values = [...acc.values()].map((a) => ({ arch: a.arch, x: a.x, y: a.y, mean: a.means.reduce((s, v) => s + v, 0) / a.means.length, flag: a.flag }));
    const sortNum = (k: 'x' | 'y') => [...new Set(values.map((v) => v[k]))].sort((p, q) => (typeof p === 'number' && typeof q === 'number' ? p - q : String(p).localeCompare(String(q))));
    const archs = [...new Set(values.map((v) => v.arch))].sort();
    const cols = Math.min(3, archs.length);
    const xDomain = sortNum('x'), yDomain = sortNum('y');
    const cell = Math.max(14, Math.min(36, Math.floor(300 / Math.max(xDomain.length, yDomain.length))));
    const extra = [...whereText(opts.where), ...(others.length ? [`averaged over ${others.map(words).join(', ')}`] : [])];
    return {
      name: `${g.metric}-heatmap-${x}-${y}`,
      title: opts.title ?? `${words(g.metric)} over ${words(x)} x ${words(y)}, one panel per architecture`,
      covers: [metric],
      vegaLite: withTheme({
        data: { values },
        facet: { field: 'arch', type: 'nominal', title: null, sort: archs },
        columns: cols,
        spec: {
          width: cell * xDomain.length, height: cell * yDomain.length,
          layer: [
            { mark: 'rect', encoding: {
              x: { field: 'x', type: 'ordinal', title: words(x), sort: xDomain },
              y: { field: 'y', type: 'ordinal', title: words(y), sort: yDomain },
              color: { field: 'mean', type: 'quantitative', title: words(g.metric), scale: { scheme: opts.scheme ?? 'viridis', reverse: g.info.direction === 'lower' } },
              tooltip: [{ field: 'arch' }, { field: 'x', title: x }, { field: 'y', title: y }, { field: 'mean', format: '.4~g' }],
            } },
            { transform: [{ filter: "datum.flag != ''" }], mark: { type: 'text', text: '·', color: 'white', fontSize: 14 }, encoding: { x: { field: 'x', type: 'ordinal', sort: xDomain }, y: { field: 'y', type: 'ordinal', sort: yDomain } } },
          ],
        },
        title: { text: opts.title ?? `${unitLabel(g)} over ${words(x)} x ${words(y)}`, subtitle: subtitle(g, extra) },
      }),
    };
  },
};

const LENGTH_LIKE = /len|length|context|seq|^t$|tokens/i;

/**
 * For the axes not drawn, the combination of values with the most finite records (the figure is drawn
 * there, and says so). Chosen jointly, so the combination exists.
 */
function pins(records: ResultRecord[], axes: string[]): Record<string, string | number> {
  const counts = new Map<string, { combo: Record<string, string | number>; n: number }>();
  for (const r of records) {
    if (!Number.isFinite(r.value)) continue;
    const combo: Record<string, string | number> = {};
    for (const a of axes) {
      const v = r.dims?.[a];
      if (typeof v === 'number' || typeof v === 'string') combo[a] = v;
    }
    const k = canonical(combo);
    const c = counts.get(k) ?? { combo, n: 0 };
    c.n++;
    counts.set(k, c);
  }
  const key = (c: Record<string, string | number>) => Object.values(c).map((v) => (typeof v === 'number' ? v.toString().padStart(12, '0') : v)).join('|');
  return [...counts.values()].sort((x, y) => y.n - x.n || key(x.combo).localeCompare(key(y.combo)))[0]?.combo ?? {};
}

/**
 * The generic figure for one metric group, chosen from its axes: none -> bars (points for quality
 * metrics) with 95% intervals; two axes of 3+ values each -> a heatmap per architecture (length-like axis
 * on x); otherwise lines against the length-like (or widest) axis, other axes pinned to their most
 * measured value.
 */
export function defaultFigure(records: ResultRecord[], g: MetricGroup): FigureSpec {
  const rs = records.filter((r) => r.metric === g.metric);
  if (g.axes.length === 0) return kit.bars(rs, g.metric);
  const width = (a: string) => new Set(g.cells.map((c) => JSON.stringify(c.axes[a]))).size;
  const byWidth = [...g.axes].sort((a, b) => width(b) - width(a) || Number(g.numericAxes.has(b)) - Number(g.numericAxes.has(a)));
  const lengthAxis = byWidth.find((a) => g.numericAxes.has(a) && LENGTH_LIKE.test(a) && width(a) >= 2);
  if (byWidth.length >= 2 && width(byWidth[0]!) >= 3 && width(byWidth[1]!) >= 3) {
    const [p, q] = byWidth as [string, string];
    const [x, y] = lengthAxis === q ? [q, p] : [p, q];
    const rest = g.axes.filter((a) => a !== x && a !== y);
    return kit.heatmap(rs, g.metric, x, y, rest.length ? { where: pins(rs, rest) } : {});
  }
  const axis = lengthAxis ?? byWidth[0]!;
  const rest = g.axes.filter((a) => a !== axis);
  return kit.lines(rs, g.metric, axis, rest.length ? { where: pins(rs, rest) } : {});
}

/** Tail percentiles (p75, p99) and informational metrics are tabulated, not drawn. */
export const drawable = (g: MetricGroup): boolean =>
  !HARNESS_METRICS.has(g.metric) && !isTail(g.metric) && g.info.kind !== 'count' && !(g.info.kind === 'info' && g.info.direction === 'none') && g.cells.some((c) => Number.isFinite(c.mean));

export interface SuiteFigure extends FigureSpec {
  suite: string;
  /** 'declared' (by the suite) or 'generic' (the fallback). */
  origin: 'declared' | 'generic';
  /** File stem under report/figures/. */
  file: string;
}

/** Every figure for one suite's records: the suite's declared ones, then generic ones for the rest. */
export function figuresFor(suite: string, records: ResultRecord[]): { figures: SuiteFigure[]; errors: string[] } {
  const mine = records.filter((r) => r.suite === suite);
  const out: SuiteFigure[] = [];
  const errors: string[] = [];
  const covered = new Set<string>();
  const declare = getSuite(suite)?.figures;
  if (declare) {
    try {
      for (const f of declare.call(getSuite(suite), mine, kit)) {
        out.push({ ...f, vegaLite: withTheme(f.vegaLite), suite, origin: 'declared', file: `${safeName(suite)}-${safeName(f.name)}` });
        for (const m of f.covers ?? []) covered.add(m);
      }
    } catch (e) {
      errors.push(`suite ${suite}: figures() failed: ${e instanceof Error ? e.message : String(e)}; generic figures used instead`);
      out.length = 0;
      covered.clear();
    }
  }
  for (const g of groupRecords(mine)) {
    if (covered.has(g.metric) || !drawable(g)) continue;
    try {
      const f = defaultFigure(mine, g);
      out.push({ ...f, suite, origin: 'generic', file: `${safeName(suite)}-${safeName(f.name)}` });
    } catch (e) {
      errors.push(`suite ${suite}, metric ${g.metric}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const seen = new Map<string, number>();
  for (const f of out) {
    const k = seen.get(f.file) ?? 0;
    seen.set(f.file, k + 1);
    if (k) f.file = `${f.file}-${k + 1}`;
  }
  return { figures: out, errors };
}
