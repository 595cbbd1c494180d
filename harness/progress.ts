// Progress: a bar on a terminal; plain lines (at most one per 10 s or 10%) when not a TTY or in CI.
export class Progress {
  private readonly tty: boolean;
  private lastLine = 0;
  private lastFrac = -1;
  private readonly t0 = performance.now();

  constructor(private readonly label: string, private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
  }

  private done = 0;

  update(done: number, info: Record<string, string | number> = {}): void {
    this.done = done;
    const frac = Math.min(1, done / this.total);
    const elapsed = (performance.now() - this.t0) / 1000;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : 0;
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
