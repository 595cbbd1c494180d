// Reliability battery, bad input (issue 18, item 6): every case exits 2 with one line that names the bad
// value (and the valid ones, where there is a list), and writes nothing: the folder that holds every
// fixture, output path and cache path of the table is byte-for-byte the same before and after each case.
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir, useBackend } from '../helpers.ts';
import { syntheticManifest, syntheticRecords, writeRun } from '../report-fixtures.ts';

const root = tempDir('archbench-bad-');
const at = (p: string) => join(root, p);

/** Every path under root with its size and mtime: any write shows up as a difference. */
function snapshot(dir = root): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort().map((p) => {
    const s = statSync(join(dir, p));
    return `${p} ${s.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`;
  });
}

beforeAll(async () => {
  await useBackend();
  const records = syntheticRecords({ archs: ['transformer', 'retnet'], seeds: 1 });
  writeRun(at('good'), records);
  cpSync(at('good'), at('torn'), { recursive: true });
  const text = readFileSync(at('torn/records.jsonl'), 'utf8');
  writeFileSync(at('torn/records.jsonl'), text.slice(0, text.length - 40)); // a kill mid-write
  writeRun(at('schema2'), records, syntheticManifest(records, { schema: 2 }));
  writeRun(at('oldformat'), records.map(({ metric, ...r }) => ({ ...r, name: metric }) as unknown as typeof records[number]));
  writeRun(at('small'), records.map((r) => ({ ...r, preset: 'small' })), syntheticManifest(records, { preset: { name: 'small' } }));
  writeRun(at('othercommit'), records, syntheticManifest(records, { git_sha: 'fedcba9' }));
  writeRun(at('badmanifest'), records);
  writeFileSync(at('badmanifest/manifest.json'), '{"preset": {"name": "tiny"');
  mkdirSync(at('emptydir'));
  writeFileSync(at('afile'), 'not a folder\n');
  // a golden case in the format of ../shared/golden/README.md, cut down to what the loader checks
  const golden = { case: 'xpos', config: { seed: 1, head_dim: 2 }, inputs: { x: { shape: [1, 2], data: [0.5, -1] } }, outputs: { y: { shape: [1, 2], data: [0.5, -1] } } };
  const goldenDir = (name: string, text: string) => (mkdirSync(at(name)), writeFileSync(at(`${name}/xpos.json`), text));
  goldenDir('golden-missing', JSON.stringify({ ...golden, outputs: undefined }));
  goldenDir('golden-wrongtype', JSON.stringify({ ...golden, config: 'seed=1' }));
  goldenDir('golden-badjson', '{"case": "xpos",');
  goldenDir('golden-unknown', JSON.stringify({ ...golden, case: 'warp_drive' }));
  goldenDir('golden-shape', JSON.stringify({ ...golden, inputs: { x: { shape: [1, 3], data: [0.5, -1] } } }));
  goldenDir('golden-strings', JSON.stringify({ ...golden, outputs: { y: { shape: [1, 2], data: ['0.5', '-1'] } } }));
  mkdirSync(at('golden-empty'));
  copyFileSync(at('afile'), at('golden-empty/readme.txt'));
});

const run = (...args: string[]) => ['run', ...args, '--backend', 'wasm', '--cache', at('cache')];
const out = () => ['--out', at('new-out')];

