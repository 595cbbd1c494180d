// Reliability battery, recovery (issue 18, items 7-9): corrupt cache entries are detected and rebuilt; a
// NaN injected into training marks the unit diverged while the run finishes the others and the report
// shows it; a full disk (a small tmpfs) gives one clear line, leaves no half-written record, manifest or
// cache entry, and the same command completes once there is room. Also the records store's repair of a
// torn write, case by case.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore, readRecords, unitKey, type ResultRecord } from '../../harness/store.ts';
import { cli, tempDir, testBpb, tinyTextModel, useBackend } from '../helpers.ts';

beforeAll(async () => {
  await useBackend();
});

describe('corrupt cache entries are detected and rebuilt', () => {
  const damage: [string, (entry: string) => void][] = [
    ['a truncated checkpoint', (e) => writeFileSync(join(e, 'weights.bin'), readFileSync(join(e, 'weights.bin')).subarray(0, 64))],
    ['a flipped bit', (e) => {
      const bytes = readFileSync(join(e, 'weights.bin'));
      bytes[100]! ^= 0x08;
      writeFileSync(join(e, 'weights.bin'), bytes);
    }],
    ['a wrong shape', (e) => {
      const meta = JSON.parse(readFileSync(join(e, 'meta.json'), 'utf8'));
      const t = meta.tensors.find((x: { shape: number[] }) => x.shape.length === 2 && x.shape[0] !== x.shape[1]);
      t.shape = [...t.shape].reverse(); // same size, so only the shape check can see it
      writeFileSync(join(e, 'meta.json'), JSON.stringify(meta));
    }],
    ['a meta.json without its fields', (e) => writeFileSync(join(e, 'meta.json'), '{"key": 1}')],
    ['a missing weights file', (e) => rmSync(join(e, 'weights.bin'))],
  ];

  it('a clean entry is a hit with the same weights', async () => {
    const dir = tempDir();
    const first = await tinyTextModel(dir);
    expect(first.info.cache).toBe('trained');
    const hit = await tinyTextModel(dir);
    expect(hit.info.cache).toBe('hit');
    expect(await testBpb(hit.model)).toBe(await testBpb(first.model));
  });

  for (const [what, hurt] of damage) {
    it(what, async () => {
      const dir = tempDir();
      const bpb = await testBpb((await tinyTextModel(dir)).model);
      const [entry] = readdirSync(dir);
      hurt(join(dir, entry!));
      const rebuilt = await tinyTextModel(dir);
      expect(rebuilt.info.cache).toBe('rebuilt');
      expect(await testBpb(rebuilt.model)).toBe(bpb); // retrained to the same weights
      expect((await tinyTextModel(dir)).info.cache).toBe('hit'); // and the entry is whole again
    });
  }
});

describe('divergence', () => {
  it('a NaN loss injected into training marks the unit diverged; the run finishes the others; the report shows it', async () => {
    const out = tempDir(), cache = tempDir();
    const argv = ['run', 'perplexity', 'extrapolation', '--arch', 'transformer,retnet', '--preset', 'tiny', '--backend', 'wasm', '--out', out, '--cache', cache];
    process.env.ARCHBENCH_FAULT = 'nan-loss:retnet:3';
    try {
      const r = await cli(argv);
      expect(r.code, r.err).toBe(0);
    } finally {
      delete process.env.ARCHBENCH_FAULT;
    }
    const records = readRecords(out);
    expect(new Set(records.map(unitKey)).size).toBe(4);
    for (const suite of ['perplexity', 'extrapolation']) {
      const diverged = records.filter((x) => x.suite === suite && x.arch === 'retnet' && x.metric === 'diverged');
      expect(diverged).toHaveLength(1);
      expect(diverged[0]).toMatchObject({ value: 3, flag: 'diverged', note: 'loss became non-finite at step 3' });
      const bpb = records.filter((x) => x.suite === suite && x.arch === 'transformer' && x.metric === 'test_bpb');
      expect(bpb.length).toBeGreaterThan(0);
      expect(bpb.every((x) => Number.isFinite(x.value))).toBe(true);
    }
    expect((await cli(['report', out])).code).toBe(0);
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    expect(html).toContain('retnet seed 0: diverged — loss became non-finite at step 3');
    // the diverged model is cached under the fault's own key: a clean run on the same cache trains it anew
    const clean = tempDir();
    expect((await cli([...argv.slice(0, -4), '--out', clean, '--cache', cache])).code).toBe(0);
    expect(readRecords(clean).some((x) => x.metric === 'diverged')).toBe(false);
  });
});

