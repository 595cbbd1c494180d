// `archbench report DIR`: DIR/report/index.html (one self-contained file), DIR/report/figures/*
// (.vl.json, .svg, .png), for an efficiency run the crossovers against the reference
// (DIR/report/efficiency-crossovers.json, .csv), and, for a reproduce run (DIR/reproduce.json), the
// papers' tables (Markdown and HTML) and the claims ledger.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readRecords, type ResultRecord } from '../harness/store.ts';
import { getSuite } from '../suites/index.ts';
import { commonPoints, fmt, fmtCi, groupRecords, overallRank, rankSuite, seedSeries, seriesStats, type MetricGroup, type SuiteRanking } from './aggregate.ts';
import { cellText, evaluatePaper, ledgerMarkdown, paperMarkdown, type PaperResult, type PaperTableResult } from './claims.ts';
import { crossoversFile, crossoversFromRecords, crossoversHtml } from './crossovers.ts';
import { figuresFor } from './figures.ts';
import { anchor, dataUri, esc, page, sortableTable, type Td } from './html.ts';
import { HARNESS_METRICS, isTail } from './metrics.ts';
import { loadPapers } from './papers.ts';

/** Metric columns in a suite's table (headline metrics always shown); the rest are in "All measurements". */
const MAX_COLUMNS = 8;
import { renderFigure, setupText } from './render.ts';

export interface ReproduceInfo {
  papers: string[];
  preset: string;
  seeds: number;
  time?: string;
  /** Seconds the report took to build (written after it). */
  report_seconds?: number;
}

export interface ReportResult {
  index: string;
  bytes: number;
  figures: { suite: string; file: string; origin: string }[];
  errors: string[];
  papers: PaperResult[];
  textMeasure: string;
}

type Manifest = Record<string, unknown>;

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeAtomic(path: string, text: string | Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);

