// The claims ledger and the papers' tables, evaluated from a run's records. Each claim holds, fails,
// is inconclusive (its interval reaches both sides), or is not yet measurable (a suite, architecture or
// metric does not exist yet: the reason is given). Nothing is ever skipped silently.
// A verdict needs MIN_SEEDS seeds: with fewer the claim gets 'too few seeds' (the figure is still given).
// A claim that holds by construction (fixture field by_construction, with the reason) is labelled
// 'by construction', never 'holds'; if its check fails, it fails. Every verdict states its seeds and interval.
import { architectureNames } from '../architectures/index.ts';
import type { ResultRecord } from '../harness/store.ts';
import { mean, meanCi, powerLawFit, std } from '../harness/stats.ts';
import { getSuite } from '../suites/index.ts';
import { crossoversFromRecords } from './crossovers.ts';
import { canonical, combineIntervals, fmt, fmtCi, groupRecords, pairedCompare, withinRange, type AxisValue, type PairedResult, type SeedSeries } from './aggregate.ts';
import { formatValue } from './format.ts';
import { candidates, type AxisPick, type Claim, type ClaimCheck, type DimValue, type Paper, type PaperTable } from './papers.ts';
import type { Direction, MetricInfo } from '../suites/interface.ts';

export type Verdict = 'holds' | 'fails' | 'inconclusive' | 'not yet measurable' | 'by construction' | 'too few seeds';

/** Seeds a verdict needs. */
export const MIN_SEEDS = 3;

export interface SideSummary {
  arch: string;
  where?: Record<string, DimValue>;
  n: number;
  mean: number;
  ci95: [number, number] | null;
}

export interface ClaimResult {
  paper: string;
  claim: string;
  text: string;
  verdict: Verdict;
  why: string;
  metric?: string;
  unit?: string;
  a?: SideSummary;
  b?: SideSummary;
  /** The statistic the verdict rests on (difference, ratio, exponent or value) with its interval. */
  statistic?: { name: string; value: number; ci95: [number, number] | null; method: string };
  expected?: string;
  /** The seeds the statistic was computed from. */
  seeds?: number[];
}

interface Availability {
  ok: boolean;
  why?: string;
  metric?: string;
}

/** Can this (suite, metric, archs) be measured now, and which candidate metric name was recorded? */
export function availability(records: ResultRecord[], suite: string, metric: string | string[], archs: string[]): Availability {
  if (!getSuite(suite)) return { ok: false, why: `suite '${suite}' is not registered yet` };
  const missingArchs = archs.filter((a) => !architectureNames().includes(a));
  if (missingArchs.length) return { ok: false, why: `architecture${missingArchs.length > 1 ? 's' : ''} ${missingArchs.map((a) => `'${a}'`).join(', ')} not registered yet` };
  const names = candidates(metric);
  const found = names.find((m) => records.some((r) => r.suite === suite && r.metric === m));
  if (!found) {
    const recorded = [...new Set(records.filter((r) => r.suite === suite).map((r) => r.metric))];
    return { ok: false, why: recorded.length ? `suite '${suite}' recorded no metric ${names.map((m) => `'${m}'`).join(' / ')} (it recorded: ${recorded.join(', ')})` : `suite '${suite}' has no records in this run` };
  }
  const absent = archs.filter((a) => !records.some((r) => r.suite === suite && r.metric === found && r.arch === a));
  if (absent.length) return { ok: false, why: `no '${found}' records for ${absent.join(', ')} in this run`, metric: found };
  return { ok: true, metric: found };
}

interface Point {
  axes: Record<string, AxisValue>;
  bySeed: Map<number, number>;
  ci: Map<number, [number, number]>;
  /** floor / ceiling: the measurement cannot discriminate. */
  flagged?: boolean;
  /** The records' flags at this point (floor, shortcut, extrapolated, ...). */
  flags: string[];
}

interface Side {
  info: MetricInfo;
  unit: string;
  points: Map<string, Point>;
  axes: string[];
  notes: string[];
}

const dimsMatch = (r: ResultRecord, where?: Record<string, DimValue>) => !where || Object.entries(where).every(([k, v]) => r.dims?.[k] === v);

