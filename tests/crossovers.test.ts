// Crossovers and cost ratios against the reference, computed by the report from the efficiency records:
// the crossover math, the same rows whatever order the units' records come in, a skipped row when the
// reference was not measured, and the table and files in DIR/report/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultRecord } from '../harness/store.ts';
import { buildReport } from '../reports/build.ts';
import { crossover, crossoversFromRecords, type CrossoverRow } from '../reports/crossovers.ts';
import { unfold } from '../reports/html.ts';
import { tempDir } from './helpers.ts';
import { syntheticRecords, writeRun } from './report-fixtures.ts';

/** Two units per seed: the transformer's state grows 512 B per token, retnet's stays at 8192 B. */
const efficiencyRecords = (): ResultRecord[] => syntheticRecords({ archs: ['transformer', 'retnet'], seeds: 2 }).filter((r) => r.suite === 'efficiency');

const find = (rows: CrossoverRow[], arch: string, metric: string, of?: string) =>
  rows.filter((r) => r.arch === arch && r.metric === metric && (of === undefined || r.dims?.of === of));

describe('crossover math', () => {
  it('finds where a constant cost crosses a linear one', () => {
    const lens = [16, 32, 64, 128, 256];
    const constant = new Map(lens.map((l) => [l, 1000]));
    const linear = new Map(lens.map((l) => [l, 10 * l]));
    const x = crossover(constant, linear)!;
    expect(x.kind).toBe('interpolated');
    expect(x.length).toBe(100);
    expect(crossover(linear, constant)!.kind).toBe('not_reached');
    expect(crossover(new Map([[16, 1]]), new Map([[16, 2]]))!.kind).toBe('below_range');
    expect(crossover(new Map([[16, 1]]), new Map([[32, 2]]))).toBeNull();
  });
});

describe('crossovers from records', () => {
  it('compares each unit with the reference unit of the same seed, whatever order the records come in', () => {
    const records = efficiencyRecords();
    const rows = crossoversFromRecords(records);
    const state = find(rows, 'retnet', 'crossover_length', 'state_bytes');
    expect(state.map((r) => [r.seed, r.dims?.batch, r.value, r.flag])).toEqual([[0, 1, 16, undefined], [1, 1, 16, undefined]]);
    expect(state[0]!.note).toMatch(/^interpolated: .* log-log interpolation between 16 and 32; ratio vs reference 16: 1\.000, 32: 0\.500/);
    const perToken = find(rows, 'retnet', 'state_bytes_per_token_ratio_vs_reference');
    expect(perToken.map((r) => r.value)).toEqual([0, 0]);
    const ratios = find(rows, 'retnet', 'ratio_vs_reference', 'state_bytes').filter((r) => r.seed === 0);
    expect(ratios.map((r) => [r.dims?.context, r.value])).toEqual([[16, 1], [32, 0.5], [64, 0.25], [128, 0.125]]);
    expect(ratios.every((r) => r.dims?.versus === 'transformer' && r.unit === 'ratio' && r.preset === 'tiny' && r.backend === 'wasm')).toBe(true);
    expect(find(rows, 'transformer', 'crossover_length')).toEqual([]);
    // the reference's records last (its unit ran later, or in another process): the same rows
    const key = (r: CrossoverRow) => JSON.stringify(r);
    const reordered = crossoversFromRecords([...records].sort((a, b) => (a.arch === 'transformer' ? 1 : 0) - (b.arch === 'transformer' ? 1 : 0)));
    expect(reordered.map(key).sort()).toEqual(rows.map(key).sort());
  });

  it('says so when the reference was not measured for a unit', () => {
    const records = efficiencyRecords().filter((r) => !(r.arch === 'transformer' && r.seed === 1));
    const skipped = find(crossoversFromRecords(records), 'retnet', 'crossover_length').filter((r) => r.seed === 1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ flag: 'skipped', dims: { of: 'measured', versus: 'transformer' } });
    expect(Number.isNaN(skipped[0]!.value)).toBe(true);
    expect(skipped[0]!.note).toMatch(/no measured efficiency records of the reference \(transformer\) for seed 1/);
  });
});

describe('the report', () => {
  it('shows the crossovers in the efficiency section and writes them beside the page', async () => {
    const dir = writeRun(tempDir(), efficiencyRecords());
    const { index } = await buildReport(dir);
    const html = readFileSync(index, 'utf8');
    const section = html.slice(html.indexOf('id="suite-efficiency"'));
    expect(section).toContain('id="table-efficiency-crossovers"');
    expect(section).not.toContain('id="table-efficiency-ratios"'); // folded: stored compressed
    expect(unfold(section)).toContain('id="table-efficiency-ratios"');
    expect(section).toContain('<td data-sort="crossover_length">crossover_length</td><td data-sort="of=state_bytes, batch=1">of=state_bytes, batch=1</td><td class="num" data-sort="16">16</td>');
    const json = JSON.parse(readFileSync(join(dir, 'report', 'efficiency-crossovers.json'), 'utf8')) as { reference: string; rows: CrossoverRow[] };
    expect(json.reference).toBe('transformer');
    expect(json.rows).toEqual(JSON.parse(JSON.stringify(crossoversFromRecords(efficiencyRecords()))));
    const csv = readFileSync(join(dir, 'report', 'efficiency-crossovers.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('arch,seed,preset,backend,metric,value,unit,flag,note,dim_batch,dim_context,dim_of,dim_versus');
    expect(csv).toHaveLength(json.rows.length + 1); // no note holds a line break
    expect(csv).toContainEqual(expect.stringMatching(/^retnet,0,tiny,wasm,crossover_length,16,tokens,,"?interpolated: .*,1,,state_bytes,transformer$/));
  });
});
