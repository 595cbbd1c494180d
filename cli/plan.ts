// What a run is asked to do (its options) and the units it plans from them, in a fixed order.

export interface RunOptions {
  suites: string[];
  archs: string[];
  preset: string;
  seeds: number;
  out: string;
  corpus: string;
  cacheDir: string;
  match: 'params' | 'none';
  shard?: { index: number; count: number };
  /** Only these architectures for a suite (reproduce: what the papers need); every one of `archs` where absent. */
  pairs?: Record<string, string[]>;
  command: string;
  /** Units run at once, each in its own process (cli/jobs.ts); 1 (the default here): one after another in this one. */
  jobs?: number;
}

export interface Unit {
  suite: string;
  arch: string;
  seed: number;
}

/** All units in a fixed order (restricted to `pairs` where given); a shard i/n takes every n-th one starting at i-1. */
export function planUnits(o: Pick<RunOptions, 'suites' | 'archs' | 'seeds' | 'shard' | 'pairs'>): Unit[] {
  const all: Unit[] = [];
  for (const suite of o.suites) {
    for (const arch of o.archs) {
      if (o.pairs && !o.pairs[suite]?.includes(arch)) continue;
      for (let seed = 0; seed < o.seeds; seed++) all.push({ suite, arch, seed });
    }
  }
  return o.shard ? all.filter((_, i) => i % o.shard!.count === o.shard!.index - 1) : all;
}
