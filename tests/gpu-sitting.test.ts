// tools/gpu-sitting.sh, the prepared GPU sitting: it holds the required steps (the smoke preset, bench at the
// paper and small shapes alternated with the PyTorch CUDA peer in fp32 and TF32, the efficiency suite at the
// paper preset, the matmul A/B and the subgroup-matrix probe), every archbench call forces --backend webgpu,
// the bench configs and the peer's shape are the paper preset's, and, run with stand-ins for node and
// python, it logs every step and keeps to its time.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchConfigs } from '../cli/bench.ts';
import { ROOT } from '../harness/hash.ts';
import { PRESETS } from '../harness/presets.ts';
import { tempDir } from './helpers.ts';

const SCRIPT = join(ROOT, 'tools/gpu-sitting.sh');
const text = readFileSync(SCRIPT, 'utf8');

/** A shell line's words (double quotes kept together, quotes dropped). */
const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

interface Step { name: string; limit: number; cmd: string[] }
const steps: Step[] = text.split('\n').filter((l) => l.startsWith('step ')).map((l) => {
  const [, name, limit, , ...cmd] = words(l);
  return { name: name!, limit: Number(limit), cmd };
});
const isArchbench = (s: Step) => s.cmd.includes('bin/archbench.js');
const isPeer = (s: Step) => s.cmd.includes('tools/torch_lm_cuda.py');
const option = (s: Step, o: string) => s.cmd[s.cmd.indexOf(o) + 1];
const defaultSittingS = Number(/SITTING_S:-(\d+)/.exec(text)![1]);

describe('the GPU sitting script: its steps', () => {
  it('runs the smoke preset, bench at the paper and small shapes, the peer in fp32 and TF32, efficiency at paper', () => {
    const run = (suite: string | null, preset: string) => steps.some((s) => isArchbench(s) && s.cmd[s.cmd.indexOf('bin/archbench.js') + 1] === 'run'
      && (suite === null ? !s.cmd.includes('efficiency') : s.cmd.includes(suite)) && option(s, '--preset') === preset);
    expect(run(null, 'smoke')).toBe(true);
    expect(run('efficiency', 'paper')).toBe(true);
    const benched = steps.filter((s) => isArchbench(s) && s.cmd.includes('bench')).flatMap((s) => option(s, '--configs')!.split(','));
    const known = benchConfigs();
    for (const name of benched) expect(known.map((c) => c.name)).toContain(name);
    const shapes = benched.map((n) => known.find((c) => c.name === n)!);
    const paper = PRESETS.paper!.size, small = PRESETS.small!.size;
    expect(shapes.some((c) => c.config.d === paper.d && c.config.layers === paper.layers && c.config.heads === paper.heads && c.config.seq === paper.seq)).toBe(true);
    expect(shapes.some((c) => c.config.d === small.d && c.config.layers === small.layers && c.config.seq === small.seq)).toBe(true);
    expect(new Set(steps.filter(isPeer).map((s) => option(s, '--mode')))).toEqual(new Set(['fp32', 'tf32']));
  });

  it('runs the matmul A/B first (it picks the matmul of the rest), the subgroup-matrix probe last (after every figure it could disturb), outputs under OUT', () => {
    expect([steps[0]!, steps.at(-1)!].map((s) => s.cmd.slice(0, 2))).toEqual([['node', 'tools/webgpu-matmul-ab.mjs'], ['node', 'tools/subgroup-matrix-probe.mjs']]);
    expect(text).toMatch(/^export ARCHBENCH_WEBGPU_MATMUL=\$choice$/m);
    expect(text).toMatch(/^step matmul-ab \d+ "\$out\/matmul-ab\.out" /m);
    expect(text).toMatch(/^step subgroup-matrix \d+ "\$out\/subgroup-matrix\.out" /m);
  });

  it('forces --backend webgpu on every archbench call', () => {
    const calls = text.split('\n').filter((l) => l.includes('bin/archbench.js'));
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const l of calls) expect(option({ name: '', limit: 0, cmd: words(l) }, '--backend'), l).toBe('webgpu');
  });

  it('alternates the peer with bench (a bench step between any two peer steps at the paper shape, one before the first)', () => {
    const order = steps.filter((s) => isPeer(s) || (isArchbench(s) && s.cmd.includes('bench'))).map((s) => (isPeer(s) ? 'peer' : 'bench'));
    expect(order.slice(0, 4)).toEqual(['bench', 'peer', 'bench', 'peer']);
  });

  it("the peer's default shape and the paper bench config are the paper preset's (batch 8)", () => {
    const peer = readFileSync(join(ROOT, 'tools/torch_lm_cuda.py'), 'utf8');
    const dflt = (arg: string) => Number(new RegExp(`"--${arg}", type=int, default=(\\d+)`).exec(peer)![1]);
    const p = PRESETS.paper!;
    expect([dflt('d'), dflt('layers'), dflt('heads'), dflt('seq'), dflt('batch')]).toEqual([p.size.d, p.size.layers, p.size.heads, p.size.seq, p.train.batch]);
    const b = benchConfigs().find((c) => c.name === 'peer-d768-l12')!;
    expect([b.config.d, b.config.layers, b.config.heads, b.config.seq, b.batch]).toEqual([p.size.d, p.size.layers, p.size.heads, p.size.seq, p.train.batch]);
  });

  it("the steps' limits fit the sitting, and the sitting fits 8 minutes with a margin for on-device.sh", () => {
    expect(steps.reduce((a, s) => a + s.limit, 0)).toBeLessThanOrEqual(defaultSittingS);
    expect(defaultSittingS).toBeLessThanOrEqual(8 * 60 - 30);
  });
});