function manifestSection(m: Manifest | null, records: ResultRecord[], dir: string): string {
  const backendsInRecords = [...new Set(records.map((r) => r.backend))];
  const presets = [...new Set(records.map((r) => r.preset))];
  const seeds = [...new Set(records.map((r) => r.seed))].sort((a, b) => a - b);
  const gpus = (get(m, 'machine', 'gpus') as unknown[] | undefined) ?? [];
  const gpuText = gpus.length ? gpus.map((g) => (typeof g === 'object' ? Object.values(g as object).join(' ') : String(g))).join('; ') : 'none';
  const mem = get(m, 'machine', 'memBytes') as number | undefined;
  const size = get(m, 'preset', 'size');
  const train = get(m, 'preset', 'train');
  const rows: [string, string][] = [
    ['backend', `${get(m, 'backend') ?? backendsInRecords.join(', ')}${get(m, 'backend_provider') ? ` (${get(m, 'backend_provider')})` : ''}${backendsInRecords.length > 1 ? `; records from ${backendsInRecords.join(', ')}` : ''}`],
    ['hardware', `${get(m, 'machine', 'cpu', 'brand') ?? '?'}, ${get(m, 'machine', 'cpu', 'cores') ?? '?'} cores${mem ? `, ${(mem / 2 ** 30).toFixed(1)} GiB` : ''}; ${get(m, 'machine', 'os') ?? ''}; GPUs: ${gpuText}`],
    ['commit', String(get(m, 'git_sha') ?? 'unknown')],
    ['preset', `${get(m, 'preset', 'name') ?? presets.join(', ')}${size ? ` — size ${JSON.stringify(size)}` : ''}${train ? `; train ${JSON.stringify(train)}` : ''}`],
    ['seeds', `${seeds.join(', ')}${get(m, 'seeds') ? ` (manifest: ${JSON.stringify(get(m, 'seeds'))})` : ''}`],
    ['versions', get(m, 'versions') ? JSON.stringify(get(m, 'versions')) : 'unknown'],
    ['command', `archbench ${get(m, 'command') ?? '?'}`],
    ['time', `${get(m, 'start_time') ?? '?'} → ${get(m, 'end_time') ?? 'unfinished'}`],
    ['records', `${records.length} in ${basename(resolve(dir))}/records.jsonl`],
  ];
  const shards = get(m, 'merged_from') as unknown[] | undefined;
  if (shards?.length) rows.push(['merged from', `${shards.length} shard directories`]);
  return `<section id="run"><h2>Run</h2>
<dl class="manifest" id="manifest">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd data-field="${esc(k)}">${esc(v)}</dd>`).join('')}</dl>
<details><summary>manifest.json</summary><pre>${esc(m ? JSON.stringify(m, null, 2) : 'no manifest.json in this directory')}</pre></details></section>`;
}

const verdictBadge = (v: string, title?: string) => `<span class="badge ${esc(v.replace(/ /g, ''))}"${title ? ` title="${esc(title)}"` : ''}>${esc(v)}</span>`;

function metricHead(g: MetricGroup): { head: string; title: string } {
  const dir = g.info.direction === 'lower' ? '↓' : g.info.direction === 'higher' ? '↑' : '';
  return { head: `${g.metric}${g.unit ? ` (${g.unit})` : ''} ${dir}`.trim(), title: `${g.info.direction === 'none' ? 'informational' : `${g.info.direction} is better`}; ${g.info.kind}${g.axes.length ? `; mean over ${g.axes.join(', ')}` : ''}` };
}

/** One suite's section; `extra` is HTML of its own placed before the figures (the efficiency crossovers). */
function suiteSection(suite: string, groups: MetricGroup[], ranking: SuiteRanking, figs: { title: string; caption?: string; svg: string; file: string }[], records: ResultRecord[], extra = ''): string {
  const mine = groups.filter((g) => g.suite === suite);
  const desc = getSuite(suite)?.description ?? 'suite not registered in this build';
  const head = mine.filter((g) => ranking.headline.includes(g.metric));
  const rest = mine.filter((g) => !ranking.headline.includes(g.metric) && g.info.kind !== 'bookkeeping' && g.info.kind !== 'count' && g.info.direction !== 'none' && !HARNESS_METRICS.has(g.metric) && !isTail(g.metric));
  const ordered = [...head, ...rest].slice(0, Math.max(MAX_COLUMNS, head.length));
  const hidden = mine.length - ordered.length;
  const cols = [{ head: 'rank', title: 'mean rank over the headline metrics (1 = best)' }, { head: 'architecture' }, ...ordered.map(metricHead)];
  const rows: Td[][] = ranking.standings.map((st) => [
    { html: esc(Number.isFinite(st.score) ? fmt(st.score) : '—'), sort: Number.isFinite(st.score) ? st.score : null, num: true },
    { html: esc(st.arch), sort: st.arch },
    ...ordered.map((g): Td => {
      const pts = commonPoints(g);
      const s = seriesStats(seedSeries(g, st.arch, pts));
      if (!Number.isFinite(s.mean)) return { html: '—', sort: null, num: true };
      const vs = st.vsLeader[g.metric];
      const flags = [...new Set(g.cells.filter((c) => c.arch === st.arch).flatMap((c) => c.flags))];
      const badge = vs ? verdictBadge(vs.verdict, vs.result ? `${vs.result.why}; diff ${fmt(vs.result.diff)} ${fmtCi(vs.result.ci95)}` : 'best mean') : '';
      const flagBadges = flags.map((f) => `<span class="badge flag" title="${esc(f === 'floor' || f === 'ceiling' ? 'not discriminating' : f)}">${esc(f)}</span>`).join('');
      return { html: `${esc(fmt(s.mean))} <span class="ci">${esc(fmtCi(s.ci95))}</span>${badge}${flagBadges}`, sort: s.mean, num: true };
    }),
  ]);
  const seeds = new Set(records.filter((r) => r.suite === suite).map((r) => r.seed));
  const notes = [
    `Mean with 95% interval (${seeds.size > 1 ? `t over ${seeds.size} seeds` : 'one seed: the records\' own intervals where they carry one'}). Badges: paired comparison with the leader on the same seeds — "tied" when the data cannot separate them.`,
    ranking.headline.length ? `Rank: mean rank over ${ranking.headline.join(', ')}.` : 'No headline metric: not ranked.',
    ...ranking.excluded.map((e) => `Left out of the rank: ${e.metric} (${e.why}).`),
    ...(hidden > 0 ? [`${hidden} more metric(s) (informational, tail percentiles, harness bookkeeping) under "All measurements".`] : []),
  ];
  const diverged = records.filter((r) => r.suite === suite && (r.flag === 'diverged' || r.flag === 'skipped'));
  const divergedNote = diverged.length ? `<p class="note flag">${diverged.map((r) => esc(`${r.arch} seed ${r.seed}: ${r.flag}${r.note ? ` — ${r.note}` : ''}`)).join('<br>')}</p>` : '';
  const figures = figs.length
    ? `<div class="figures">${figs.map((f) => `<figure><img class="chart" data-file="${esc(f.file)}" alt="${esc(f.title)}" src="${dataUri('image/svg+xml', f.svg)}"><figcaption>${esc(f.title)}${f.caption ? ` — ${esc(f.caption)}` : ''}<br><span class="muted">figures/${esc(f.file)}.{vl.json,svg,png}</span></figcaption></figure>`).join('\n')}</div>`
    : '<p class="note">No figures.</p>';
  // Long format: every cell.
  const allCols = [{ head: 'architecture' }, { head: 'metric' }, { head: 'point' }, { head: 'seeds' }, { head: 'mean' }, { head: 'ci low' }, { head: 'ci high' }, { head: 'unit' }, { head: 'flags' }];
  const allRows: Td[][] = mine.flatMap((g) => g.cells.map((c): Td[] => [
    { html: esc(c.arch), sort: c.arch }, { html: esc(c.metric), sort: c.metric },
    { html: esc(Object.entries(c.axes).map(([k, v]) => `${k}=${v}`).join(', ')), sort: Object.values(c.axes).join(',') },
    { html: esc(c.n), sort: c.n, num: true }, { html: esc(fmt(c.mean)), sort: c.mean, num: true },
    { html: esc(fmt(c.ci95?.[0])), sort: c.ci95?.[0] ?? null, num: true }, { html: esc(fmt(c.ci95?.[1])), sort: c.ci95?.[1] ?? null, num: true },
    { html: esc(c.unit) }, { html: esc([...c.flags, ...c.notes].join('; ')) },
  ]));
  const id = anchor(suite);
  return `<section id="suite-${id}" class="suite" data-suite="${esc(suite)}"><h2>Suite: ${esc(suite)}</h2>
