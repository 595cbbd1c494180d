// What the terminal says: whole-run progress (unit i/n, elapsed, ETA), a clean stop on Ctrl-C with the
// command that resumes, the count of units already recorded on a rerun, and the small courtesies of
// issue 19 (--version, names in any case, "1 unit", the next commands, aligned lists, no tfjs banner).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { coverageLine, plan } from '../cli/commands/reproduce.ts';
import { loadPapers } from '../reports/papers.ts';
import { plural } from '../harness/errors.ts';
import { RunProgress, formatDuration } from '../harness/progress.ts';
import { readRecords, unitKey } from '../harness/store.ts';
import { cli, cliProcess, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

/** A stream that keeps what is written to it (not a TTY: plain lines). */
const sink = () => {
  const lines: string[] = [];
  return { lines, out: { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream };
};

describe('whole-run progress', () => {
  it('formats durations in s, m and h/m', () => {
    expect([formatDuration(0), formatDuration(42.4), formatDuration(12 * 60 + 10), formatDuration(100 * 60)]).toEqual(['0s', '42s', '12m', '1h40m']);
  });

  it('says unit i/n, the unit, the elapsed time, and an ETA from the measured unit times of each suite', () => {
    const units = [{ suite: 'a' }, { suite: 'a' }, { suite: 'b' }, { suite: 'b' }, { suite: 'a' }];
    const { lines, out } = sink();
    const p = new RunProgress(units, [true, false, false, false, false], out);
    p.start(1, 'a / retnet / seed 1');
    expect(lines[0]).toMatch(/^unit 2\/5 · a \/ retnet \/ seed 1 · elapsed \ds\n$/); // nothing measured yet: no ETA
    p.finished(1, 600);
    p.start(2, 'b / retnet / seed 0');
    // b has no measured unit yet, so the mean of all (600 s) stands in: units 3, 4 and 5 are left
    expect(lines[1]).toMatch(/^unit 3\/5 · b \/ retnet \/ seed 0 · elapsed \ds · ETA 30m\n$/);
    p.finished(2, 60);
    p.start(3, 'b / lex / seed 0');
    expect(lines[2]).toMatch(/ETA 11m\n$/); // one b (60 s) and one a (600 s)
  });

  it('divides the time of units run N at a time (--jobs) by N in the ETA, not that of units run alone', () => {
    const { lines, out } = sink();
    const p = new RunProgress([{ suite: 'a' }, { suite: 'a' }, { suite: 'b' }, { suite: 'b' }], [false, false, false, false], out, [1, 1, 2, 2]);
    p.finished(0, 120);
    p.start(1, 'a / x / seed 1');
    expect(lines[0]).toMatch(/ETA 4m\n$/); // 120 (alone) + 120 / 2 + 120 / 2 s
  });

  it('draws a bar on a terminal', () => {
    const { lines, out } = sink();
    (out as { isTTY: boolean }).isTTY = true;
    const ci = process.env.CI;
    delete process.env.CI;
    try {
      new RunProgress([{ suite: 'a' }, { suite: 'a' }], [false, false], out).start(1, 'a / x / seed 0');
    } finally {
      if (ci !== undefined) process.env.CI = ci;
    }
    expect(lines[0]).toMatch(/^\[#{10}\.{10}\] unit 2\/2 · a \/ x \/ seed 0/);
  });
});

/** Run the CLI, send it SIGINT (Ctrl-C) once its stderr matches `when`; its exit code and stderr. */
async function ctrlCAt(args: string[], when: RegExp): Promise<{ code: number; err: string }> {
  const child = cliProcess(args);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (when.test(err)) {
        clearInterval(timer);
        child.kill('SIGINT');
        resolve();
      }
    }, 20);
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, err };
}

describe('Ctrl-C and a rerun', () => {
  it('stops cleanly with one line naming the resume command; the rerun says how many units are recorded', async () => {
    const out = join(tempDir(), 'run'), cache = tempDir();
    const args = ['run', 'perplexity', '--arch', 'transformer', '--preset', 'tiny', '--seeds', '4', '--out', out, '--cache', cache, '--jobs', '1'];
    const { code, err } = await ctrlCAt(args, /unit 2\/4/);
    expect(code).toBe(130);
    const stopped = err.split('\n').filter((l) => l.startsWith('stopped cleanly'));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatch(new RegExp(`^stopped cleanly in unit 2/4 \\(perplexity / transformer / seed 1\\)( at training step \\d+ of 30 \\(checkpoint saved\\))?: 1 unit of 4 recorded in ${out}; resume with: archbench run perplexity .*--out ${out}`));
    // no half unit: every recorded unit is whole (its closing wall_time record is there)
    const records = readRecords(out);
    const units = new Set(records.map(unitKey));
    expect(units.size).toBe(1);
    expect(records.filter((r) => r.metric === 'wall_time')).toHaveLength(1);

    const again = await cli([...args, '--seeds', '2']);
    expect(again.code).toBe(0);
    const at = / at training step (\d+) of 30 \(checkpoint saved\)/.exec(stopped[0]!);
    if (at) expect(again.err).toContain(`train transformer text seed 1: resuming from its checkpoint at step ${at[1]} of 30`);
    expect(again.err).toContain(`${out}: 1 unit of 2 already recorded; running the other 1`);
    expect(again.err).toMatch(/^unit 2\/2 · perplexity \/ transformer \/ seed 1 · elapsed \d+s\n/m);
    expect(again.err).toMatch(/^done: 1 unit run, 1 already recorded, in /m);
    expect(again.err).toContain(`next: archbench report ${out} (the leaderboard), archbench compare BASELINE ${out}`);
    expect(new Set(readRecords(out).map(unitKey)).size).toBe(2);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    // no training checkpoint is left behind once the models are saved
    expect(readdirSync(cache).filter((n) => n.includes('.step-'))).toEqual([]);
  });
  it('with two jobs: Ctrl-C stops both (a training one checkpoints), records stay whole, and the rerun finishes the rest', async () => {
    const out = join(tempDir(), 'run'), cache = tempDir();
    const args = ['run', 'forgetting', '--arch', 'transformer,retnet', '--preset', 'tiny', '--seeds', '3', '--out', out, '--cache', cache, '--jobs', '2'];
    const { code, err } = await ctrlCAt(args, /unit 4\/6/);
    expect(code, err.slice(-1500)).toBe(130);
    expect(err).toContain('6 units 2 at a time, each in its own process');
    const stopped = err.split('\n').filter((l) => l.startsWith('stopped cleanly'));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatch(new RegExp(`^stopped cleanly (in unit \\d/6 \\(forgetting / \\w+ / seed \\d\\)[^:]*|between units): \\d units? of 6 recorded in ${out}; resume with: archbench run forgetting .*--out ${out}`));
    const before = readRecords(out);
    expect(before.filter((r) => r.metric === 'wall_time')).toHaveLength(new Set(before.map(unitKey)).size); // whole units only

    const again = await cli(args);
    expect(again.code, again.err.slice(-1500)).toBe(0);
    const after = readRecords(out);
    expect(new Set(after.map(unitKey)).size).toBe(6);
    expect(after.filter((r) => r.metric === 'wall_time')).toHaveLength(6); // none written twice
    expect(readdirSync(cache).filter((n) => n.includes('.step-') || n.startsWith('.lock-'))).toEqual([]);
  });
});

describe('quiet and helpful', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).version);
  });

  it('architecture and suite names are accepted in any case', async () => {
    const out = join(tempDir(), 'run'), cache = tempDir();
    const r = await cli(['run', 'PerPlexity', '--arch', 'RetNet', '--preset', 'tiny', '--out', out, '--cache', cache]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^done: 1 unit run, 0 already recorded/m);
    expect(new Set(readRecords(out).map((x) => `${x.suite}/${x.arch}`))).toEqual(new Set(['perplexity/retnet']));
  });

  it('reproduce sums up paper coverage in one line', () => {
    const line = coverageLine(plan(loadPapers()));
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^papers: \d+ of 9 fully measurable/);
    expect(coverageLine({ ...plan(loadPapers()), perPaper: [{ ...plan(loadPapers()).perPaper[0]!, missingSuites: ['nonesuch'] }] }))
      .toMatch(/^papers: 0 of 1 fully measurable; not yet measurable in part: \S+ \(suite nonesuch\)$/);
  });

  it('plural: 1 unit, 2 units', () => {
    expect([plural(1, 'unit'), plural(2, 'unit'), plural(0, 'unit')]).toEqual(['1 unit', '2 units', '0 units']);
  });

  it('list prints aligned columns', async () => {
    const r = await cli(['list']);
    const rows = r.out.trim().split('\n');
    const starts = new Set(rows.map((l) => /^\S+\s+\S+\s+/.exec(l)![0].length));
    expect(starts.size).toBe(1);
  });

  it("prints no tfjs 'install our node backend' banner, even on the cpu backend", async () => {
    const child = cliProcess(['verify', '--backend', 'cpu']);
    let all = '';
    child.stdout.on('data', (d: Buffer) => (all += d.toString()));
    child.stderr.on('data', (d: Buffer) => (all += d.toString()));
    expect(await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)))).toBe(0);
    expect(all).toContain('backend cpu');
    expect(all).not.toMatch(/node backend/i);
  });
});
