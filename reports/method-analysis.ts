// Methods compared within each architecture (forgetting: plain / real / tree / uniform replay;
// selfimprove: before / after / control / distill), from a run's records: per architecture, the metric by
// method with its interval over seeds, and each declared pair compared over the seeds both methods have
// (aggregate.pairedCompare). What is compared is the suite's declaration (Suite.methods); this module
// names no suite, metric or architecture. From the command line: `archbench analyze SUITE RUN_DIR`.
import type { ResultRecord } from '../harness/store.ts';
import type { Direction, MethodComparisons } from '../suites/interface.ts';
import { NOT_DISCRIMINATING, groupRecords, pairedCompare, type Cell, type PairedResult } from './aggregate.ts';
import { formatValue } from './format.ts';

export interface MethodCell {
  mean: number;
  ci95: [number, number] | null;
  /** Seeds behind the mean. */
  n: number;
  flags: string[];
}

export interface MethodTable {
  metric: string;
  unit: string;
  direction: Direction;
  /** The axis values, in the order the records first give them. */
  columns: string[];
  rows: { arch: string; cells: (MethodCell | null)[] }[];
}

export interface MethodPair {
  arch: string;
  a: string;
  b: string;
  /** a against b: 'better' when a is better under the metric's direction and the interval excludes 0. */
  verdict: 'better' | 'tied' | 'worse';
  result: PairedResult;
  /** Flags (floor, shortcut, ...) of either side: a verdict between non-discriminating cells means little. */
  flags: string[];
}

export interface MethodAnalysis {
  suite: string;
  axis: string;
  seeds: number[];
  tables: MethodTable[];
  pairs: MethodPair[];
}

const order = <T>(xs: T[]): T[] => [...new Set(xs)];

export function methodAnalysis(records: ResultRecord[], suite: string, spec: MethodComparisons): MethodAnalysis {
  const metrics = [spec.metric, ...(spec.also ?? [])];
  const mine = records.filter((r) => r.suite === suite && metrics.includes(r.metric));
  const groups = groupRecords(mine, { axes: () => [spec.axis] });
  const archs = order(mine.map((r) => r.arch));
  const cellOf = (cells: Cell[], arch: string, value: string) => cells.find((c) => c.arch === arch && String(c.axes[spec.axis]) === value);
  const tables: MethodTable[] = [];
  for (const metric of metrics) {
    const g = groups.find((x) => x.metric === metric);
    if (!g) continue;
    const columns = order(mine.filter((r) => r.metric === metric).map((r) => String(r.dims[spec.axis] ?? '')));
    tables.push({
      metric, unit: g.unit, direction: g.info.direction, columns,
      rows: archs.map((arch) => ({
        arch,
        cells: columns.map((col) => {
          const c = cellOf(g.cells, arch, col);
          return c && c.n > 0 ? { mean: c.mean, ci95: c.ci95, n: c.n, flags: c.flags } : null;
        }),
      })),
    });
  }
  const main = groups.find((x) => x.metric === spec.metric);
  const pairs: MethodPair[] = [];
  for (const arch of archs) {
    for (const [a, b] of spec.pairs) {
      const ca = main && cellOf(main.cells, arch, a), cb = main && cellOf(main.cells, arch, b);
      if (!ca || !cb) continue;
      const result = pairedCompare({ values: ca.bySeed, ci: ca.recordCi }, { values: cb.bySeed, ci: cb.recordCi }, main!.info.direction);
      const verdict = result.verdict === 'a' ? 'better' : result.verdict === 'b' ? 'worse' : 'tied';
      pairs.push({ arch, a, b, verdict, result, flags: order([...ca.flags, ...cb.flags].filter((f) => NOT_DISCRIMINATING.has(f))) });
    }
  }
  const seeds = order(mine.map((r) => r.seed)).sort((x, y) => x - y);
  return { suite, axis: spec.axis, seeds, tables, pairs };
}

const cellText = (c: MethodCell | null, unit: string): string =>
  c === null ? '—' : `${formatValue(c.mean, unit, c.ci95)}${c.flags.length ? ` (${c.flags.join(', ')})` : ''}`;

const pairText = (p: MethodPair, unit: string): string => {
  const diff = formatValue(p.result.diff, unit, p.result.ci95);
  return `${p.verdict} (${diff})${p.flags.length ? ` [${p.flags.join(', ')}]` : ''}`;
};

export function methodMarkdown(m: MethodAnalysis): string {
  const seeds = `${m.seeds.length} seed(s): ${m.seeds.join(', ')}`;
  const lines = [`# ${m.suite}: methods by architecture`, '',
    `${seeds}. Cells: mean [95% interval], over seeds when there are 2 or more, else the record's own interval.`, ''];
  for (const t of m.tables) {
    const better = t.direction === 'none' ? '' : ` (${t.direction} is better)`;
    lines.push(`## ${t.metric} by ${m.axis}${better}`, '',
      `| architecture | ${t.columns.map((c) => c || t.metric).join(' | ')} |`, `|---|${t.columns.map(() => '---:').join('|')}|`);
    for (const r of t.rows) lines.push(`| ${r.arch} | ${r.cells.map((c) => cellText(c, t.unit)).join(' | ')} |`);
    lines.push('');
  }
  const main = m.tables[0];
  if (main && m.pairs.length) {
    const heads = order(m.pairs.map((p) => `${p.a} vs ${p.b}`));
    lines.push(`## Paired: ${main.metric}, a − b over the seeds both have; better / tied / worse for a`, '',
      `| architecture | ${heads.join(' | ')} |`, `|---|${heads.map(() => '---').join('|')}|`);
    for (const arch of order(m.pairs.map((p) => p.arch))) {
      const cells = heads.map((h) => {
        const p = m.pairs.find((x) => x.arch === arch && `${x.a} vs ${x.b}` === h);
        return p ? pairText(p, main.unit) : '—';
      });
      lines.push(`| ${arch} | ${cells.join(' | ')} |`);
    }
    const methods = order(m.pairs.map((p) => p.result.method));
    lines.push('', `Intervals of the differences: ${methods.join(', ')}. A verdict in [brackets] sits on non-discriminating cells.`, '');
  }
  return lines.join('\n');
}
