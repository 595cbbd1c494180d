// From records to cells (suite, metric, axis point, architecture) with the mean and 95% interval over
// seeds, paired comparisons between architectures, and ranks. Everything is driven by the records: an
// "axis" is a dims key whose value varies within one (architecture, seed) unit; other dims are notes.
import type { ResultRecord } from '../harness/store.ts';
import { meanCi, mean, pairedBootstrap, t95, std } from '../harness/stats.ts';
import { HARNESS_METRICS, isHeadline, isTail, metricInfo } from './metrics.ts';
import type { Direction, MetricInfo } from '../suites/interface.ts';

export type AxisValue = string | number;

export interface Cell {
  suite: string;
  metric: string;
  unit: string;
  arch: string;
  axes: Record<string, AxisValue>;
  axesKey: string;
  /** One value per seed (records with the same seed and axis point are averaged). */
  bySeed: Map<number, number>;
  /** The records' own ci95 per seed (e.g. a Wilson interval over items), when they carry one. */
  recordCi: Map<number, [number, number]>;
  n: number;
  mean: number;
  ci95: [number, number] | null;
  ciFrom: 'seeds' | 'record' | 'none';
  flags: string[];
  notes: string[];
}

export interface MetricGroup {
  suite: string;
  metric: string;
  unit: string;
  info: MetricInfo;
  /** Axis names, in a stable order (numeric axes first). */
  axes: string[];
  numericAxes: Set<string>;
  archs: string[];
  cells: Cell[];
}

/** A per-seed series: one number per seed, optionally with a per-seed interval from the records. */
export interface SeedSeries {
  values: Map<number, number>;
  ci?: Map<number, [number, number]>;
}

export const canonical = (o: Record<string, AxisValue>): string => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));

const scalar = (v: unknown): v is AxisValue => typeof v === 'number' || typeof v === 'string';

/** Axes of a set of records of one metric: dims keys whose value varies inside one (arch, seed). */
export function detectAxes(records: ResultRecord[]): string[] {
  const seen = new Map<string, Map<string, Set<string>>>();
  for (const r of records) {
    const unit = `${r.arch}|${r.seed}`;
    let m = seen.get(unit);
    if (!m) seen.set(unit, (m = new Map()));
    for (const [k, v] of Object.entries(r.dims ?? {})) {
      if (!scalar(v) && typeof v !== 'boolean') continue;
      let s = m.get(k);
      if (!s) m.set(k, (s = new Set()));
      s.add(JSON.stringify(v));
    }
  }
  const axes = new Set<string>();
  for (const m of seen.values()) for (const [k, s] of m) if (s.size > 1) axes.add(k);
  return [...axes];
}

/**
 * An interval over seeds cut to the range its unit has (a fraction's [0, 1], a count's [0, ∞)): the t
 * interval of a few seeds can run past it. A share that can pass 1 or 0 is a 'ratio' and is not cut.
 */
export function withinRange(ci: [number, number], unit: string): [number, number] {
  if (unit === 'fraction') return [Math.max(0, ci[0]), Math.min(1, ci[1])];
  return unit === 'count' ? [Math.max(0, ci[0]), ci[1]] : ci;
}

function cellStats(bySeed: Map<number, number>, recordCi: Map<number, [number, number]>, unit: string): Pick<Cell, 'n' | 'mean' | 'ci95' | 'ciFrom'> {
  const xs = [...bySeed.values()];
  if (xs.length >= 2) {
    const { mean: m, ci95 } = meanCi(xs);
    return { n: xs.length, mean: m, ci95: withinRange(ci95, unit), ciFrom: 'seeds' };
  }
  const only = [...recordCi.values()][0];
  return { n: xs.length, mean: xs[0] ?? NaN, ci95: only ?? null, ciFrom: only ? 'record' : 'none' };
}

