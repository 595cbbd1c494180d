// Progress: a bar on a terminal; plain lines (at most one per 10 s or 10%) when not a TTY or in CI.
export class Progress {
  private readonly tty: boolean;
  private lastLine = 0;
  private lastFrac = -1;
  private readonly t0 = performance.now();

  /** `from`: the count already done when it starts (a resumed run), left out of the rate behind the ETA. */
  constructor(private readonly label: string, private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr, private readonly from = 0) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
  }

  private done = 0;

  update(done: number, info: Record<string, string | number> = {}): void {
    this.done = done;
    const frac = Math.min(1, done / this.total);
    const elapsed = (performance.now() - this.t0) / 1000;
    const doneHere = done - this.from;
    const eta = doneHere > 0 ? (elapsed * (this.total - done)) / doneHere : 0;
    const fields = Object.entries(info).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join('  ');
    if (this.tty) {
      const width = 24, fill = Math.round(frac * width);
      this.out.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${this.total}  ${fields}  ETA ${eta.toFixed(0)}s\x1b[K`);
      if (done >= this.total) this.out.write('\n');
      return;
    }
    const now = performance.now();
    if (done >= this.total || now - this.lastLine > 10000 || frac - this.lastFrac >= 0.1) {
      this.out.write(`${this.label} ${done}/${this.total} ${fields} elapsed ${elapsed.toFixed(0)}s eta ${eta.toFixed(0)}s\n`);
      this.lastLine = now;
      this.lastFrac = frac;
    }
  }

  /** A closing line (after a bar left unfinished by an early stop, on a line of its own). */
  end(message: string): void {
    if (this.tty && this.done < this.total) this.out.write('\n');
    this.out.write(`${this.label}: ${message}\n`);
  }
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));

export const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** A duration for people: "40s", "12m", "1h40m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m}m` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Whole-run progress, one line per unit: `unit 7/90 · perplexity / retnet / seed 1 · elapsed 12m · ETA 1h40m`
 * (preceded by a bar on a terminal). The ETA sums, over the units left, the mean measured time of the
 * units of the same suite this session (of all units while a suite has none measured yet), divided by the
 * number of units that run at once beside each (--jobs); no ETA before any unit was measured.
 */
export class RunProgress {
  private readonly tty: boolean;
  private readonly t0 = performance.now();
  private readonly times = new Map<string, number[]>();

  /** `units`: the suite of each unit in plan order; `recorded`: whether each is already recorded. */
  /** `atOnce`: how many units run at once beside each unit (--jobs; 1 for a unit that runs alone; all 1 by default). */
  constructor(private readonly units: { suite: string }[], private readonly recorded: boolean[], private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly atOnce: number[] = units.map(() => 1)) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
  }

  /** The line for starting unit `index` (0-based in the plan). */
  line(index: number, label: string): string {
    const parts = [`unit ${index + 1}/${this.units.length}`, label, `elapsed ${formatDuration((performance.now() - this.t0) / 1000)}`];
    const eta = this.eta(index);
    if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
    const text = parts.join(' · ');
    if (!this.tty) return text;
    const width = 20, fill = Math.round((index / this.units.length) * width);
    return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text}`;
  }

  start(index: number, label: string): void {
    this.out.write(`${this.line(index, label)}\n`);
  }

  /** Unit `index` (0-based in the plan) is recorded; it took `seconds`. */
  finished(index: number, seconds: number): void {
    const suite = this.units[index]!.suite;
    this.times.set(suite, [...(this.times.get(suite) ?? []), seconds]);
    this.recorded[index] = true;
  }

  /** Seconds left for the units not yet recorded (from unit `index` on, when one runs at a time), from the measured times; null when none is measured. */
  private eta(index: number): number | null {
    const all = [...this.times.values()].flat();
    if (all.length === 0) return null;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    let left = 0;
    const oneAtATime = this.atOnce.every((n) => n === 1);
    for (let i = oneAtATime ? index : 0; i < this.units.length; i++) {
      if (!this.recorded[i]) left += mean(this.times.get(this.units[i]!.suite) ?? all) / this.atOnce[i]!;
    }
    return left;
  }
}