<p class="muted">${esc(desc)}</p>
${sortableTable(`table-${id}`, cols, rows)}
${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${divergedNote}
${extra}
${figures}
<details><summary>All measurements (${allRows.length})</summary>${sortableTable(`all-${id}`, allCols, allRows)}</details>
</section>`;
}

function overallSection(rankings: SuiteRanking[]): string {
  const overall = overallRank(rankings);
  const suites = rankings.map((r) => r.suite);
  const cols = [{ head: 'rank' }, { head: 'architecture' }, { head: 'score', title: 'mean over suites of the mean rank within each suite (lower is better)' }, ...suites.map((s) => ({ head: s, title: `mean rank within ${s}` }))];
  const rows: Td[][] = overall.map((o) => [
    { html: esc(Number.isFinite(o.rank) ? fmt(o.rank) : '—'), sort: Number.isFinite(o.rank) ? o.rank : null, num: true },
    { html: esc(o.arch), sort: o.arch },
    { html: esc(fmt(o.score)), sort: Number.isFinite(o.score) ? o.score : null, num: true },
    ...suites.map((s): Td => ({ html: esc(fmt(o.suiteScores[s])), sort: o.suiteScores[s] ?? null, num: true })),
  ]);
  return `<section id="overall"><h2>Overall rank</h2>
${sortableTable('table-overall', cols, rows)}
<p class="note">Each suite ranks the architectures on its headline metrics (mean rank, ties share a rank); the overall score is the mean of the suite scores, each suite weighing the same. A rank is not a significance claim: see the badges in each suite's table for paired comparisons.</p></section>`;
}

