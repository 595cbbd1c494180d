// Measured crossovers and cost ratios of each architecture against the reference (harness/models.ts
// REFERENCE_ARCH), computed from a run's efficiency records: for each cost in CROSSOVER_METRICS, at each
// batch size, over the lengths both units measured with the same seed, preset and backend. Only records
// count, so the numbers are the same whatever order or process (resumed, sharded, merged) the units ran
// in. `archbench report` shows them in the efficiency section and writes report/efficiency-crossovers.json
// and .csv (crossoversFile).
import { stringify } from 'csv-stringify/sync';
import { REFERENCE_ARCH } from '../harness/models.ts';
import { powerLawFit } from '../harness/stats.ts';
import { dimColumns, type ResultRecord } from '../harness/store.ts';
import { curvesOf, type Curve } from '../suites/efficiency/fits.ts';
import { linearFit } from '../suites/efficiency/measure.ts';
import { CROSSOVER_METRICS } from '../suites/efficiency/metrics.ts';
import type { Measurement } from '../suites/interface.ts';
import { formatValue } from './format.ts';
import { esc, folded, sortableTable, type Td } from './html.ts';

export interface Crossover {
  /** Length (tokens) from which the architecture stays cheaper than the reference; NaN when not reached. */
  length: number;
  /**
   * 'interpolated': between two measured lengths (log-log); 'below_range': cheaper already at the
   * shortest common length (the value is that length, an upper bound); 'extrapolated': beyond the
   * measured range, from a power law of the ratio; 'not_reached': dearer at every measured length and
   * the ratio does not fall with length.
   */
  kind: 'interpolated' | 'below_range' | 'extrapolated' | 'not_reached';
  note: string;
}

/** A crossover is extrapolated only from a regular trend (R^2 of the ratio's power law) and not far past the data. */
const EXTRAPOLATE_MIN_R2 = 0.9;
const EXTRAPOLATE_MAX_FACTOR = 8;

/**
 * Where `arch` (lower is cheaper) becomes cheaper than `ref` for good, from values at common lengths.
 * Returns null with fewer than one common length.
 */
export function crossover(arch: Map<number, number>, ref: Map<number, number>): Crossover | null {
  const lengths = [...arch.keys()].filter((l) => ref.has(l) && arch.get(l)! > 0 && ref.get(l)! > 0).sort((a, b) => a - b);
  if (lengths.length === 0) return null;
  const ratio = lengths.map((l) => arch.get(l)! / ref.get(l)!);
  const table = lengths.map((l, i) => `${l}: ${ratio[i]!.toFixed(3)}`).join(', ');
  let last = -1; // last index where arch is not cheaper
  ratio.forEach((r, i) => { if (r >= 1) last = i; });
  if (last === -1) return { length: lengths[0]!, kind: 'below_range', note: `cheaper at every common length (ratio vs reference ${table})` };
  if (last < lengths.length - 1) {
    const l0 = Math.log(lengths[last]!), l1 = Math.log(lengths[last + 1]!);
    const r0 = Math.log(ratio[last]!), r1 = Math.log(ratio[last + 1]!);
    const at = r0 === r1 ? l1 : l0 + ((0 - r0) * (l1 - l0)) / (r1 - r0);
    return { length: Math.round(Math.exp(at)), kind: 'interpolated', note: `log-log interpolation between ${lengths[last]} and ${lengths[last + 1]}; ratio vs reference ${table}` };
  }
  let why = 'the ratio does not fall with length';
  if (lengths.length >= 2) {
    const fit = powerLawFit(lengths, ratio);
    const longest = lengths.at(-1)!;
    const law = `ratio ~ ${fit.coefficient.toPrecision(3)} T^${fit.exponent.toFixed(3)} (R^2 ${fit.r2.toFixed(3)})`;
    if (fit.exponent < -0.02) {
      const at = Math.pow(1 / fit.coefficient, 1 / fit.exponent);
      if (fit.r2 >= EXTRAPOLATE_MIN_R2 && at <= EXTRAPOLATE_MAX_FACTOR * longest) {
        return { length: Math.round(at), kind: 'extrapolated', note: `${law} reaches 1 beyond the measured range; ratio ${table}` };
      }
      why = fit.r2 < EXTRAPOLATE_MIN_R2
        ? `the ratio falls but too irregularly to extrapolate (${law}, R^2 below ${EXTRAPOLATE_MIN_R2})`
        : `${law} would reach 1 only near ${at.toPrecision(3)}, beyond ${EXTRAPOLATE_MAX_FACTOR}x the longest common length: not reported`;
    }
  }
  return { length: NaN, kind: 'not_reached', note: `dearer at every common length; ${why} (ratio ${table})` };
}

/** One cost curve per metric of CROSSOVER_METRICS, for one unit. */
type Curves = Map<string, Curve>;