/** Group a run's records by suite and metric into cells. Non-finite values are kept out (noted). */
export function groupRecords(records: ResultRecord[], opts: { axes?: (suite: string, metric: string) => string[] | undefined } = {}): MetricGroup[] {
  const bySuiteMetric = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const k = `${r.suite}\u0000${r.metric}`;
    let list = bySuiteMetric.get(k);
    if (!list) bySuiteMetric.set(k, (list = []));
    list.push(r);
  }
  const groups: MetricGroup[] = [];
  for (const list of bySuiteMetric.values()) {
    const first = list[0]!;
    const axes = opts.axes?.(first.suite, first.metric) ?? detectAxes(list);
    const numericAxes = new Set(axes.filter((a) => list.every((r) => r.dims?.[a] === undefined || typeof r.dims[a] === 'number')));
    axes.sort((a, b) => Number(numericAxes.has(b)) - Number(numericAxes.has(a)) || a.localeCompare(b));
    const cells = new Map<string, Cell & { sums: Map<number, number[]> }>();
    for (const r of list) {
      const point: Record<string, AxisValue> = {};
      for (const a of axes) {
        const v = r.dims?.[a];
        point[a] = typeof v === 'boolean' ? String(v) : (v as AxisValue | undefined) ?? '';
      }
      const axesKey = canonical(point);
      const k = `${r.arch}\u0000${axesKey}`;
      let c = cells.get(k);
      if (!c) {
        c = { suite: r.suite, metric: r.metric, unit: r.unit, arch: r.arch, axes: point, axesKey, bySeed: new Map(), recordCi: new Map(), n: 0, mean: NaN, ci95: null, ciFrom: 'none', flags: [], notes: [], sums: new Map() };
        cells.set(k, c);
      }
      if (r.flag && !c.flags.includes(r.flag)) c.flags.push(r.flag);
      if (r.note && !c.notes.includes(r.note)) c.notes.push(r.note);
      if (!Number.isFinite(r.value)) {
        const note = `seed ${r.seed}: non-finite value`;
        if (!c.notes.includes(note)) c.notes.push(note);
        continue;
      }
      let s = c.sums.get(r.seed);
      if (!s) c.sums.set(r.seed, (s = []));
      s.push(r.value);
      if (r.ci95 && Number.isFinite(r.ci95[0]) && Number.isFinite(r.ci95[1])) c.recordCi.set(r.seed, [r.ci95[0], r.ci95[1]]);
    }
    const out: Cell[] = [];
    for (const c of cells.values()) {
      for (const [seed, vs] of c.sums) c.bySeed.set(seed, mean(vs));
      const { sums: _sums, ...cell } = c;
      out.push({ ...cell, ...cellStats(c.bySeed, c.recordCi, c.unit) });
    }
    const archs = [...new Set(list.map((r) => r.arch))];
    groups.push({ suite: first.suite, metric: first.metric, unit: first.unit, info: metricInfo(first.suite, first.metric, first.unit), axes, numericAxes, archs, cells: out });
  }
  return groups;
}

/** Axis points every listed architecture has (so summaries compare like with like). */
export function commonPoints(group: MetricGroup, archs = group.archs): string[] {
  let common: string[] | null = null;
  for (const a of archs) {
    const pts = new Set(group.cells.filter((c) => c.arch === a && c.bySeed.size > 0).map((c) => c.axesKey));
    common = common ? common.filter((p) => pts.has(p)) : [...pts];
  }
  return (common ?? []).sort();
}

/**
 * One number per seed for an architecture: the mean over the given axis points (seeds lacking a point
 * are left out). Per-seed record intervals are combined as independent half-widths.
 */
export function seedSeries(group: MetricGroup, arch: string, points: string[], filter?: (c: Cell) => boolean): SeedSeries {
  const cells = group.cells.filter((c) => c.arch === arch && points.includes(c.axesKey) && (!filter || filter(c)));
  const values = new Map<number, number>();
  const ci = new Map<number, [number, number]>();
  if (!cells.length) return { values, ci };
  const seeds = new Set<number>();
  for (const c of cells) for (const s of c.bySeed.keys()) seeds.add(s);
  for (const s of [...seeds].sort((a, b) => a - b)) {
    if (!cells.every((c) => c.bySeed.has(s))) continue;
    const v = mean(cells.map((c) => c.bySeed.get(s)!));
    values.set(s, v);
    if (cells.every((c) => c.recordCi.has(s))) ci.set(s, combineIntervals(cells.map((c) => [c.bySeed.get(s)!, c.recordCi.get(s)!])));
  }
  return { values, ci };
}

