// The ONE number formatter of the reports: tables, chart labels, claims.md and `compare` all go
// through it. Three significant digits for a value and its interval alike; e-notation for all three
// numbers or for none; human units picked once per value from its magnitude (s / ms / µs / ns,
// B / KiB / MiB / GiB, tokens/s with thousands separators, accuracies as percentages); intervals of
// times, bytes and rates clipped at 0 (none of them can be negative).

export type Quantity = 'time' | 'bytes' | 'rate' | 'percent' | 'plain';

/** How a unit string is shown (the record's unit: "s", "bytes", "tokens/s", "fraction", ...). */
export function quantityOf(unit: string | undefined): Quantity {
  const u = (unit ?? '').trim().toLowerCase();
  if (/^(s|sec|seconds)$/.test(u)) return 'time';
  if (/^(b|bytes)$/.test(u)) return 'bytes';
  if (/\/s$/.test(u)) return 'rate';
  if (u === 'fraction') return 'percent';
  return 'plain';
}

/** Below this (or from BIG on) plain numbers switch to e-notation. */
const SMALL = 1e-4, BIG = 1e9;

/** `x` to 3 significant digits without e-notation (trailing zeros dropped), with thousands separators. */
function plain3(x: number): string {
  if (x === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  const rounded = Number(x.toFixed(Math.min(digits, 20)));
  const big = Math.abs(rounded) >= 1000 ? Number(rounded.toPrecision(3)) : rounded;
  return big.toLocaleString('en-US', { maximumFractionDigits: Math.min(digits, 20), useGrouping: true });
}

const exp3 = (x: number): string => (x === 0 ? '0' : x.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e'));

/** Numbers that share one style: e-notation for all when any non-zero one is outside [1e-4, 1e9). */
function shared(xs: number[]): string[] {
  const sci = xs.some((x) => x !== 0 && (Math.abs(x) < SMALL || Math.abs(x) >= BIG));
  return xs.map((x) => (sci ? exp3(x) : plain3(x)));
}

interface Scale {
  factor: number;
  suffix: string;
}

const TIME: [number, string][] = [[1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns']];
const BYTES: [number, string][] = [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB'], [1, 'B']];

/** The display scale for a magnitude (the value's, or the interval's when the value is 0). */
function scaleFor(q: Quantity, magnitude: number, unit: string): Scale {
  const pick = (table: [number, string][]) => table.find(([f]) => magnitude >= f) ?? table[table.length - 1]!;
  if (q === 'time') {
    const [factor, suffix] = pick(TIME);
    return { factor, suffix: ` ${suffix}` };
  }
  if (q === 'bytes') {
    const [factor, suffix] = pick(BYTES);
    return { factor, suffix: ` ${suffix}` };
  }
  if (q === 'percent') return { factor: 0.01, suffix: '%' };
  if (q === 'rate') return { factor: 1, suffix: ` ${unit}` };
  return { factor: 1, suffix: '' };
}

/** The unit a chart axis of this quantity is drawn in, for values of about this magnitude: divide by `factor`. */
export function displayUnit(unit: string, magnitude: number): { factor: number; unit: string } {
  const q = quantityOf(unit);
  if (q !== 'time' && q !== 'bytes') return { factor: 1, unit };
  const s = scaleFor(q, Math.abs(magnitude), unit);
  return { factor: s.factor, unit: s.suffix.trim() };
}

export interface FormatOptions {
  /** A difference between two values: its interval may cross 0, so it is not clipped. */
  difference?: boolean;
}

/** A value and its interval, formatted together (one scale, one notation): { value: "1.25 ms", interval: "[1.19, 1.37]" }. */
export function formatParts(value: number | null | undefined, unit = '', ci: [number, number] | null | undefined = null, opts: FormatOptions = {}): { value: string; interval: string } {
  if (value === null || value === undefined || !Number.isFinite(value)) return { value: '—', interval: '' };
  const q = quantityOf(unit);
  const clip = !opts.difference && (q === 'time' || q === 'bytes' || q === 'rate');
  const interval = ci && Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? (clip ? [Math.max(0, ci[0]), Math.max(0, ci[1])] : [ci[0], ci[1]]) : null;
  const magnitude = Math.abs(value) || Math.max(...(interval ?? [0]).map(Math.abs));
  const s = scaleFor(q, magnitude, unit);
  const [v, lo, hi] = shared([value, ...(interval ?? [])].map((x) => x / s.factor));
  const pct = q === 'percent' ? '%' : '';
  return { value: `${v}${s.suffix}`, interval: interval ? `[${lo}${pct}, ${hi}${pct}]` : '' };
}

/** A value, with its interval when given: "1.25 ms [1.19, 1.37]", "42.5% [31%, 54.8%]", "5.26 [5.23, 5.29]". */
export function formatValue(value: number | null | undefined, unit = '', ci: [number, number] | null | undefined = null, opts: FormatOptions = {}): string {
  const p = formatParts(value, unit, ci, opts);
  return p.interval ? `${p.value} ${p.interval}` : p.value;
}

/** The unit a table column shows in its header: none for the quantities whose cells carry their own. */
export const headerUnit = (unit: string): string => (quantityOf(unit) === 'plain' ? unit : '');

/** A plain number (no unit): 3 significant digits, e-notation only when tiny or huge. */
export const formatNumber = (v: number | null | undefined): string => formatValue(v);

/** An interval alone, "[lo, hi]", both ends in one style; '' when there is none. */
export function formatInterval(ci: [number, number] | null | undefined): string {
  if (!ci || !Number.isFinite(ci[0]) || !Number.isFinite(ci[1])) return '';
  const [lo, hi] = shared([ci[0], ci[1]]);
  return `[${lo}, ${hi}]`;
}

/** A relative change as a signed percentage: "+12.5%", "-3.1%". */
export const formatChange = (rel: number | null): string => (rel === null || !Number.isFinite(rel) ? '—' : `${rel >= 0 ? '+' : ''}${plain3(rel * 100)}%`);

/** Human words for a snake_case name (axis and metric titles): "decode_latency" -> "decode latency". */
export const words = (name: string): string => name.replace(/_/g, ' ');