function pick(values: AxisValue[], p: AxisPick): AxisValue | undefined {
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (p === 'max') return nums.length ? Math.max(...nums) : undefined;
  if (p === 'min') return nums.length ? Math.min(...nums) : undefined;
  return values.find((v) => v === p || String(v) === String(p));
}

function restrict(points: Map<string, Point>, sel: Record<string, AxisPick> | undefined, notes: string[]): Map<string, Point> {
  if (!sel) return points;
  let out = points;
  for (const [k, p] of Object.entries(sel)) {
    const vals = [...new Set([...out.values()].map((x) => x.axes[k]).filter((v) => v !== undefined))] as AxisValue[];
    if (!vals.length) {
      notes.push(`'${k}' does not vary in these records; ${k}=${p} not applied`);
      continue;
    }
    const v = pick(vals, p);
    if (v === undefined) {
      notes.push(`no ${k}=${p} among ${vals.join(', ')}`);
      return new Map();
    }
    notes.push(`${k}=${v}`);
    out = new Map([...out].filter(([, x]) => x.axes[k] === v));
  }
  return out;
}

const withoutKeys = (axes: Record<string, AxisValue>, keys: string[]) => Object.fromEntries(Object.entries(axes).filter(([k]) => !keys.includes(k)));

function reduceStat(xs: number[], stat: NonNullable<ClaimCheck['stat_over']>['stat']): number {
  switch (stat) {
    case 'std': return std(xs);
    case 'range': return Math.max(...xs) - Math.min(...xs);
    case 'max': return Math.max(...xs);
    case 'min': return Math.min(...xs);
    default: return mean(xs);
  }
}