/**
 * The interval of a mean of independent estimates, each with its own (possibly asymmetric) interval:
 * lower and upper half-widths combine in quadrature; one estimate keeps its interval exactly.
 */
export function combineIntervals(parts: [number, [number, number]][]): [number, number] {
  const k = parts.length;
  const v = parts.reduce((s, [x]) => s + x, 0) / k;
  const lo = Math.sqrt(parts.reduce((s, [x, ci]) => s + (x - ci[0]) ** 2, 0)) / k;
  const hi = Math.sqrt(parts.reduce((s, [x, ci]) => s + (ci[1] - x) ** 2, 0)) / k;
  return [v - lo, v + hi];
}

/** Mean and 95% interval of a series: over seeds (t) when 2+, else the record's interval, else none. */
export function seriesStats(s: SeedSeries): { n: number; mean: number; ci95: [number, number] | null; ciFrom: Cell['ciFrom'] } {
  const xs = [...s.values.values()];
  if (xs.length >= 2) return { n: xs.length, ...meanCi(xs), ciFrom: 'seeds' };
  const only = s.ci && [...s.ci.values()][0];
  return { n: xs.length, mean: xs[0] ?? NaN, ci95: only ?? null, ciFrom: only ? 'record' : 'none' };
}

export interface PairedResult {
  /** Seeds both sides have. */
  n: number;
  /** mean(a - b) over the paired seeds. */
  diff: number;
  ci95: [number, number] | null;
  method: 'paired-t' | 'paired-bootstrap' | 'record-intervals' | 'exact' | 'none';
  /** Which side is better under the direction, or tied when the data cannot separate them. */
  verdict: 'a' | 'b' | 'tied';
  why: string;
}

/**
 * Paired comparison of a and b over the seeds both have (seed i of a with seed i of b: same data, same
 * items). 2-9 pairs: paired t interval of the mean difference (exact under normal seed noise); 10+:
 * paired bootstrap (stats.pairedBootstrap). One pair: only when both carry item intervals (ci95 in
 * the records), combined as independent (conservative for items shared by both); otherwise tied. With
 * `exact` (deterministic metrics, e.g. counted bytes) a single pair is compared as is.
 */
export function pairedCompare(a: SeedSeries, b: SeedSeries, direction: Direction, opts: { exact?: boolean } = {}): PairedResult {
  const seeds = [...a.values.keys()].filter((s) => b.values.has(s)).sort((x, y) => x - y);
  const d = seeds.map((s) => a.values.get(s)! - b.values.get(s)!);
  const n = d.length;
  const judge = (ci: [number, number] | null, diff: number, method: PairedResult['method'], why: string): PairedResult => {
    let verdict: PairedResult['verdict'] = 'tied';
    if (ci && direction !== 'none') {
      const aHigher = ci[0] > 0, bHigher = ci[1] < 0;
      if (aHigher || bHigher) verdict = (aHigher === (direction === 'higher')) ? 'a' : 'b';
    }
    return { n, diff, ci95: ci, method, verdict, why: verdict === 'tied' && ci ? `${why}; the interval of the difference includes 0` : why };
  };
  if (n === 0) return { n, diff: NaN, ci95: null, method: 'none', verdict: 'tied', why: 'no seeds in common' };
  if (opts.exact && d.every((x) => x === d[0])) {
    return judge([d[0]!, d[0]!], d[0]!, 'exact', `deterministic metric, identical over ${n} seed(s)`);
  }
  if (n >= 10) {
    const bs = pairedBootstrap(seeds.map((s) => a.values.get(s)!), seeds.map((s) => b.values.get(s)!));
    return judge(bs.ci95, bs.diff, 'paired-bootstrap', `paired bootstrap over ${n} seeds`);
  }
  if (n >= 2) {
    const m = mean(d), half = (t95(n - 1) * std(d)) / Math.sqrt(n);
    return judge([m - half, m + half], m, 'paired-t', `paired t interval over ${n} seeds`);
  }
  const s = seeds[0]!;
  const ca = a.ci?.get(s), cb = b.ci?.get(s);
  if (ca && cb) {
    const va = a.values.get(s)!, vb = b.values.get(s)!;
    const lo = Math.hypot(va - ca[0], cb[1] - vb), hi = Math.hypot(ca[1] - va, vb - cb[0]);
    return judge([d[0]! - lo, d[0]! + hi], d[0]!, 'record-intervals', 'one seed: the records\' own intervals, combined');
  }
  if (opts.exact) return judge([d[0]!, d[0]!], d[0]!, 'exact', 'deterministic metric, one seed');
  return { n, diff: d[0]!, ci95: null, method: 'none', verdict: 'tied', why: 'one seed and no item intervals: cannot separate (run more --seeds)' };
}