/** Crossover and ratio measurements of `arch` against the reference's curves. */
function compareWithReference(arch: Curves, ref: Curves, reference: string): Measurement[] {
  const out: Measurement[] = [];
  for (const metric of CROSSOVER_METRICS) {
    const axis = metric.startsWith('train_') ? 'seq' : 'context';
    for (const [batch, mine] of arch.get(metric) ?? []) {
      const theirs = ref.get(metric)?.get(batch);
      if (!theirs) continue;
      for (const [len, v] of [...mine].sort((a, b) => a[0] - b[0])) {
        const r = theirs.get(len);
        if (r === undefined || !(r > 0)) continue;
        out.push({ metric: 'ratio_vs_reference', value: v / r, unit: 'ratio', dims: { of: metric, [axis]: len, batch, versus: reference } });
      }
      if (metric === 'state_bytes') {
        const common = [...mine.keys()].filter((l) => theirs.has(l)).sort((a, b) => a - b);
        if (common.length >= 2) {
          const a = linearFit(common, common.map((l) => mine.get(l)!)), r = linearFit(common, common.map((l) => theirs.get(l)!));
          out.push({
            metric: 'state_bytes_per_token_ratio_vs_reference', value: r.slope > 0 ? a.slope / r.slope : NaN, unit: 'ratio', dims: { batch, versus: reference },
            note: `measured slopes over ${common.join(', ')}: ${a.slope.toFixed(1)} B/token (constant ${a.intercept.toFixed(0)} B) vs ${r.slope.toFixed(1)} B/token (constant ${r.intercept.toFixed(0)} B)`,
          });
        }
      }
      const x = crossover(mine, theirs);
      if (!x) continue;
      out.push({
        metric: 'crossover_length', value: x.length, unit: 'tokens', dims: { of: metric, batch, versus: reference },
        flag: x.kind === 'interpolated' ? undefined : x.kind,
        note: `${x.kind}: length from which ${metric} is below the reference's; ${x.note}`,
      });
    }
  }
  return out;
}

/** A crossover or ratio of one unit (arch, seed, preset, backend) against the reference's unit. */
export type CrossoverRow = Measurement & { arch: string; seed: number; preset: string; backend: string };

/**
 * Crossovers and ratios of every efficiency unit against the reference unit with the same seed, preset
 * and backend; a unit whose reference was not measured gets one skipped crossover_length saying so.
 */
export function crossoversFromRecords(records: ResultRecord[], reference = REFERENCE_ARCH): CrossoverRow[] {
  const units = new Map<string, ResultRecord[]>();
  for (const r of records) {
    if (r.suite !== 'efficiency' || r.flag === 'skipped' || !Number.isFinite(r.value) || !CROSSOVER_METRICS.includes(r.metric)) continue;
    const k = [r.arch, r.seed, r.preset, r.backend].join('|');
    if (!units.has(k)) units.set(k, []);
    units.get(k)!.push(r);
  }
  const curves = new Map([...units].map(([k, rs]): [string, Curves] => [k, new Map(CROSSOVER_METRICS.map((m) => [m, curvesOf(rs, m)]))]));
  const out: CrossoverRow[] = [];
  for (const [k, mine] of curves) {
    const { arch, seed, preset, backend } = units.get(k)![0]!;
    if (arch === reference) continue;
    const ref = curves.get([reference, seed, preset, backend].join('|'));
    const measurements: Measurement[] = ref ? compareWithReference(mine, ref, reference) : [{
      metric: 'crossover_length', value: NaN, unit: 'tokens', dims: { of: 'measured', versus: reference }, flag: 'skipped',
      note: `the run holds no measured efficiency records of the reference (${reference}) for seed ${seed}, preset ${preset}, backend ${backend}`,
    }];
    out.push(...measurements.map((m) => ({ arch, seed, preset, backend, ...m })));
  }
  return out;
}

const COLUMNS = ['arch', 'seed', 'preset', 'backend', 'metric', 'value', 'unit', 'flag', 'note'];

/** The rows as report/efficiency-crossovers.json and .csv (dims as dim_<name> columns, like results.csv). */
export function crossoversFile(rows: CrossoverRow[], reference = REFERENCE_ARCH): { json: string; csv: string } {
  const json = `${JSON.stringify({ reference, rows }, null, 2)}\n`;
  const dims = dimColumns(rows.map((r) => r.dims));
  const csv = stringify(rows.map((r) => [r.arch, r.seed, r.preset, r.backend, r.metric, Number.isFinite(r.value) ? r.value : '', r.unit,
    r.flag ?? '', r.note ?? '', ...dims.values(r.dims)]), { header: true, columns: [...COLUMNS, ...dims.columns] });
  return { json, csv };
}

const TABLE_COLUMNS = [{ head: 'architecture' }, { head: 'seed' }, { head: 'metric' }, { head: 'point' }, { head: 'value' }, { head: 'unit' }, { head: 'flag / note' }];

function cells(r: CrossoverRow): Td[] {
  const point = Object.entries(r.dims ?? {}).filter(([k]) => k !== 'versus').map(([k, v]) => `${k}=${v}`).join(', ');
  return [
    { html: esc(r.arch), sort: r.arch }, { html: esc(r.seed), sort: r.seed, num: true }, { html: esc(r.metric), sort: r.metric },
    { html: esc(point), sort: point }, { html: esc(formatValue(r.value, r.unit)), sort: r.value, num: true }, { html: esc(r.unit) },
    { html: esc(r.note?.startsWith(`${r.flag}:`) ? r.note : [r.flag, r.note].filter(Boolean).join(': ')) },
  ];
}

/** The crossover table of the leaderboard's efficiency section, with the per-point ratios folded below it. */
export function crossoversHtml(rows: CrossoverRow[], reference = REFERENCE_ARCH): string {
  const ratios = rows.filter((r) => r.metric === 'ratio_vs_reference');
  const main = rows.filter((r) => r.metric !== 'ratio_vs_reference');
  return `<h3 id="efficiency-crossovers">Crossovers against the reference (${esc(reference)})</h3>
${sortableTable('table-efficiency-crossovers', TABLE_COLUMNS, main.map(cells))}
<p class="note">Computed by the report from the records of each unit and of the reference unit with the same seed, preset and backend, whatever order or process they ran in: the length from which a cost stays below the reference's, and the measured state bytes per token over the reference's. Analytic ones (of=state_bytes_analytic) are the suite's own records. Also in efficiency-crossovers.json and .csv beside this page.</p>
${folded(`Cost over the reference's at each measured point (${ratios.length})`, sortableTable('table-efficiency-ratios', TABLE_COLUMNS, ratios.map(cells)), 'ratios')}`;
}