describe('the GPU sitting script: run with stand-ins for node and python', () => {
  // node and python3 stand-ins that log their arguments and sleep SLEEP seconds (version probes answer at once)
  function standIns(): string {
    const bin = join(tempDir(), 'bin');
    mkdirSync(bin);
    const stub = (name: string) => {
      writeFileSync(join(bin, name), `#!/bin/bash\ncase "$1" in --version|-c) echo stub; exit 0;; esac\necho "${name} $*" >> "$CALLS"\nsleep "\${SLEEP:-0}"\necho '{}'\n`);
      chmodSync(join(bin, name), 0o755);
    };
    stub('node');
    stub('python3');
    return bin;
  }
  const sit = (env: Record<string, string>) => {
    const out = join(tempDir(), 'out'), calls = join(tempDir(), 'calls.txt');
    const t0 = performance.now();
    const r = spawnSync('bash', [SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${standIns()}:${process.env.PATH}`, OUT: out, CALLS: calls, ...env } });
    const rows = readFileSync(join(out, 'steps.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    return { r, rows, log: readFileSync(join(out, 'sitting.log'), 'utf8'), seconds: (performance.now() - t0) / 1000, calls: readFileSync(calls, 'utf8') };
  };

  it('runs every step in order, logs the machine, the commit and each wall time', () => {
    const { r, rows, log, calls } = sit({ SLEEP: '0' });
    expect(r.status, r.stderr).toBe(0);
    expect(rows.map((x) => x[0])).toEqual(steps.map((s) => s.name));
    for (const x of rows) expect(x[1]).toBe('0');
    expect(log).toMatch(/^# commit [0-9a-f]{40}/m);
    expect(log).toMatch(/^# gpu /m);
    expect(log).toMatch(/^ {3}exit 0 after \d+\.\d{3} s$/m);
    expect(calls.split('\n').filter((l) => l.startsWith('node bin/archbench.js')).length).toBe(steps.filter(isArchbench).length);
  });

  it('cuts a step at its limit and skips the rest once the sitting time is spent', { timeout: 60_000 }, () => {
    const { rows, log, seconds } = sit({ SLEEP: '30', SITTING_S: '8' });
    expect(rows[0]!.slice(0, 2)).toEqual([steps[0]!.name, '124']);
    expect(Number(rows[0]![3])).toBeLessThanOrEqual(8);
    expect(rows.slice(1).every((x) => x[1] === 'skipped')).toBe(true);
    expect(log).toContain('(timed out)');
    expect(seconds).toBeLessThan(20);
  });
});
