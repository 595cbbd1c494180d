// Tables from the icl suite's records (for notes and the report; the claims ledger may use them too):
// the order-robustness table, the paired spread comparison of two architectures, and structured
// against conventional ICL by number of demonstrations. Reads records only; names no architecture.
// From the command line: `archbench analyze icl RUN_DIR [archA archB]` (cli/commands/analyze.ts).
import { mean, pairedBootstrap, std } from '../harness/stats.ts';
import type { ResultRecord } from '../harness/store.ts';

const icl = (rs: ResultRecord[], metric: string) => rs.filter((r) => r.suite === 'icl' && r.metric === metric);
const num = (v: unknown) => Number(v);

export interface OrderRow {
  arch: string;
  demos: number;
  arrangement: string;
  seeds: number;
  mean: number;
  std: number;
  worst: number;
  best: number;
  gap: number;
  pooled: number;
  ci95: [number, number] | null;
  flag: string;
}

/** An architecture's row label: '(own budget)' for the order experiment at its own budget (dims.budget 'own'). */
const label = (r: ResultRecord) => (r.dims.budget === 'own' ? `${r.arch} (own budget)` : r.arch);

/** Per architecture, demonstrations and arrangement: the permutation statistics, averaged over seeds. */
export function orderTable(records: ResultRecord[]): OrderRow[] {
  const rows = new Map<string, OrderRow>();
  const get = (metric: string, r: ResultRecord) => icl(records, metric).filter((x) => x.arch === r.arch && x.dims.demos === r.dims.demos && x.dims.arrangement === r.dims.arrangement && x.dims.budget === r.dims.budget);
  for (const r of icl(records, 'permutation_mean')) {
    const key = `${label(r)}|${r.dims.demos}|${r.dims.arrangement}`;
    if (rows.has(key)) continue;
    const avg = (metric: string) => mean(get(metric, r).map((x) => x.value));
    const pooled = get('icl_accuracy_pooled', r).filter((x) => x.dims.experiment === 'order');
    rows.set(key, {
      arch: label(r), demos: num(r.dims.demos), arrangement: String(r.dims.arrangement), seeds: get('permutation_mean', r).length,
      mean: avg('permutation_mean'), std: avg('permutation_std'), worst: avg('permutation_worst'), best: avg('permutation_best'), gap: avg('permutation_gap'),
      pooled: mean(pooled.map((x) => x.value)), ci95: pooled.length === 1 ? (pooled[0]!.ci95 ?? null) : null,
      flag: [...new Set(pooled.map((x) => x.flag).filter(Boolean))].join(','),
    });
  }
  return [...rows.values()].sort((a, b) => a.arch.localeCompare(b.arch) || a.demos - b.demos || a.arrangement.localeCompare(b.arrangement));
}

/** Within-set standard deviation across permutations, per (seed, demos, arrangement, set), from the cells. */
export function setSpreads(records: ResultRecord[], arch: string, budget?: 'own'): Map<string, number> {
  const cells = new Map<string, number[]>();
  for (const r of icl(records, 'icl_accuracy')) {
    if (r.arch !== arch || r.dims.experiment !== 'order' || r.dims.budget !== budget) continue;
    const key = `${r.seed}|${r.dims.demos}|${r.dims.arrangement}|${r.dims.set}`;
    cells.set(key, [...(cells.get(key) ?? []), r.value]);
  }
  return new Map([...cells].map(([k, v]) => [k, std(v)]));
}

/** Flags of the pooled order cells, per (seed, demos, arrangement): a flagged cell does not discriminate. */
function pooledFlags(records: ResultRecord[], arch: string, budget?: 'own'): Map<string, string> {
  return new Map(icl(records, 'icl_accuracy_pooled').filter((r) => r.arch === arch && r.dims.experiment === 'order' && r.dims.budget === budget && r.flag)
    .map((r) => [`${r.seed}|${r.dims.demos}|${r.dims.arrangement}`, r.flag!]));
}

export interface SpreadComparison {
  scope: string;
  pairs: number;
  /** Pairs left out because either side's pooled cell is flagged (at the ceiling, its spread is 0 by force). */
  excluded: number;
  diff: number;
  ci95: [number, number];
  verdict: string;
}

/**
 * Paired comparison of order spread: a's within-set std minus b's, paired over (seed, demos, arrangement,
 * demonstration set) (the same sets and permutations for both). Pairs whose pooled cell is flagged on either
 * side (floor, ceiling, shortcut) are left out and counted (keepFlagged: kept, for the record). bBudget 'own':
 * b's order experiment at its own budget (matched accuracy), where the suite ran one. Verdict 'a'/'b' = that one's spread is higher;
 * 'tied' when the bootstrap interval of the mean difference contains 0; 'not comparable' when no pair is
 * left. Per arrangement too.
 */
