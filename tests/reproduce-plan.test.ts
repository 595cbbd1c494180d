// reproduce runs, per suite, the architectures some paper's tables or claims need, not every suite on
// every architecture; `run` keeps the whole matrix.
import { describe, expect, it } from 'vitest';
import { plan } from '../cli/commands/reproduce.ts';
import { planUnits } from '../cli/plan.ts';
import { loadPapers, paperNeeds, type Paper } from '../reports/papers.ts';
import '../architectures/index.ts';
import '../suites/index.ts';

const paper = (id: string, tables: [string, string[]][], claims: [string, string, string?][]): Paper => ({
  id, title: id, short: id, sources: ['s'], summary: 's',
  tables: tables.map(([suite, archs], i) => ({ id: `t${i}`, title: 't', suite, metric: 'm', archs })),
  claims: claims.map(([suite, arch, vs], i) => ({ id: `c${i}`, text: 'c', check: { suite, arch, ...(vs ? { vs } : {}) } }) as unknown as Paper['claims'][number]),
});

describe('reproduce: what the papers need', () => {
  const a = paper('a', [['perplexity', ['transformer', 'retnet']]], [['efficiency', 'retnet', 'transformer']]);
  const b = paper('b', [], [['perplexity', 'lex', 'transformer'], ['needle', 'diff', 'transformer'], ['nonesuch', 'diff']]);

  it("a paper's needs pair each suite with the architectures of its tables and claims", () => {
    expect(paperNeeds(a).pairs).toEqual({ perplexity: ['transformer', 'retnet'], efficiency: ['retnet', 'transformer'] });
  });

  it('the plan joins the papers per suite, in registry order, and leaves out suites not registered', () => {
    const p = plan([a, b]);
    expect(p.suites).toEqual(['perplexity', 'needle', 'efficiency']);
    expect(p.pairs).toEqual({ perplexity: ['transformer', 'retnet', 'lex'], needle: ['transformer', 'diff'], efficiency: ['transformer', 'retnet'] });
    const units = planUnits({ ...p, seeds: 2 });
    expect(units.length).toBe(2 * (3 + 2 + 2));
    expect(units.some((u) => u.suite === 'needle' && u.arch === 'retnet')).toBe(false);
    expect(planUnits({ suites: p.suites, archs: p.archs, seeds: 2 }).length).toBe(3 * 4 * 2); // without pairs: the matrix
  });

  it('the shipped papers: every planned unit is one a paper needs, and there are fewer than the matrix', () => {
    const papers = loadPapers(), p = plan(papers);
    const needed = (suite: string, arch: string) => papers.some((x) => paperNeeds(x).pairs[suite]?.includes(arch));
    const units = planUnits({ ...p, seeds: 1 });
    for (const u of units) expect(needed(u.suite, u.arch), `${u.suite}/${u.arch}`).toBe(true);
    expect(units.length).toBeLessThan(p.suites.length * p.archs.length);
  });
});
