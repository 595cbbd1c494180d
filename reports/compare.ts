// `archbench compare BASELINE CURRENT`: each metric's change, judged against noise.
//   quality (accuracy, bpb, ...): the seeds' 95% intervals (or the records' own ci95 with one seed). A
//     regression needs the current mean outside the baseline's interval on the worse side AND the
//     baseline mean outside the current one's (the two runs separate); with no interval on either side,
//     a small relative band (--band, default 2%) stands in for noise.
//   latency, memory, throughput: a relative threshold (--threshold, default 10%) on the mean.
//   counts, informational and bookkeeping metrics (wall time) are listed, never judged.
// Points at floor, shortcut or ceiling are not discriminating and are never a regression.
import type { ResultRecord } from '../harness/store.ts';
import { detectAxes, groupRecords, NOT_DISCRIMINATING, type Cell } from './aggregate.ts';
import { formatChange, formatParts, formatValue } from './format.ts';
import type { Direction, MetricKind } from '../suites/interface.ts';

export interface CompareOptions {
  /** Relative threshold for latency / memory / throughput (0.1 = 10%). */
  threshold: number;
  /** Relative band for quality metrics with no interval on either side. */
  band: number;
}

export const DEFAULT_COMPARE: CompareOptions = { threshold: 0.1, band: 0.02 };

export type CompareVerdict = 'regression' | 'improvement' | 'ok' | 'changed' | 'info' | 'missing' | 'new';

export interface Side {
  mean: number;
  ci95: [number, number] | null;
  n: number;
}

export interface MetricComparison {
  suite: string;
  metric: string;
  unit: string;
  arch: string;
  point: string;
  kind: MetricKind;
  direction: Direction;
  baseline: Side | null;
  current: Side | null;
  /** (current - baseline) / |baseline|. */
  change: number | null;
  verdict: CompareVerdict;
  rule: string;
}

export interface CompareResult {
  comparisons: MetricComparison[];
  regressions: number;
  improvements: number;
  counts: Record<CompareVerdict, number>;
  warnings: string[];
  options: CompareOptions;
}

const sideOf = (c: Cell | undefined): Side | null => (c && Number.isFinite(c.mean) ? { mean: c.mean, ci95: c.ci95, n: c.n } : null);
const pointOf = (c: Cell) => Object.entries(c.axes).map(([k, v]) => `${k}=${v}`).join(', ');

/** Is `x` worse than `y` under the direction? */
const worseThan = (d: Direction, x: number, y: number) => (d === 'lower' ? x > y : d === 'higher' ? x < y : false);

function judge(kind: MetricKind, direction: Direction, unit: string, b: Side, c: Side, flagged: boolean, o: CompareOptions): { verdict: CompareVerdict; rule: string } {
  const rel = b.mean === 0 ? (c.mean === 0 ? 0 : Infinity) : (c.mean - b.mean) / Math.abs(b.mean);
  if (kind === 'bookkeeping' || kind === 'info' || kind === 'count' || direction === 'none') {
    return { verdict: c.mean === b.mean ? 'info' : 'changed', rule: `${kind}: listed, not judged` };
  }
  if (flagged) return { verdict: 'ok', rule: 'floor/ceiling: not discriminating' };
  const worse = worseThan(direction, c.mean, b.mean);
  const better = worseThan(direction, b.mean, c.mean);
  if (kind === 'quality') {
    if (b.ci95 || c.ci95) {
      const outsideB = b.ci95 ? (direction === 'lower' ? c.mean > b.ci95[1] : c.mean < b.ci95[0]) : true;
      const outsideC = c.ci95 ? (direction === 'lower' ? b.mean < c.ci95[0] : b.mean > c.ci95[1]) : true;
      const improvedB = b.ci95 ? (direction === 'lower' ? c.mean < b.ci95[0] : c.mean > b.ci95[1]) : true;
      const improvedC = c.ci95 ? (direction === 'lower' ? b.mean > c.ci95[1] : b.mean < c.ci95[0]) : true;
      const rule = `95% intervals (baseline ${formatParts(b.mean, unit, b.ci95).interval || 'none'}, current ${formatParts(c.mean, unit, c.ci95).interval || 'none'})`;
      if (worse && outsideB && outsideC) return { verdict: 'regression', rule: `${rule}: separated, worse` };
      if (better && improvedB && improvedC) return { verdict: 'improvement', rule: `${rule}: separated, better` };
      return { verdict: 'ok', rule: `${rule}: within noise` };
    }
    const rule = `no interval (one seed): relative band ${(o.band * 100).toFixed(1)}%`;
    if (worse && Math.abs(rel) > o.band) return { verdict: 'regression', rule };
    if (better && Math.abs(rel) > o.band) return { verdict: 'improvement', rule };
    return { verdict: 'ok', rule };
  }
  const rule = `${kind}: relative threshold ${(o.threshold * 100).toFixed(1)}%`;
  if (worse && Math.abs(rel) > o.threshold) return { verdict: 'regression', rule };
  if (better && Math.abs(rel) > o.threshold) return { verdict: 'improvement', rule };
  return { verdict: 'ok', rule };
}