function tableHtml(t: PaperTableResult): string {
  const status = t.status === 'ok' ? '' : `<p class="notyet"><strong>Not yet measurable:</strong> ${esc(t.why)}</p>`;
  const head = `<tr><th>model</th>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr><td>${esc(r.label)}${r.source === 'ours' ? ' <span class="muted">(ours)</span>' : ''}</td>${r.cells.map((c) => `<td class="num">${esc(cellText(c))}</td>`).join('')}</tr>`).join('');
  const notes = [t.metric ? `metric ${t.metric} (suite ${t.suite}); ours: mean [95% interval]` : '', ...t.notes, t.paper ? `paper rows: ${t.paper.scale ?? ''}; source ${t.paper.source}${t.paper.note ? `. ${t.paper.note}` : ''}` : ''].filter(Boolean);
  return `<h4>${esc(t.title)}</h4>${status}${t.rows.length ? `<table class="paper-table"><thead>${head}</thead><tbody>${body}</tbody></table>` : ''}${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}`;
}

export function ledgerHtml(results: PaperResult[]): string {
  const rows: Td[][] = results.flatMap((r) => r.claims.map((c): Td[] => [
    { html: esc(r.paper.short), sort: r.paper.short },
    { html: esc(c.text), sort: c.text },
    { html: verdictBadge(c.verdict), sort: c.verdict },
    { html: esc(c.why) },
    { html: esc(c.expected ?? '') },
  ]));
  return sortableTable('table-claims', [{ head: 'paper' }, { head: 'claim' }, { head: 'verdict' }, { head: 'measured' }, { head: 'expected' }], rows);
}