export function spreadComparison(records: ResultRecord[], a: string, b: string, opts: { keepFlagged?: boolean; bBudget?: 'own' } = {}): SpreadComparison[] {
  const sa = setSpreads(records, a), sb = setSpreads(records, b, opts.bBudget);
  const fa = opts.keepFlagged ? new Map() : pooledFlags(records, a), fb = opts.keepFlagged ? new Map() : pooledFlags(records, b, opts.bBudget);
  const cell = (k: string) => k.split('|').slice(0, 3).join('|');
  const keys = [...sa.keys()].filter((k) => sb.has(k)).sort();
  const scopes: [string, (k: string) => boolean][] = [['all', () => true], ['random', (k) => k.split('|')[2] === 'random'], ['clustered', (k) => k.split('|')[2] === 'clustered']];
  return scopes.flatMap(([scope, keep]): SpreadComparison[] => {
    const all = keys.filter(keep);
    if (all.length === 0) return [];
    const ks = all.filter((k) => !fa.has(cell(k)) && !fb.has(cell(k)));
    const excluded = all.length - ks.length;
    if (ks.length === 0) return [{ scope, pairs: 0, excluded, diff: NaN, ci95: [NaN, NaN], verdict: 'not comparable: every pair has a flagged side' }];
    const r = pairedBootstrap(ks.map((k) => sa.get(k)!), ks.map((k) => sb.get(k)!));
    const verdict = r.verdict === 'tied' ? 'tied' : r.verdict === 'a' ? `${a} spread higher` : `${a} spread lower`;
    return [{ scope, pairs: ks.length, excluded, diff: r.diff, ci95: r.ci95, verdict }];
  });
}

export interface ScalingRow {
  arch: string;
  seed: number;
  demos: number;
  mode: string;
  groups: number | string;
  seen: number | string;
  accuracy: number;
  ci95: [number, number] | null;
  std: number;
  flag: string;
}

/** Structured against conventional ICL per architecture, seed and number of demonstrations. */
export function scalingTable(records: ResultRecord[]): ScalingRow[] {
  const out: ScalingRow[] = [];
  const same = (x: ResultRecord, r: ResultRecord) => x.arch === r.arch && x.seed === r.seed && x.dims.demos === r.dims.demos;
  for (const r of icl(records, 'icl_accuracy_pooled').filter((x) => x.dims.experiment === 'scaling')) {
    const sd = icl(records, 'accuracy_std').find((x) => same(x, r) && x.dims.mode === r.dims.mode);
    const structured = r.dims.mode === 'structured';
    const groups = structured ? icl(records, 'structured_groups').find((x) => same(x, r))?.value : 1;
    const seen = structured ? r.dims.demos : icl(records, 'conventional_seen').find((x) => same(x, r))?.value;
    out.push({
      arch: r.arch, seed: r.seed, demos: num(r.dims.demos), mode: String(r.dims.mode), groups: String(groups ?? ''), seen: String(seen ?? ''),
      accuracy: r.value, ci95: r.ci95 ?? null, std: sd?.value ?? NaN, flag: r.flag ?? '',
    });
  }
  return out.sort((a, b) => a.arch.localeCompare(b.arch) || a.demos - b.demos || a.mode.localeCompare(b.mode) || a.seed - b.seed);
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const ci = (c: [number, number] | null) => (c ? `[${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');

export interface IclAnalysis {
  order: OrderRow[];
  /** With two architectures a, b: their paired spread comparison, flagged pairs left out, kept, and b at its own budget. */
  spread?: { a: string; b: string; flaggedLeftOut: SpreadComparison[]; flaggedKept: SpreadComparison[]; bOwnBudget: SpreadComparison[] };
  scaling: ScalingRow[];
}

/** Every table of a run's icl records (the spread comparison when `pair` names two architectures). */
export function iclAnalysis(records: ResultRecord[], pair?: [string, string]): IclAnalysis {
  const spread = pair && {
    a: pair[0], b: pair[1],
    flaggedLeftOut: spreadComparison(records, pair[0], pair[1]),
    flaggedKept: spreadComparison(records, pair[0], pair[1], { keepFlagged: true }),
    bOwnBudget: spreadComparison(records, pair[0], pair[1], { bBudget: 'own' }),
  };
  return { order: orderTable(records), ...(spread ? { spread } : {}), scaling: scalingTable(records) };
}

/** The analysis as markdown tables. */
export function markdown(a: IclAnalysis): string {
  const lines: string[] = [];
  lines.push('| arch | demos | arrangement | mean | std | worst | best | gap | pooled [95% CI] | flag |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const r of a.order) {
    lines.push(`| ${r.arch} | ${r.demos} | ${r.arrangement} | ${f3(r.mean)} | ${f3(r.std)} | ${f3(r.worst)} | ${f3(r.best)} | ${f3(r.gap)} | ${f3(r.pooled)} ${ci(r.ci95)} | ${r.flag} |`);
  }
  if (a.spread) {
    const s = a.spread;
    lines.push('', `Paired spread comparison ${s.a} - ${s.b} (within-set std across permutations; pairs with a flagged pooled cell left out):`, '',
      '| scope | pairs | left out | mean difference | 95% CI | verdict |', '|---|---|---|---|---|---|');
    const row = (c: SpreadComparison, scope: string) => lines.push(`| ${scope} | ${c.pairs} | ${c.excluded} | ${f3(c.diff)} | ${c.pairs ? ci(c.ci95) : ''} | ${c.verdict} |`);
    for (const c of s.flaggedLeftOut) row(c, c.scope);
    for (const c of s.flaggedKept) row(c, `${c.scope}, flagged kept (not discriminating)`);
    for (const c of s.bOwnBudget) row(c, `${c.scope}, ${s.b} at its own budget (matched accuracy)`);
  }
  lines.push('', '| arch | seed | demos | mode | groups | seen | accuracy [95% CI] | std across cells | flag |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of a.scaling) {
    lines.push(`| ${r.arch} | ${r.seed} | ${r.demos} | ${r.mode} | ${r.groups} | ${r.seen} | ${f3(r.accuracy)} ${ci(r.ci95)} | ${f3(r.std)} | ${r.flag} |`);
  }
  return lines.join('\n');
}