export function compareRuns(baseline: ResultRecord[], current: ResultRecord[], opts: Partial<CompareOptions> = {}): CompareResult {
  const o = { ...DEFAULT_COMPARE, ...opts };
  const warnings: string[] = [];
  const uniq = (rs: ResultRecord[], f: (r: ResultRecord) => string) => [...new Set(rs.map(f))].sort().join(', ');
  for (const [what, f] of [['preset', (r: ResultRecord) => r.preset], ['backend', (r: ResultRecord) => r.backend]] as const) {
    const a = uniq(baseline, f), b = uniq(current, f);
    if (a !== b) warnings.push(`${what} differs: baseline ${a}, current ${b}`);
  }
  // Axes from both runs together, so a point means the same on both sides.
  const axesFor = new Map<string, string[]>();
  const keys = new Set([...baseline, ...current].map((r) => `${r.suite}\u0000${r.metric}`));
  for (const k of keys) {
    const [suite, metric] = k.split('\u0000') as [string, string];
    const pick = (rs: ResultRecord[]) => rs.filter((r) => r.suite === suite && r.metric === metric);
    axesFor.set(k, [...new Set([...detectAxes(pick(baseline)), ...detectAxes(pick(current))])]);
  }
  const axes = (suite: string, metric: string) => axesFor.get(`${suite}\u0000${metric}`);
  const index = (rs: ResultRecord[]) => {
    const m = new Map<string, { cell: Cell; info: ReturnType<typeof groupRecords>[number]['info'] }>();
    for (const g of groupRecords(rs, { axes })) for (const c of g.cells) m.set(`${c.suite}|${c.metric}|${c.arch}|${c.axesKey}`, { cell: c, info: g.info });
    return m;
  };
  const B = index(baseline), C = index(current);
  const comparisons: MetricComparison[] = [];
  for (const k of [...new Set([...B.keys(), ...C.keys()])]) {
    const b = B.get(k), c = C.get(k);
    const any = (b ?? c)!;
    const base = { suite: any.cell.suite, metric: any.cell.metric, unit: any.cell.unit, arch: any.cell.arch, point: pointOf(any.cell), kind: any.info.kind, direction: any.info.direction };
    const bs = sideOf(b?.cell), cs = sideOf(c?.cell);
    if (!bs && !cs && b && c) {
      comparisons.push({ ...base, baseline: bs, current: cs, change: null, verdict: 'info', rule: 'no finite value on either side (not measured)' });
      continue;
    }
    if (!bs || !cs) {
      comparisons.push({ ...base, baseline: bs, current: cs, change: null, verdict: bs ? 'missing' : 'new', rule: bs ? 'in the baseline only' : 'in the current run only' });
      continue;
    }
    const flagged = [...(b!.cell.flags), ...(c!.cell.flags)].some((f) => NOT_DISCRIMINATING.has(f));
    const { verdict, rule } = judge(base.kind, base.direction, base.unit, bs, cs, flagged, o);
    const change = bs.mean === 0 ? (cs.mean === 0 ? 0 : null) : (cs.mean - bs.mean) / Math.abs(bs.mean);
    comparisons.push({ ...base, baseline: bs, current: cs, change, verdict, rule });
  }
  const order: CompareVerdict[] = ['regression', 'improvement', 'missing', 'new', 'changed', 'ok', 'info'];
  comparisons.sort((x, y) => order.indexOf(x.verdict) - order.indexOf(y.verdict) || x.suite.localeCompare(y.suite) || x.metric.localeCompare(y.metric) || x.arch.localeCompare(y.arch) || x.point.localeCompare(y.point));
  const counts = Object.fromEntries(order.map((v) => [v, comparisons.filter((c) => c.verdict === v).length])) as Record<CompareVerdict, number>;
  if (counts.missing) warnings.push(`${counts.missing} measurement(s) in the baseline are missing from the current run`);
  return { comparisons, regressions: counts.regression, improvements: counts.improvement, counts, warnings, options: o };
}

/** The text table: every judged row that is not 'ok' / 'info' (all rows with `all`). */
export function compareText(r: CompareResult, all = false): string {
  const rows = r.comparisons.filter((c) => all || !['ok', 'info'].includes(c.verdict));
  const lines: string[] = [];
  const head = ['verdict', 'suite', 'metric', 'arch', 'point', 'baseline', 'current', 'change', 'rule'];
  const body = rows.map((c) => [
    c.verdict.toUpperCase(), c.suite, `${c.metric}${c.unit ? ` (${c.unit})` : ''}`, c.arch, c.point || '-',
    c.baseline ? formatValue(c.baseline.mean, c.unit, c.baseline.ci95) : '-',
    c.current ? formatValue(c.current.mean, c.unit, c.current.ci95) : '-',
    c.change === null ? '-' : formatChange(c.change), c.rule,
  ]);
  if (body.length) {
    const w = head.map((h, i) => Math.min(48, Math.max(h.length, ...body.map((b) => b[i]!.length))));
    lines.push(head.map((h, i) => h.padEnd(w[i]!)).join('  '));
    for (const b of body) lines.push(b.map((x, i) => (i === b.length - 1 ? x : x.padEnd(w[i]!))).join('  '));
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const c = r.counts;
  lines.push(`${r.comparisons.length} measurements: ${c.regression} regression(s), ${c.improvement} improvement(s), ${c.ok} within noise, ${c.changed + c.info} informational, ${c.missing} missing, ${c.new} new` +
    ` (threshold ${(r.options.threshold * 100).toFixed(0)}% for latency/memory/throughput; quality by 95% intervals)`);
  return `${lines.join('\n')}\n`;
}