export function paperHtml(r: PaperResult): string {
  const p = r.paper;
  return `<article class="paper" id="paper-${anchor(p.id)}"><h3>${esc(p.title)}</h3>
<p>${esc(p.summary)}</p><p class="note">Sources: ${esc(p.sources.join('; '))}. Status: ${verdictBadge(r.status)}</p>
${r.missing.length ? `<ul class="note">${r.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>` : ''}
<table><thead><tr><th>claim</th><th>verdict</th><th>measured</th></tr></thead><tbody>${r.claims.map((c) => `<tr><td>${esc(c.text)}</td><td>${verdictBadge(c.verdict)}</td><td class="note">${esc(c.why)}</td></tr>`).join('')}</tbody></table>
${r.tables.map(tableHtml).join('\n')}</article>`;
}

function papersSection(results: PaperResult[], info: ReproduceInfo): string {
  return `<section id="papers"><h2>Papers: claims ledger</h2>
<p class="note">archbench reproduce on preset ${esc(info.preset)}, ${esc(info.seeds)} seed(s). A claim holds or fails only when its interval excludes the other side; otherwise it is inconclusive. Trends at our scale, never the papers' absolute numbers. Also in claims.md / claims.json and papers/*.md, *.html beside this file.</p>
${ledgerHtml(results)}
${results.map(paperHtml).join('\n')}</section>`;
}

/** The efficiency crossovers against the reference, from the records: written beside the page, and its table. */
function efficiencyCrossovers(records: ResultRecord[], reportDir: string): string {
  const rows = crossoversFromRecords(records);
  const { json, csv } = crossoversFile(rows);
  writeAtomic(join(reportDir, 'efficiency-crossovers.json'), json);
  writeAtomic(join(reportDir, 'efficiency-crossovers.csv'), csv);
  return crossoversHtml(rows);
}

/** Build DIR/report/. Throws when DIR has no records (the command turns that into a usage error). */
export async function buildReport(dir: string, opts: { log?: (s: string) => void } = {}): Promise<ReportResult> {
  const log = opts.log ?? (() => {});
  const records = readRecords(dir);
  const manifest = readJson<Manifest>(join(dir, 'manifest.json'));
  const reportDir = join(dir, 'report');
  const figDir = join(reportDir, 'figures');
  rmSync(figDir, { recursive: true, force: true });
  mkdirSync(figDir, { recursive: true });
  const textMeasure = await setupText();
  const groups = groupRecords(records);
  const suites = [...new Set(records.map((r) => r.suite))];
  const errors: string[] = [];
  const figuresOut: ReportResult['figures'] = [];
  const rankings = suites.map((s) => rankSuite(s, groups));
  const sections: string[] = [];
  for (const [i, suite] of suites.entries()) {
    const { figures, errors: figErrors } = figuresFor(suite, records);
    errors.push(...figErrors);
    const rendered: { title: string; caption?: string; svg: string; file: string }[] = [];
    for (const f of figures) {
      try {
        const { svg } = await renderFigure(f.vegaLite, figDir, f.file);
        rendered.push({ title: f.title, caption: f.caption, svg, file: f.file });
        figuresOut.push({ suite, file: f.file, origin: f.origin });
      } catch (e) {
        errors.push(`figure ${f.file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    log(`report: ${suite}: ${rendered.length} figure(s)`);
    sections.push(suiteSection(suite, groups, rankings[i]!, rendered, records, suite === 'efficiency' ? efficiencyCrossovers(records, reportDir) : ''));
  }
  // Papers: only for a reproduce run.
  const info = readJson<ReproduceInfo>(join(dir, 'reproduce.json'));
  let papers: PaperResult[] = [];
  if (info) {
    const all = loadPapers();
    papers = info.papers.map((id) => all.find((p) => p.id === id)).filter((p): p is NonNullable<typeof p> => Boolean(p)).map((p) => evaluatePaper(p, records, { layers: get(manifest, 'preset', 'size', 'layers') as number | undefined }));
    const papersDir = join(reportDir, 'papers');
    mkdirSync(papersDir, { recursive: true });
    for (const r of papers) {
      writeAtomic(join(papersDir, `${anchor(r.paper.id)}.md`), paperMarkdown(r));
      writeAtomic(join(papersDir, `${anchor(r.paper.id)}.html`), page(`${r.paper.short} — archbench`, paperHtml(r), { script: false }));
    }
    writeAtomic(join(reportDir, 'claims.md'), ledgerMarkdown(papers, info));
    writeAtomic(join(reportDir, 'claims.json'), `${JSON.stringify({ preset: info.preset, seeds: info.seeds, claims: papers.flatMap((r) => r.claims), papers: papers.map((r) => ({ id: r.paper.id, status: r.status, missing: r.missing })) }, null, 2)}\n`);
  }
  const preset = (get(manifest, 'preset', 'name') as string | undefined) ?? [...new Set(records.map((r) => r.preset))].join(', ');
  const nav = [
    '<a href="#run">run</a>', '<a href="#overall">overall rank</a>',
    ...suites.map((s) => `<a href="#suite-${anchor(s)}">${esc(s)}</a>`),
    ...(info ? ['<a href="#papers">papers</a>'] : []),
  ].join('');
  const body = `<header><h1>archbench leaderboard</h1>
<p class="muted">preset ${esc(preset)} · ${esc(records.length)} records · ${esc(suites.length)} suite(s) · generated ${esc(new Date().toISOString())}</p>
<nav>${nav}</nav></header>
${errors.length ? `<section class="errors"><h2>Problems while building this report</h2><ul>${errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></section>` : ''}
${manifestSection(manifest, records, dir)}
${records.length ? overallSection(rankings) : '<p>No records in this run.</p>'}
${sections.join('\n')}
${info ? papersSection(papers, info) : ''}`;
  const html = page(`archbench leaderboard — ${preset}`, body);
  const index = join(reportDir, 'index.html');
  writeAtomic(index, html);
  return { index, bytes: Buffer.byteLength(html), figures: figuresOut, errors, papers, textMeasure };
}