export interface Standing {
  arch: string;
  /** Mean over the headline metrics of this architecture's rank (1 = best). */
  score: number;
  /** Competition rank of the score among the ranked architectures (1, 1, 1, 4); NaN when unranked. */
  rank: number;
  ranks: Record<string, number>;
  /** Per headline metric: the paired verdict against the leader ('leader', 'tied', 'worse'). */
  vsLeader: Record<string, { verdict: 'leader' | 'tied' | 'worse' | 'better'; result?: PairedResult }>;
  /** Per headline metric this architecture is left out of: its cells are all floor / shortcut / ceiling. */
  flagged: Record<string, string[]>;
}

export interface SuiteRanking {
  suite: string;
  headline: string[];
  standings: Standing[];
  /** Metrics left out of the rank, with why. */
  excluded: { metric: string; why: string }[];
  /** Per metric, the axis points the summaries average over (shared by the measured architectures). */
  points: Record<string, string[]>;
}

/** Flags that say a measurement cannot discriminate: greyed, never badged, never ranked. */
export const NOT_DISCRIMINATING = new Set(['floor', 'ceiling', 'shortcut']);
export const discriminates = (c: Cell): boolean => !c.flags.some((f) => NOT_DISCRIMINATING.has(f));

/** Competition ranks of values (1 = best): equal values share the best rank, the next rank skips (1, 1, 1, 4). */
export function ranks(values: Map<string, number>, direction: Direction): Map<string, number> {
  const sorted = [...values.entries()].sort((x, y) => (direction === 'lower' ? x[1] - y[1] : y[1] - x[1]));
  const out = new Map<string, number>();
  sorted.forEach(([k, v], i) => out.set(k, i > 0 && v === sorted[i - 1]![1] ? out.get(sorted[i - 1]![0])! : i + 1));
  return out;
}

export function headlineGroups(groups: MetricGroup[]): MetricGroup[] {
  const eligible = groups.filter((g) => !HARNESS_METRICS.has(g.metric) && !isTail(g.metric));
  const declared = eligible.filter((g) => g.info.headline !== undefined);
  const head = eligible.filter((g) => isHeadline(g.info));
  if (head.length || declared.length) return head;
  return eligible.filter((g) => g.info.direction !== 'none' && g.info.kind !== 'bookkeeping' && g.info.kind !== 'count' && !/rss/.test(g.metric));
}

/** Architectures with at least one finite value of a metric. */
export const measuredArchs = (g: MetricGroup): string[] => g.archs.filter((a) => g.cells.some((c) => c.arch === a && c.bySeed.size > 0));

/**
 * Who a metric ranks, and where: architectures whose every measured cell is floor / shortcut / ceiling
 * are left out (flagged); the others are compared at the points they all measured and none of them
 * has flagged.
 */
export function rankable(g: MetricGroup): { archs: string[]; points: string[]; flagged: Map<string, string[]> } {
  const flagged = new Map<string, string[]>();
  const archs = measuredArchs(g).filter((a) => {
    const mine = g.cells.filter((c) => c.arch === a && c.bySeed.size > 0);
    if (mine.some(discriminates)) return true;
    flagged.set(a, [...new Set(mine.flatMap((c) => c.flags.filter((f) => NOT_DISCRIMINATING.has(f))))]);
    return false;
  });
  const flaggedPoints = new Set(g.cells.filter((c) => archs.includes(c.arch) && !discriminates(c)).map((c) => c.axesKey));
  return { archs, points: commonPoints(g, archs).filter((p) => !flaggedPoints.has(p)), flagged };
}

