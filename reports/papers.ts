// The papers `archbench reproduce` knows: fixtures/papers/*.json (format: fixtures/papers/README.md).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../harness/hash.ts';

export type DimValue = string | number | boolean;
export type AxisPick = 'max' | 'min' | number | string;

export interface PaperTable {
  id: string;
  title: string;
  suite: string;
  /** Metric name or candidates (the first one recorded is used). */
  metric: string | string[];
  archs: string[];
  by?: string;
  columns?: (number | string)[];
  at?: Record<string, AxisPick>;
  where?: Record<string, DimValue>;
  paper?: { scale?: string; source: string; note?: string; rows: { label: string; values: Record<string, number> }[] };
  note?: string;
}

export interface ClaimCheck {
  kind: 'compare' | 'ratio' | 'slope' | 'threshold';
  suite: string;
  metric: string | string[];
  arch: string;
  vs?: string;
  where?: Record<string, DimValue>;
  vs_where?: Record<string, DimValue>;
  at?: Record<string, AxisPick>;
  relative_to?: Record<string, AxisPick>;
  stat_over?: { dim: string; stat: 'std' | 'range' | 'mean' | 'max' | 'min' };
  better?: 'lower' | 'higher';
  expect?: 'better' | 'worse' | 'not_worse';
  margin?: number;
  max?: number;
  min?: number;
  dim?: string;
  /** Bound that scales with depth: max = max_per_layer / L, L = the preset's layers (from the manifest). */
  max_per_layer?: number;
  /** The measurement has no sampling noise (a deterministic computation): one seed's value is exact. */
  exact?: boolean;
  /** A positive ratio (a fraction to match, say): its mean and interval over seeds are taken on the log scale (geometric). */
  log?: boolean;
}

export interface Claim {
  id: string;
  text: string;
  check?: ClaimCheck;
  unmeasurable?: string;
  /** Why the claim holds by construction (then labelled so, never 'holds'). */
  by_construction?: string;
}

export interface Paper {
  id: string;
  title: string;
  short: string;
  sources: string[];
  summary: string;
  tables: PaperTable[];
  claims: Claim[];
}

export const PAPERS_DIR = join(ROOT, 'fixtures', 'papers');

const KINDS = ['compare', 'ratio', 'slope', 'threshold'];

function validate(p: Paper, file: string): Paper {
  const fail = (what: string) => {
    throw new Error(`${file}: ${what}`);
  };
  for (const k of ['id', 'title', 'short', 'summary'] as const) if (typeof p[k] !== 'string' || !p[k]) fail(`missing ${k}`);
  if (!Array.isArray(p.sources) || !p.sources.length) fail('sources must name at least one source');
  if (!Array.isArray(p.tables) || !Array.isArray(p.claims)) fail('tables and claims must be lists');
  for (const c of p.claims) {
    if (!c.id || !c.text) fail('every claim needs id and text');
    if (!c.check && !c.unmeasurable) fail(`claim ${c.id}: needs a check or an unmeasurable reason`);
    if (c.check) {
      if (!KINDS.includes(c.check.kind)) fail(`claim ${c.id}: kind must be one of ${KINDS.join(', ')}`);
      if (!c.check.suite || !c.check.metric || !c.check.arch) fail(`claim ${c.id}: check needs suite, metric and arch`);
      if (c.check.kind === 'compare' && !c.check.expect) fail(`claim ${c.id}: compare needs expect`);
      if ((c.check.kind === 'ratio' || c.check.kind === 'slope' || c.check.kind === 'threshold') && c.check.max === undefined && c.check.min === undefined && c.check.max_per_layer === undefined) fail(`claim ${c.id}: needs max or min`);
      if (c.check.kind === 'slope' && !c.check.dim) fail(`claim ${c.id}: slope needs dim`);
    }
  }
  for (const t of p.tables) if (!t.id || !t.suite || !t.metric || !Array.isArray(t.archs)) fail(`table ${t.id ?? '?'}: needs id, suite, metric, archs`);
  return p;
}

let cache: Paper[] | undefined;

/** All papers, in file-name order (validated; a malformed fixture is an internal error, not user input). */
export function loadPapers(dir = PAPERS_DIR): Paper[] {
  if (dir === PAPERS_DIR && cache) return cache;
  if (!existsSync(dir)) return [];
  const papers = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => validate(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Paper, f));
  const ids = new Set<string>();
  for (const p of papers) {
    if (ids.has(p.id)) throw new Error(`paper id ${p.id} appears twice in ${dir}`);
    ids.add(p.id);
  }
  if (dir === PAPERS_DIR) cache = papers;
  return papers;
}

export const paperNames = (): string[] => loadPapers().map((p) => p.id);

/** For `archbench list papers`: one line each. */
export function paperListing(): { name: string; description: string }[] {
  return loadPapers().map((p) => ({ name: p.id, description: p.title.startsWith(p.short) ? p.title : `${p.short}: ${p.title}` }));
}

export const candidates = (m: string | string[]): string[] => (Array.isArray(m) ? m : [m]);

/**
 * What a paper's tables and claims need: the suites, the architectures, and per suite the architectures
 * it must run on (a table's suite on the table's architectures, a claim's suite on its architecture and
 * the one it is compared with), so that reproduce runs these pairs and not every suite on every architecture.
 */
export function paperNeeds(p: Paper): { suites: string[]; archs: string[]; pairs: Record<string, string[]> } {
  const pairs = new Map<string, Set<string>>();
  const need = (suite: string, archs: string[]) => {
    const set = pairs.get(suite) ?? pairs.set(suite, new Set()).get(suite)!;
    for (const a of archs) set.add(a);
  };
  for (const t of p.tables) need(t.suite, t.archs);
  for (const c of p.claims) if (c.check) need(c.check.suite, [c.check.arch, ...(c.check.vs ? [c.check.vs] : [])]);
  return {
    suites: [...pairs.keys()],
    archs: [...new Set([...pairs.values()].flatMap((s) => [...s]))],
    pairs: Object.fromEntries([...pairs].map(([suite, archs]) => [suite, [...archs]])),
  };
}