describe('the records store repairs a torn write back to the last whole unit', () => {
  const unit = (arch: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ suite: 'perplexity', arch, seed: 0, preset: 'tiny', metric: `m${i}`, value: i, unit: 'count', dims: {} }));
  const cases: [string, string, string[]][] = [
    ['torn inside a unit: the unit goes whole', `${unit('a', 3).join('\n')}\n${unit('b', 2).join('\n')}\n${unit('b', 3)[2]!.slice(0, 70)}`, ['a']],
    ['torn at the first line of a unit: the units before stay', `${unit('a', 3).join('\n')}\n${unit('b', 1)[0]!.slice(0, 60)}`, ['a']],
    ['torn too short to name its unit: the last unit reruns too', `${unit('a', 3).join('\n')}\n${unit('b', 3).join('\n')}\n{"sui`, ['a']],
    ['whole: nothing cut', `${unit('a', 3).join('\n')}\n${unit('b', 3).join('\n')}\n`, ['a', 'b']],
  ];
  for (const [what, text, kept] of cases) {
    it(what, () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'records.jsonl'), text);
      const store = new RunStore(dir);
      expect(['a', 'b'].filter((arch) => store.isDone({ suite: 'perplexity', arch, seed: 0 }))).toEqual(kept);
      expect(store.records.length).toBe(kept.length * 3);
      expect(readFileSync(join(dir, 'records.jsonl'), 'utf8').endsWith('\n') || store.records.length === 0).toBe(true);
    });
  }
});

/** A tmpfs of `kib` KiB, or why none can be mounted here (needs root, and a container allowed to mount). */
function mountTmpfs(dir: string, kib: number): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

const disk = tempDir('archbench-disk-');
const cannotMount = mountTmpfs(disk, 1024);
if (cannotMount) process.stderr.write(`the full-disk tests do not run here: no tmpfs (${cannotMount})\n`);
afterAll(() => {
  if (!cannotMount) execFileSync('umount', [disk]);
});

/** Every unit recorded has all its records (the runner's harness records close each unit). */
function wholeUnits(records: ResultRecord[]): boolean {
  const units = new Set(records.map(unitKey));
  return [...units].every((k) => records.some((r) => unitKey(r) === k && r.metric === 'peak_rss_bytes'));
}

describe.skipIf(cannotMount)('a full disk (a 1 MiB tmpfs, filled)', () => {
  const warmCache = tempDir();
  const argv = (out: string, cache: string) => ['run', 'perplexity', '--arch', 'transformer,retnet', '--seeds', '2', '--preset', 'tiny', '--backend', 'wasm', '--out', out, '--cache', cache];

  // free space left on the disk, and whether the model cache is on it too (then cold, so models are saved there)
  const levels: [number, boolean][] = [[4, false], [8, false], [16, false], [64, true]];
  for (const [freeKib, cacheOnDisk] of levels) {
    it(`${freeKib} KiB free${cacheOnDisk ? ', the model cache on the same disk' : ''}: one clear line, nothing half-written, the rerun completes`, async () => {
      const root = join(disk, `case-${freeKib}`);
      mkdirSync(root);
      const out = join(root, 'run'), cache = cacheOnDisk ? join(root, 'cache') : warmCache;
      const filler = join(disk, 'filler');
      const free = () => Number(execFileSync('df', ['-k', '--output=avail', disk], { encoding: 'utf8' }).trim().split('\n')[1]);
      execFileSync('fallocate', ['-l', `${Math.max(0, free() - freeKib)}k`, filler]);
      const full = await cli(argv(out, cache));
      expect(full.code, full.err).toBe(1);
      expect(full.err.trim().split('\n').filter((l) => l.startsWith('archbench:'))).toEqual([expect.stringMatching(/^archbench: cannot write: ENOSPC: no space left on device, \w+ '[^']+'; nothing half-written is kept: .*run the same command again to resume$/)]);
      // nothing half-written: whole lines of whole units, a manifest that parses, no temporary files or cache entries
      if (existsSync(join(out, 'records.jsonl'))) {
        const text = readFileSync(join(out, 'records.jsonl'), 'utf8');
        expect(text === '' || text.endsWith('\n')).toBe(true);
        expect(wholeUnits(readRecords(out))).toBe(true);
      }
      if (existsSync(join(out, 'manifest.json'))) JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      const leftovers = readdirSync(root, { recursive: true }).map(String).filter((p) => /(\.tmp$)|(^|\/)\.tmp-/.test(p));
      expect(leftovers).toEqual([]);
      if (cacheOnDisk && existsSync(cache)) for (const e of readdirSync(cache)) expect(readdirSync(join(cache, e)).sort()).toEqual(['meta.json', 'weights.bin']);

      rmSync(filler);
      const again = await cli(argv(out, cache));
      expect(again.code, again.err).toBe(0);
      const records = readRecords(out);
      expect(new Set(records.map(unitKey)).size).toBe(4);
      const keys = records.map((r) => `${unitKey(r)}|${r.metric}|${JSON.stringify(r.dims)}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(wholeUnits(records)).toBe(true);
      expect(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(records.length + 1);
      rmSync(root, { recursive: true });
    });
  }
});