/** [what, argv (paths relative to root marked with @), what the one line must say]. */
const CASES: [string, string[], RegExp][] = [
  // unknown names
  ['unknown suite', run('nosuch', ...out()), /unknown suite 'nosuch'; valid: perplexity, extrapolation, needle, icl, efficiency/],
  ['unknown architecture in a list', run('--arch', 'transformer,nosuch', ...out()), /unknown architecture 'nosuch'; valid: transformer, retnet, .*diff, yoco, lex, .*momentum/],
  ['empty architecture list', run('--arch', ',', ...out()), /empty architecture list; valid: transformer/],
  ['unknown preset', run('--preset', 'huge', ...out()), /unknown preset 'huge'; valid: tiny, small, paper/],
  ['unknown backend', ['run', '--backend', 'quantum', ...out()], /'quantum' is invalid.*auto, tensorflow, webgpu, wasm\+openblas, wasm, cpu/],
  ['unknown --match', run('--match', 'weights', ...out()), /'weights' is invalid.*params, none/],
  ['unknown paper', ['reproduce', 'nosuch', '--preset', 'tiny', ...out()], /unknown paper 'nosuch'; valid: .*retnet.*yoco/],
  ['unknown reproduce preset', ['reproduce', '--preset', 'huge', ...out()], /unknown preset 'huge'; valid: tiny, small, paper/],
  ['unknown list', ['list', 'gadgets'], /unknown list 'gadgets'; valid: archs, suites, presets/],
  ['unknown analysis', ['analyze', 'nosuch', '@good'], /unknown analysis 'nosuch'; valid: icl/],
  ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  // malformed numbers, shards and seeds
  ['seeds with a suffix', run('--seeds', '2x', ...out()), /--seeds must be a positive integer, got '2x'/],
  ['zero seeds', run('--seeds', '0', ...out()), /--seeds must be a positive integer, got '0'/],
  ['fractional seeds', run('--seeds', '1.5', ...out()), /--seeds must be a positive integer, got '1.5'/],
  ['negative seeds', run('--seeds=-1', ...out()), /--seeds must be a positive integer, got '-1'/],
  ['reproduce seeds', ['reproduce', '--preset', 'tiny', '--seeds', 'three', ...out()], /--seeds must be a positive integer, got 'three'/],
  ['shard beyond its count', run('--shard', '3/2', ...out()), /--shard must be i\/n with 1 <= i <= n, got '3\/2'/],
  ['shard zero', run('--shard', '0/2', ...out()), /--shard must be i\/n with 1 <= i <= n, got '0\/2'/],
  ['shard in words', run('--shard', '1of2', ...out()), /--shard must be i\/n with 1 <= i <= n, got '1of2'/],
  ['compare threshold not a number', ['compare', '@good', '@good', '--threshold', 'abc'], /--threshold must be a fraction \(0.1\) or a percentage \(10%\), got 'abc'/],
  ['compare band zero', ['compare', '@good', '@good', '--band', '0'], /--band must be above 0, got '0'/],
  // missing, unreadable and unwritable paths
  ['missing corpus', run('--corpus', '/no/such/file', ...out()), /corpus '\/no\/such\/file' does not exist/],
  ['unreadable corpus file', run('--corpus', '/proc/self/mem', ...out()), /corpus file '\/proc\/self\/mem' cannot be read \(EIO\); give a readable text file/],
  ['corpus folder with no files', run('--corpus', '@emptydir', ...out()), /corpus folder '.*emptydir' holds no files/],
  ['--out under /proc (mkdirSync looped forever)', run('--out', '/proc/archbench-x'), /--out '\/proc\/archbench-x' cannot be used: ENOENT; give a writable folder/],
  ['--out under /sys', run('--out', '/sys/archbench-x/run'), /--out '\/sys\/archbench-x\/run' cannot be used: EPERM/],
  ['--out is a file', run('--out', '@afile'), /--out '.*afile' cannot be used: '.*afile' is not a folder/],
  ['--out beneath a file', run('--out', '@afile/run'), /--out '.*afile\/run' cannot be used: '.*afile' is not a folder/],
  ['--cache under /proc', ['run', '--backend', 'wasm', '--cache', '/proc/archbench-x', ...out()], /--cache '\/proc\/archbench-x' cannot be used: ENOENT/],
  ['reproduce --out under /proc', ['reproduce', '--preset', 'tiny', '--cache', '@cache', '--out', '/proc/archbench-x'], /--out '\/proc\/archbench-x' cannot be used: ENOENT/],
  ['merge --out under /proc', ['merge', '@good', '--out', '/proc/archbench-x'], /--out '\/proc\/archbench-x' cannot be used: ENOENT/],
  ['compare --save under /proc', ['compare', '@good', '@good', '--save', '/proc/archbench-x/v.json'], /--save '\/proc\/archbench-x' cannot be used: ENOENT/],
  ['compare --save is a folder', ['compare', '@good', '@good', '--save', '@emptydir'], /--save '.*emptydir' is a folder; give a file name/],
  ['report of a missing folder', ['report', '@missing'], /run directory '.*missing' does not exist/],
  ['report of a folder with no records', ['report', '@emptydir'], /run directory '.*emptydir' holds no records/],
  ['compare with a missing baseline', ['compare', '@missing', '@good'], /baseline '.*missing' does not exist/],
  ['merge of a folder that is not a run', ['merge', '@good', '@emptydir', '--out', '@new-out'], /'.*emptydir' is not a run directory/],
  ['merge without --out', ['merge', '@good'], /merge needs --out DIR/],
  ['verify --golden of a file', ['verify', '--golden', '@afile'], /--golden: '.*afile' is not a readable directory/],
  ['verify of a missing golden folder', ['verify', '--golden', '@missing'], /--golden: '.*missing' is not a readable directory/],
  ['verify of a folder with no case files', ['verify', '--golden', '@golden-empty'], /--golden: no case files \(\*\.json\) in '.*golden-empty'/],
  // config and golden files with missing fields or wrong types
  ['golden file without outputs', ['verify', '--golden', '@golden-missing'], /xpos\.json: 'outputs' must be an object/],
  ['golden file with config of the wrong type', ['verify', '--golden', '@golden-wrongtype'], /xpos\.json: no 'config' object/],
  ['golden file that is not JSON', ['verify', '--golden', '@golden-badjson'], /xpos\.json: not JSON/],
  ['golden array whose data does not fit its shape', ['verify', '--golden', '@golden-shape'], /xpos\.json: inputs\.x has 2 values for shape \[1,3\]/],
  ['golden array holding strings', ['verify', '--golden', '@golden-strings'], /xpos\.json: outputs\.y\.data holds non-numbers/],
  ['golden file of an unknown case type', ['verify', '--golden', '@golden-unknown'], /warp_drive/],
  ['a run folder whose manifest is not JSON', run('--preset', 'tiny', '--out', '@badmanifest'), /--out '.*badmanifest': manifest.json is not valid JSON/],
  ['resuming a tiny run under another preset', run('--preset', 'small', '--out', '@good'), /--out '.*good' holds a run of preset 'tiny'; resume it with --preset tiny/],
  // records: a truncated last line, another schema
  ['report of a records file with a truncated last line', ['report', '@torn'], /torn\/records\.jsonl' line \d+ is truncated/],
  ['compare against a records file with a truncated last line', ['compare', '@good', '@torn'], /torn\/records\.jsonl' line \d+ is truncated/],
  ['compare with a baseline of schema 2', ['compare', '@schema2', '@good'], /baseline '.*schema2' holds records of schema 2; this archbench reads schema 1/],
  ['compare with records of an older format (no metric field)', ['compare', '@oldformat', '@good'], /oldformat\/records\.jsonl' line 1: 'metric' must be a string/],
  // merge of shards from different presets or commits
  ['merge of shards of different presets', ['merge', '@good', '@small', '--out', '@new-out'], /cannot merge runs of different presets: tiny, small/],
  ['merge of shards of different commits', ['merge', '@good', '@othercommit', '--out', '@new-out'], /cannot merge runs of different commits: .*fedcba9/],
  ['merge of a shard with a truncated last line', ['merge', '@good', '@torn', '--out', '@new-out'], /torn\/records\.jsonl' line \d+ is truncated/],
];

describe(`bad input: ${CASES.length} cases, each exits 2 with one line and writes nothing`, () => {
  it('the table holds at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));
  for (const [what, argv, message] of CASES) {
    it(what, async () => {
      const args = argv.map((a) => (a.startsWith('@') ? at(a.slice(1)) : a));
      const before = snapshot();
      const r = await cli(args);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(/^archbench: /);
      expect(r.err).toMatch(message);
      expect(snapshot()).toEqual(before);
    });
  }
});