/** Rank architectures within one suite over its headline metrics. */
export function rankSuite(suite: string, groups: MetricGroup[]): SuiteRanking {
  const mine = groups.filter((g) => g.suite === suite);
  const excluded: SuiteRanking['excluded'] = [];
  const archs = [...new Set(mine.flatMap((g) => g.archs))];
  const standings = new Map<string, Standing>(archs.map((a) => [a, { arch: a, score: NaN, rank: NaN, ranks: {}, vsLeader: {}, flagged: {} }]));
  const points: Record<string, string[]> = {};
  for (const g of mine) points[g.metric] = commonPoints(g, measuredArchs(g));
  const headline: string[] = [];
  for (const g of headlineGroups(mine)) {
    const r = rankable(g);
    for (const [a, f] of r.flagged) standings.get(a)!.flagged[g.metric] = f;
    if (!r.archs.length) {
      excluded.push({ metric: g.metric, why: 'every architecture at floor, shortcut or ceiling: not discriminating' });
      continue;
    }
    if (!r.points.length) {
      excluded.push({ metric: g.metric, why: 'no axis point measured by all ranked architectures without a floor / shortcut / ceiling flag' });
      continue;
    }
    headline.push(g.metric);
    points[g.metric] = r.points;
    const series = new Map(r.archs.map((a) => [a, seedSeries(g, a, r.points)]));
    const means = new Map<string, number>();
    for (const [a, s] of series) {
      const st = seriesStats(s);
      if (Number.isFinite(st.mean)) means.set(a, st.mean);
    }
    const rk = ranks(means, g.info.direction);
    const leader = [...rk.entries()].sort((x, y) => x[1] - y[1])[0]?.[0];
    for (const [a, rank] of rk) {
      const st = standings.get(a)!;
      st.ranks[g.metric] = rank;
      if (rank === 1) st.vsLeader[g.metric] = { verdict: 'leader' };
      else {
        const res = pairedCompare(series.get(a)!, series.get(leader!)!, g.info.direction, { exact: g.info.kind === 'memory' || g.info.kind === 'count' });
        st.vsLeader[g.metric] = { verdict: res.verdict === 'tied' ? 'tied' : res.verdict === 'a' ? 'better' : 'worse', result: res };
      }
    }
  }
  for (const st of standings.values()) {
    const rs = Object.values(st.ranks);
    st.score = rs.length ? mean(rs) : NaN;
  }
  const byScore = ranks(new Map([...standings.values()].filter((s) => Number.isFinite(s.score)).map((s) => [s.arch, s.score])), 'lower');
  for (const st of standings.values()) st.rank = byScore.get(st.arch) ?? NaN;
  const sorted = [...standings.values()].sort((x, y) => (Number.isNaN(x.score) ? 1 : Number.isNaN(y.score) ? -1 : x.score - y.score) || x.arch.localeCompare(y.arch));
  return { suite, headline, standings: sorted, excluded, points };
}

export interface OverallStanding {
  arch: string;
  /** Mean over suites of the suite score (each suite weighs the same). */
  score: number;
  rank: number;
  suiteScores: Record<string, number>;
}

export function overallRank(rankings: SuiteRanking[]): OverallStanding[] {
  const archs = [...new Set(rankings.flatMap((r) => r.standings.map((s) => s.arch)))];
  const rows = archs.map((arch) => {
    const suiteScores: Record<string, number> = {};
    for (const r of rankings) {
      const s = r.standings.find((x) => x.arch === arch);
      if (s && Number.isFinite(s.score)) suiteScores[r.suite] = s.score;
    }
    const vals = Object.values(suiteScores);
    return { arch, score: vals.length ? mean(vals) : NaN, rank: 0, suiteScores };
  });
  const r = ranks(new Map(rows.filter((x) => Number.isFinite(x.score)).map((x) => [x.arch, x.score])), 'lower');
  for (const row of rows) row.rank = r.get(row.arch) ?? NaN;
  return rows.sort((x, y) => (Number.isNaN(x.rank) ? 1 : Number.isNaN(y.rank) ? -1 : x.rank - y.rank) || x.arch.localeCompare(y.arch));
}

/** The reports' number formatter (reports/format.ts), under the names the ledger and compare use. */
export { formatNumber as fmt, formatInterval as fmtCi } from './format.ts';
