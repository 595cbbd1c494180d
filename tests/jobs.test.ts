// Units in parallel processes (cli/jobs.ts) and the cache lock that lets them share one model cache
// (harness/cache.ts withLock). The Ctrl-C behaviour of two jobs is in terminal.test.ts; kills and a full
// disk under the default jobs in tests/reliability/.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelCache } from '../harness/cache.ts';
import { readRecords, unitKey } from '../harness/store.ts';
import { cli, tempDir } from './helpers.ts';
import { comparable } from './comparable.ts';

const sleeper = () => spawn('sleep', ['30'], { stdio: 'ignore' });

describe('the cache lock', () => {
  it('runs the maker and leaves no lock behind, also when the maker throws', async () => {
    const cache = new ModelCache(tempDir());
    expect(await cache.withLock('k', async () => 7)).toBe(7);
    await expect(cache.withLock('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(readdirSync(cache.dir)).toEqual([]);
  });

  it('waits while a live process holds the lock, and takes over one left by a process that is gone', async () => {
    const cache = new ModelCache(tempDir());
    const holder = sleeper();
    await new Promise((r) => holder.once('spawn', r));
    writeFileSync(join(cache.dir, '.lock-k'), String(holder.pid));
    let made = false;
    const waiting = cache.withLock('k', async () => { made = true; });
    await new Promise((r) => setTimeout(r, 700));
    expect(made).toBe(false); // the holder runs: wait
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    await waiting; // gone: taken over
    expect(made).toBe(true);
    expect(existsSync(join(cache.dir, '.lock-k'))).toBe(false);
  });
});

describe('--jobs', () => {
  it('two jobs give the records of one, each unit once; timing suites run alone; the manifest says how the units ran', async () => {
    const runs = [1, 2].map((jobs) => ({ jobs, out: join(tempDir(), `j${jobs}`), cache: tempDir() }));
    for (const r of runs) {
      const res = await cli(['run', 'perplexity', 'forgetting', 'efficiency', '--arch', 'transformer,lex', '--preset', 'tiny', '--out', r.out, '--cache', r.cache, '--jobs', String(r.jobs)]);
      expect(res.code, res.err.slice(-1500)).toBe(0);
    }
    // the same measurements, as after kills: what depends on the clock, on which unit of the run made a shared
    // model (its cache status) and on what the process held before (live tensor bytes) aside
    const [a, b] = runs.map((r) => comparable(readRecords(r.out), true).sort());
    expect(a!.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    const two = readRecords(runs[1]!.out);
    expect(new Set(two.map(unitKey)).size).toBe(6);
    // perplexity (alone: it trains on every core) and efficiency (alone: it times the machine) ran one at a
    // time first; forgetting two at a time after them, its rates noted as measured beside another unit
    expect(two.filter((r) => r.metric === 'wall_time').map((r) => r.suite)).toEqual(['perplexity', 'perplexity', 'efficiency', 'efficiency', 'forgetting', 'forgetting']);
    const beside = two.filter((r) => r.note?.includes('measured while 2 units ran at once'));
    expect(beside.length).toBeGreaterThan(0);
    expect(beside.every((r) => r.suite === 'forgetting' && ['tokens/s', 's', 'ms'].includes(r.unit))).toBe(true);
    const manifest = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest(runs[0]!.out).config.jobs).toBe(1);
    expect(manifest(runs[1]!.out).config).toMatchObject({ jobs: 2, training_threads_per_job: expect.any(Number) });
    expect(readdirSync(runs[1]!.cache).filter((n) => n.startsWith('.lock-'))).toEqual([]);
  }, 120_000);

  it('rejects a malformed --jobs with exit 2 and writes nothing', async () => {
    const out = join(tempDir(), 'bad');
    for (const v of ['0', 'two', '-1']) {
      const r = await cli(['run', 'perplexity', '--preset', 'tiny', '--out', out, '--jobs', v]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain('--jobs');
    }
    expect(existsSync(out)).toBe(false);
  });
});