/** One side of a check: per axis point, one value per seed, after where / at / relative_to / stat_over. */
function side(records: ResultRecord[], suite: string, metric: string, arch: string, where: Record<string, DimValue> | undefined, c: ClaimCheck | PaperTable): Side | null {
  const rs = records.filter((r) => r.suite === suite && r.metric === metric && r.arch === arch && dimsMatch(r, where));
  if (!rs.length) return null;
  const g = groupRecords(rs)[0]!;
  const notes: string[] = [];
  let points = new Map<string, Point>(g.cells.map((cell) => [cell.axesKey, { axes: cell.axes, bySeed: cell.bySeed, ci: cell.recordCi, flagged: cell.flags.some((f) => f === 'floor' || f === 'ceiling'), flags: cell.flags }]));
  const rel = 'relative_to' in c ? c.relative_to : undefined;
  const relPoints = rel ? restrict(points, rel, []) : null;
  points = restrict(points, c.at, notes);
  if (relPoints && rel) {
    const keys = [...Object.keys(c.at ?? {}), ...Object.keys(rel)];
    const byRest = new Map([...relPoints.values()].map((p) => [canonical(withoutKeys(p.axes, keys)), p]));
    const out = new Map<string, Point>();
    for (const [k, p] of points) {
      const base = byRest.get(canonical(withoutKeys(p.axes, keys)));
      if (!base) continue;
      const bySeed = new Map<number, number>();
      for (const [s, v] of p.bySeed) if (base.bySeed.has(s)) bySeed.set(s, v / base.bySeed.get(s)!);
      out.set(k, { axes: p.axes, bySeed, ci: new Map(), flagged: p.flagged || base.flagged, flags: [...new Set([...p.flags, ...base.flags])] });
    }
    notes.push(`relative to ${Object.entries(rel).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    points = out;
  }
  const so = 'stat_over' in c ? c.stat_over : undefined;
  if (so) {
    const grouped = new Map<string, Point[]>();
    for (const p of points.values()) {
      const k = canonical(withoutKeys(p.axes, [so.dim]));
      grouped.set(k, [...(grouped.get(k) ?? []), p]);
    }
    const out = new Map<string, Point>();
    for (const [k, ps] of grouped) {
      const seeds = [...new Set(ps.flatMap((p) => [...p.bySeed.keys()]))].filter((s) => ps.every((p) => p.bySeed.has(s)));
      out.set(k, { axes: withoutKeys(ps[0]!.axes, [so.dim]), bySeed: new Map(seeds.map((s) => [s, reduceStat(ps.map((p) => p.bySeed.get(s)!), so.stat)])), ci: new Map(), flagged: ps.some((p) => p.flagged), flags: [...new Set(ps.flatMap((p) => p.flags))] });
    }
    notes.push(`${so.stat} over ${so.dim}`);
    points = out;
  }
  // A point no seed measured (every value non-finite, e.g. a length the task does not fit) is no point.
  points = new Map([...points].filter(([, p]) => p.bySeed.size > 0));
  // Flags that qualify a figure without voiding it (an extrapolated fit, an accuracy at its shortcut) are named.
  const qualifiers = [...new Set([...points.values()].flatMap((p) => p.flags))].filter((f) => !['floor', 'ceiling', 'not_run'].includes(f));
  if (qualifiers.length) notes.push(`flagged in the records: ${qualifiers.join(', ')}`);
  // Key points by their axes minus the ones pinned, so the two sides line up.
  const pinned = [...Object.keys(c.at ?? {}), ...Object.keys(rel ?? {})];
  const rekeyed = new Map([...points.values()].map((p) => [canonical(withoutKeys(p.axes, pinned)), p]));
  return { info: g.info, unit: g.unit, points: rekeyed, axes: g.axes, notes };
}

function seriesOver(s: Side, keys: string[]): SeedSeries {
  const values = new Map<number, number>(), ci = new Map<number, [number, number]>();
  const ps = keys.map((k) => s.points.get(k)!).filter(Boolean);
  if (!ps.length) return { values, ci };
  const seeds = [...new Set(ps.flatMap((p) => [...p.bySeed.keys()]))].sort((a, b) => a - b);
  for (const seed of seeds) {
    if (!ps.every((p) => p.bySeed.has(seed))) continue;
    const v = mean(ps.map((p) => p.bySeed.get(seed)!));
    values.set(seed, v);
    if (ps.every((p) => p.ci.has(seed))) ci.set(seed, combineIntervals(ps.map((p) => [p.bySeed.get(seed)!, p.ci.get(seed)!])));
  }
  return { values, ci };
}

function summary(arch: string, where: Record<string, DimValue> | undefined, s: SeedSeries, unit: string): SideSummary {
  const xs = [...s.values.values()];
  if (xs.length >= 2) {
    const m = meanCi(xs);
    return { arch, where, n: xs.length, mean: m.mean, ci95: withinRange(m.ci95, unit) };
  }
  return { arch, where, n: xs.length, mean: xs[0] ?? NaN, ci95: (s.ci && [...s.ci.values()][0]) ?? null };
}

/** Back from the log scale: the geometric mean and its interval. */
const geometric = (s: SideSummary): SideSummary => ({ ...s, mean: Math.exp(s.mean), ci95: s.ci95 ? [Math.exp(s.ci95[0]), Math.exp(s.ci95[1])] : null });

/** Against max / min bounds: holds if the interval is inside, fails if it is entirely outside, else inconclusive. */
function bounded(value: number, ci: [number, number] | null, c: ClaimCheck): { verdict: Verdict; expected: string } {
  const expected = [c.min !== undefined ? `>= ${fmt(c.min)}` : '', c.max !== undefined ? `<= ${fmt(c.max)}${c.max_per_layer !== undefined ? ` (${c.max_per_layer}/L)` : ''}` : ''].filter(Boolean).join(' and ');
  const [lo, hi] = ci ?? [value, value];
  if (!ci) return { verdict: 'inconclusive', expected };
  const inside = (c.max === undefined || hi <= c.max) && (c.min === undefined || lo >= c.min);
  const outside = (c.max !== undefined && lo > c.max) || (c.min !== undefined && hi < c.min);
  return { verdict: inside ? 'holds' : outside ? 'fails' : 'inconclusive', expected };
}

/** No sampling noise: counted bytes and counts, or a check that declares `exact`. */
const deterministic = (info: MetricInfo, c: ClaimCheck) => Boolean(c.exact) || info.kind === 'memory' || info.kind === 'count';

/** A side's name in the ledger: the architecture, plus the dims where its selection differs from the other side's (the same architecture before and after, say). */
function sideLabel(arch: string, where: Record<string, DimValue> | undefined, other: Record<string, DimValue> | undefined): string {
  const own = Object.entries(where ?? {}).filter(([k, v]) => other?.[k] !== v);
  return own.length ? `${arch} (${own.map(([k, v]) => `${k}=${v}`).join(', ')})` : arch;
}

/** Evaluate one claim against the run's records. */
export interface EvalContext {
  /** The preset's layer count (manifest preset.size.layers), for max_per_layer bounds. */
  layers?: number;
}

/** The measurement behind a claim: its statistic, interval and the verdict the numbers give. */
function measureClaim(paper: Paper, claim: Claim, records: ResultRecord[], ctx: EvalContext): ClaimResult {
  const base = { paper: paper.id, claim: claim.id, text: claim.text };
  if (!claim.check) return { ...base, verdict: 'not yet measurable', why: claim.unmeasurable ?? 'no check defined' };
  let c = claim.check;
  if (c.max_per_layer !== undefined) {
    if (!ctx.layers) return { ...base, verdict: 'inconclusive', why: 'the bound depends on the number of layers, which this run\'s manifest does not give' };
    c = { ...c, max: c.max_per_layer / ctx.layers };
  }
  const vs = c.vs ?? c.arch;
  const archs = c.kind === 'compare' || (c.kind === 'ratio' && (c.vs || c.vs_where)) ? [...new Set([c.arch, vs])] : [c.arch];
  const av = availability(records, c.suite, c.metric, archs);
  if (!av.ok) return { ...base, verdict: 'not yet measurable', why: av.why!, metric: av.metric };
  const metric = av.metric!;
  const a = side(records, c.suite, metric, c.arch, c.where, c);
  if (!a) return { ...base, verdict: 'not yet measurable', why: `no '${metric}' records for ${c.arch}${c.where ? ` where ${JSON.stringify(c.where)}` : ''}`, metric };
  const direction: Direction = c.better ?? a.info.direction;
  const unit = c.relative_to ? 'ratio' : a.unit;
  const noteText = () => (a.notes.length ? ` (${a.notes.join('; ')})` : '');

  if (c.kind === 'slope') {
    const xs: number[] = [], ys: number[] = [];
    for (const p of a.points.values()) {
      const x = p.axes[c.dim!];
      if (typeof x !== 'number') continue;
      for (const v of p.bySeed.values()) {
        xs.push(x);
        ys.push(v);
      }
    }
    const distinct = new Set(xs).size;
    if (distinct < 2) return { ...base, verdict: 'not yet measurable', why: `'${metric}' has fewer than two values of '${c.dim}' for ${c.arch}`, metric };
    const allEqual = ys.every((y) => y === ys[0]);
    const f = allEqual ? { exponent: 0, ci95: [0, 0] as [number, number], n: xs.length } : powerLawFit(xs, ys);
    const ci = allEqual ? f.ci95 : f.n > 2 ? f.ci95 : null;
    const { verdict, expected } = bounded(f.exponent, ci, c);
    const seeds = [...new Set([...a.points.values()].flatMap((p) => [...p.bySeed.keys()]))].sort((x, y) => x - y);
    return { ...base, verdict, metric, unit, seeds, expected: `exponent ${expected}`,
      statistic: { name: `power-law exponent against ${c.dim}`, value: f.exponent, ci95: ci, method: allEqual ? 'identical at every length' : `least squares on log-log over ${f.n} points` },
      why: `exponent ${fmt(f.exponent)} ${ci ? fmtCi(ci) : '(two points: no interval)'}${noteText()}` };
  }

  if (c.kind === 'threshold') {
    const s = seriesOver(a, [...a.points.keys()]);
    if (c.log && [...s.values.values()].some((v) => !(v > 0))) return { ...base, verdict: 'inconclusive', metric, why: `'${metric}' is not positive for every seed: no geometric mean${noteText()}` };
    const sum = c.log ? geometric(summary(c.arch, c.where, { values: new Map([...s.values].map(([k, v]) => [k, Math.log(v)])) }, 'log')) : summary(c.arch, c.where, s, unit);
    const ci = sum.ci95 ?? (deterministic(a.info, c) ? [sum.mean, sum.mean] as [number, number] : null);
    const { verdict, expected } = bounded(sum.mean, ci, c);
    return { ...base, verdict, metric, unit, a: sum, seeds: [...s.values.keys()].sort((x, y) => x - y), expected: `value ${expected}`, statistic: { name: c.log ? 'geometric mean' : 'value', value: sum.mean, ci95: ci, method: ci ? (sum.ci95 ? (c.log ? 't interval over seeds on the log scale' : 'interval over seeds / items') : 'deterministic') : 'one seed, no interval' },
      why: `${fmt(sum.mean)} ${fmtCi(ci)}${ci ? '' : ' (one seed, no interval)'}${noteText()}` };
  }

  const b = side(records, c.suite, metric, vs, c.vs_where ?? c.where, c);
  if (!b) return { ...base, verdict: 'not yet measurable', why: `no '${metric}' records for ${vs}${c.vs_where ? ` where ${JSON.stringify(c.vs_where)}` : ''}`, metric };
  const shared = [...a.points.keys()].filter((k) => b.points.has(k)).sort();
  if (!shared.length) return { ...base, verdict: 'not yet measurable', why: `${c.arch} and ${vs} share no measured point of '${metric}'`, metric };
  // Points at floor or ceiling on either side cannot discriminate: left out, and said so.
  const common = shared.filter((k) => !a.points.get(k)!.flagged && !b.points.get(k)!.flagged);
  if (!common.length) {
    const seeds = [...new Set(shared.flatMap((k) => [...a.points.get(k)!.bySeed.keys()].filter((x) => b.points.get(k)!.bySeed.has(x))))].sort((x, y) => x - y);
    return { ...base, verdict: 'inconclusive', metric, seeds, why: `every shared point of '${metric}' is at floor or ceiling on one side or both: not discriminating${noteText()}` };
  }
  if (common.length < shared.length) a.notes.push(`${shared.length - common.length} of ${shared.length} points left out: floor/ceiling`);
  const sa = seriesOver(a, common), sb = seriesOver(b, common);
  const A = summary(c.arch, c.where, sa, unit), B = summary(vs, c.vs_where ?? c.where, sb, unit);
  const exact = deterministic(a.info, c) && !c.relative_to && !c.stat_over;

  if (c.kind === 'ratio') {
    const seeds = [...sa.values.keys()].filter((s) => sb.values.has(s));
    const rs = seeds.map((s) => sa.values.get(s)! / sb.values.get(s)!);
    if (!rs.length) return { ...base, verdict: 'not yet measurable', why: 'no seeds in common', metric };
    let value: number, ci: [number, number] | null, method: string;
    if (rs.length >= 2) {
      const m = meanCi(rs);
      [value, ci, method] = [m.mean, m.ci95, `t interval over ${rs.length} seeds`];
    } else {
      value = rs[0]!;
      const ca = sa.ci?.get(seeds[0]!), cb = sb.ci?.get(seeds[0]!);
      if (ca && cb) {
        const va = sa.values.get(seeds[0]!)!, vb = sb.values.get(seeds[0]!)!;
        const lo = Math.hypot((va - ca[0]) / va, (cb[1] - vb) / vb), hi = Math.hypot((ca[1] - va) / va, (vb - cb[0]) / vb);
        [ci, method] = [[value * (1 - lo), value * (1 + hi)], 'one seed: the records\' intervals (delta method)'];
      } else if (exact) [ci, method] = [[value, value], 'deterministic metric'];
      else [ci, method] = [null, 'one seed, no interval'];
    }
    const { verdict, expected } = bounded(value, ci, c);
    return { ...base, verdict, metric, unit, a: A, b: B, seeds, expected: `${c.arch}/${vs} ${expected}`, statistic: { name: `ratio ${c.arch} / ${vs}`, value, ci95: ci, method },
      why: `ratio ${fmt(value)} ${ci ? fmtCi(ci) : '(no interval: run more --seeds)'}${noteText()}` };
  }

  // compare
  const la = sideLabel(c.arch, c.where, c.vs_where ?? c.where), lb = sideLabel(vs, c.vs_where ?? c.where, c.where);
  const res: PairedResult = pairedCompare(sa, sb, direction, { exact });
  let verdict: Verdict;
  let expected: string;
  const dirWord = direction === 'lower' ? 'lower' : 'higher';
  if (c.expect === 'not_worse') {
    const margin = (c.margin ?? 0) * Math.abs(B.mean);
    expected = `${la} not worse than ${lb} by more than ${fmt(margin)} (${(c.margin ?? 0) * 100}% of ${lb})`;
    // w = how much worse a is than b, with its interval
    const w = res.ci95 ? (direction === 'lower' ? res.ci95 : [-res.ci95[1], -res.ci95[0]] as [number, number]) : null;
    verdict = !w ? 'inconclusive' : w[1] <= margin ? 'holds' : w[0] > margin ? 'fails' : 'inconclusive';
  } else {
    const want = c.expect === 'worse' ? 'b' : 'a';
    expected = `${la} ${c.expect === 'worse' ? 'worse' : 'better'} than ${lb} (${dirWord} is better)`;
    verdict = res.verdict === 'tied' ? 'inconclusive' : res.verdict === want ? 'holds' : 'fails';
  }
  const withCi = (m: number, ci: [number, number] | null) => (ci ? `${fmt(m)} ${fmtCi(ci)}` : fmt(m));
  const why = `${la} ${withCi(A.mean, A.ci95)} vs ${lb} ${withCi(B.mean, B.ci95)}; difference ${withCi(res.diff, res.ci95)} (${res.why})${noteText()}`;
  const seeds = [...sa.values.keys()].filter((x) => sb.values.has(x)).sort((x, y) => x - y);
  return { ...base, verdict, metric, unit, a: A, b: B, seeds, expected, statistic: { name: `difference ${la} - ${lb}`, value: res.diff, ci95: res.ci95, method: res.method }, why };
}

/**
 * Evaluate one claim against the run's records: the measurement (measureClaim), then the ledger's rules:
 * 'by construction' in place of 'holds' where the fixture says so, 'too few seeds' below MIN_SEEDS, and
 * the seeds and interval named in `why`.
 */
export function evaluateClaim(paper: Paper, claim: Claim, records: ResultRecord[], ctx: EvalContext = {}): ClaimResult {
  const r = measureClaim(paper, claim, records, ctx);
  if (r.verdict === 'not yet measurable' || !r.seeds) return r;
  const seeds = r.seeds;
  const used = `seeds ${seeds.length ? seeds.join(', ') : 'none'} (${seeds.length}); interval: ${r.statistic?.method ?? 'none'}`;
  if (claim.by_construction && r.verdict === 'holds') return { ...r, verdict: 'by construction', why: `${r.why}; ${used}; by construction: ${claim.by_construction}` };
  if (seeds.length < MIN_SEEDS) return { ...r, verdict: 'too few seeds', why: `${r.why}; ${used}; no verdict: it needs at least ${MIN_SEEDS} seeds` };
  return { ...r, why: `${r.why}; ${used}` };
}

export interface TableCell {
  mean: number;
  ci95: [number, number] | null;
  n: number;
}

export interface PaperTableResult {
  id: string;
  title: string;
  suite: string;
  metric?: string;
  status: 'ok' | 'not yet measurable';
  why?: string;
  columns: string[];
  rows: { label: string; source: 'ours' | 'paper'; cells: (TableCell | number | null)[] }[];
  notes: string[];
  paper?: PaperTable['paper'];
}

/** A paper's table from the records: our rows (mean [95% interval]) beside the paper's verified rows. */
export function buildTable(t: PaperTable, records: ResultRecord[]): PaperTableResult {
  const base = { id: t.id, title: t.title, suite: t.suite, paper: t.paper, notes: t.note ? [t.note] : [] as string[] };
  const paperCols = t.paper ? [...new Set(t.paper.rows.flatMap((r) => Object.keys(r.values)))] : [];
  const paperRows = (columns: string[]) => (t.paper?.rows ?? []).map((r) => ({ label: r.label, source: 'paper' as const, cells: columns.map((c) => r.values[c] ?? null) }));
  const registered = t.archs.filter((a) => architectureNames().includes(a));
  const av = availability(records, t.suite, t.metric, registered);
  if (!av.ok || !registered.length) {
    const why = !registered.length ? `architectures ${t.archs.join(', ')} not registered yet` : av.why!;
    const columns = t.columns?.map(String) ?? paperCols;
    return { ...base, metric: av.metric, status: 'not yet measurable', why, columns, rows: paperRows(columns) };
  }
  const notes = base.notes;
  const missing = t.archs.filter((a) => !registered.includes(a));
  if (missing.length) notes.push(`not yet registered: ${missing.join(', ')}`);
  const metric = av.metric!;
  const sides = registered.map((a) => ({ arch: a, s: side(records, t.suite, metric, a, t.where, t) }));
  for (const { s } of sides) for (const n of s?.notes ?? []) if (!notes.includes(n)) notes.push(n);
  const by = t.by;
  let columns: string[];
  if (by) {
    const measured = [...new Set(sides.flatMap(({ s }) => [...(s?.points.values() ?? [])].map((p) => p.axes[by])).filter((v) => v !== undefined))] as AxisValue[];
    if (!measured.length) notes.push(`'${by}' does not vary in these records`);
    const sorted = measured.sort((x, y) => (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)))).map(String);
    columns = t.columns ? t.columns.map(String) : sorted.length ? sorted : [metric];
    if (!measured.length) columns = t.columns ? t.columns.map(String) : [metric];
  } else columns = [metric];
  const rows: PaperTableResult['rows'] = sides.map(({ arch, s }) => ({
    label: arch,
    source: 'ours' as const,
    cells: columns.map((col) => {
      if (!s) return null;
      const keys = [...s.points.entries()].filter(([, p]) => {
        if (!by) return true;
        const v = p.axes[by];
        return v === undefined ? col === metric : String(v) === col;
      }).map(([k]) => k);
      if (!keys.length) return null;
      const sm = summary(arch, undefined, seriesOver(s, keys), s.unit);
      return Number.isFinite(sm.mean) ? { mean: sm.mean, ci95: sm.ci95, n: sm.n } : null;
    }),
  }));
  const otherAxes = [...new Set(sides.flatMap(({ s }) => s?.axes ?? []))].filter((a) => a !== by && !Object.keys(t.at ?? {}).includes(a));
  if (otherAxes.length) notes.push(`averaged over ${otherAxes.join(', ')}`);
  return { ...base, metric, status: 'ok', columns, rows: [...rows, ...paperRows(columns)], notes };
}

export interface PaperResult {
  paper: Paper;
  status: 'measured' | 'partly measurable' | 'not yet measurable';
  missing: string[];
  tables: PaperTableResult[];
  claims: ClaimResult[];
}

/** The run's records plus what the report derives from them: efficiency ratios and crossovers against the reference. */
function withDerived(records: ResultRecord[]): ResultRecord[] {
  const derived = crossoversFromRecords(records).map((r): ResultRecord => ({ suite: 'efficiency', params: 0, elapsed_s: 0, time: '', ...r, dims: r.dims ?? {} }));
  return [...records, ...derived];
}

export function evaluatePaper(p: Paper, records: ResultRecord[], ctx: EvalContext = {}): PaperResult {
  const all = p.claims.some((c) => c.check?.suite === 'efficiency') ? withDerived(records) : records;
  const claims = p.claims.map((c) => evaluateClaim(p, c, all, ctx));
  const tables = p.tables.map((t) => buildTable(t, records));
  const measurable = claims.filter((c) => c.verdict !== 'not yet measurable').length;
  const missing = [...new Set([...claims.filter((c) => c.verdict === 'not yet measurable').map((c) => c.why), ...tables.filter((t) => t.status !== 'ok').map((t) => t.why!)])];
  const status = measurable === claims.length && tables.every((t) => t.status === 'ok') ? 'measured' : measurable > 0 || tables.some((t) => t.status === 'ok') ? 'partly measurable' : 'not yet measurable';
  return { paper: p, status, missing, tables, claims };
}

// ---------- Presentation (HTML and Markdown) ----------

/** Where a claim's evidence sits in the leaderboard (its row in the paper's section). */
export const claimAnchor = (paper: string, claim: string): string => `claim-${`${paper}-${claim}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;

/** On the tiny preset (a smoke test) a measured verdict is not shown as one. */
export const shownVerdict = (v: Verdict, preset: string | undefined): string => (preset === 'tiny' && v !== 'not yet measurable' ? 'smoke run: no verdict' : v);

/** The ledger's one-line count: "25 claims: 6 hold, ..." or, on tiny, "smoke run: no verdict (...)". */
export function verdictCounts(results: PaperResult[], preset: string | undefined): string {
  const claims = results.flatMap((r) => r.claims);
  const count = (v: Verdict) => claims.filter((c) => c.verdict === v).length;
  const unmeasurable = count('not yet measurable');
  if (preset === 'tiny') return `smoke run: no verdict (${claims.length - unmeasurable} of ${claims.length} claims evaluated on preset tiny, which only checks that the pipeline runs; ${unmeasurable} not yet measurable)`;
  return `${claims.length} claims: ${count('holds')} hold, ${count('fails')} fail, ${count('inconclusive')} inconclusive, ${count('by construction')} by construction, ` +
    `${count('too few seeds')} too few seeds (a verdict needs ${MIN_SEEDS}), ${unmeasurable} not yet measurable`;
}

/** Markdown table text: pipes and newlines escaped, comparison signs as ≤ ≥, other angle brackets backslash-escaped. */
const mdEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/<=/g, '≤').replace(/>=/g, '≥').replace(/[<>]/g, (ch) => `\\${ch}`).replace(/\n/g, ' ');

export const cellText = (c: TableCell | number | null): string =>
  c === null ? '—' : typeof c === 'number' ? formatValue(c) : formatValue(c.mean, '', c.ci95);

export function tableMarkdown(t: PaperTableResult): string {
  const lines = [`### ${mdEscape(t.title)}`, ''];
  if (t.status !== 'ok') lines.push(`**Not yet measurable:** ${mdEscape(t.why ?? '')}`, '');
  if (t.rows.length) {
    lines.push(`| model | ${t.columns.map(mdEscape).join(' | ')} |`, `|---|${t.columns.map(() => '---:').join('|')}|`);
    for (const r of t.rows) lines.push(`| ${mdEscape(r.label)}${r.source === 'ours' ? ' (ours)' : ''} | ${r.cells.map((c) => mdEscape(cellText(c))).join(' | ')} |`);
    lines.push('');
  }
  const notes = [t.metric ? `metric \`${t.metric}\` (suite ${t.suite}); ours: mean [95% interval]` : '', ...t.notes,
    t.paper ? `paper rows: ${t.paper.scale ?? ''}; source ${t.paper.source}${t.paper.note ? `. ${t.paper.note}` : ''}` : ''].filter(Boolean);
  if (notes.length) lines.push(...notes.map((n) => `- ${mdEscape(n)}`), '');
  return lines.join('\n');
}

/** The run a ledger or paper page was measured on. */
export interface Provenance {
  preset?: string;
  seeds?: number;
  backend?: string;
  commit?: string;
}

const provenanceLine = (m: Provenance) => `Preset ${m.preset ?? '?'}, ${m.seeds ?? '?'} seed(s), backend ${m.backend ?? '?'}, commit ${m.commit ?? 'unknown'}.`;

export function ledgerMarkdown(results: PaperResult[], meta: Provenance): string {
  const lines = ['# Claims ledger', '', `${provenanceLine(meta)} ${verdictCounts(results, meta.preset)}.`,
    'A claim holds or fails only when its interval excludes the other side; otherwise it is inconclusive. Trends at our scale, never the papers\' absolute numbers.', '',
    '| paper | claim | verdict | measured | expected |', '|---|---|---|---|---|'];
  for (const r of results) for (const c of r.claims) lines.push(`| ${mdEscape(r.paper.short)} | ${mdEscape(c.text)} | **${shownVerdict(c.verdict, meta.preset)}** | ${mdEscape(c.why)} | ${mdEscape(c.expected ?? '')} |`);
  return `${lines.join('\n')}\n`;
}

export function paperMarkdown(r: PaperResult, meta: Provenance = {}): string {
  const p = r.paper;
  const lines = [`# ${mdEscape(p.title)}`, '', mdEscape(p.summary), '', `Sources: ${p.sources.map(mdEscape).join('; ')}`, '', `Measured on: ${mdEscape(provenanceLine(meta))} Status: **${r.status}**`, ''];
  if (r.missing.length) lines.push('Not yet measurable:', ...r.missing.map((m) => `- ${mdEscape(m)}`), '');
  lines.push('## Claims', '', '| claim | verdict | measured |', '|---|---|---|');
  for (const c of r.claims) lines.push(`| ${mdEscape(c.text)} | **${shownVerdict(c.verdict, meta.preset)}** | ${mdEscape(c.why)} |`);
  lines.push('', '## Tables', '');
  for (const t of r.tables) lines.push(tableMarkdown(t));
  return `${lines.join('\n')}\n`;
}
