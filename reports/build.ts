// `archbench report DIR`: DIR/report/index.html (one self-contained file), DIR/report/figures/*
// (.vl.json, .svg, .png), for an efficiency run the crossovers against the reference
// (DIR/report/efficiency-crossovers.json, .csv), and, for a reproduce run (DIR/reproduce.json), the
// papers' tables (Markdown and HTML) and the claims ledger.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readRecords, type ResultRecord } from '../harness/store.ts';
import { groupRecords, NOT_DISCRIMINATING, rankSuite } from './aggregate.ts';
import { cellText, claimAnchor, evaluatePaper, ledgerMarkdown, paperMarkdown, shownVerdict, verdictCounts, type PaperResult, type PaperTableResult, type Provenance } from './claims.ts';
import { crossoversFile, crossoversFromRecords, crossoversHtml } from './crossovers.ts';
import { figuresFor } from './figures.ts';
import { anchor, esc, page, sortableTable, type Td } from './html.ts';
import { banner, overallSection, smokeReason, suiteSection, verdictBadge, verdictSection, type RenderedFigure } from './leaderboard.ts';
import { loadPapers, type Paper, type PaperTable } from './papers.ts';
import { inlineSvg, renderFigure, setupText } from './render.ts';

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

function writeAtomic(path: string, text: string | Uint8Array): void {
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

/** Records behind one cell of a paper table that cannot discriminate (floor / shortcut / ceiling). */
function tableCellFlags(spec: PaperTable | undefined, t: PaperTableResult, arch: string, column: string, records: ResultRecord[]): string[] {
  if (!spec || !t.metric) return [];
  const rs = records.filter((r) => r.suite === t.suite && r.metric === t.metric && r.arch === arch && r.flag && NOT_DISCRIMINATING.has(r.flag)
    && Object.entries(spec.where ?? {}).every(([k, v]) => r.dims?.[k] === v) && (!spec.by || String(r.dims?.[spec.by]) === column));
  return [...new Set(rs.map((r) => r.flag!))];
}

function tableHtml(t: PaperTableResult, spec: PaperTable | undefined, records: ResultRecord[]): string {
  const status = t.status === 'ok' ? '' : `<p class="notyet"><strong>Not yet measurable:</strong> ${esc(t.why)}</p>`;
  const head = `<tr><th>model</th>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr><td>${esc(r.label)}${r.source === 'ours' ? ' <span class="muted">(ours)</span>' : ' <span class="muted">(paper)</span>'}</td>${r.cells.map((c, i) => {
    const flags = r.source === 'ours' ? tableCellFlags(spec, t, r.label, t.columns[i]!, records) : [];
    return flags.length ? `<td class="num flagged" title="not discriminating">${esc(cellText(c))} <span class="flag-name">${esc(flags.join(', '))}</span></td>` : `<td class="num">${esc(cellText(c))}</td>`;
  }).join('')}</tr>`).join('');
  const notes = [t.metric ? `metric ${t.metric} (suite ${t.suite}); ours: mean [95% interval]; greyed: floor / shortcut / ceiling, not discriminating` : '', ...t.notes, t.paper ? `paper rows: ${t.paper.scale ?? ''}; source ${t.paper.source}${t.paper.note ? `. ${t.paper.note}` : ''}` : ''].filter(Boolean);
  return `<h4>${esc(t.title)}</h4>${status}${t.rows.length ? `<div class="scroll"><table class="paper-table"><thead>${head}</thead><tbody>${body}</tbody></table></div>` : ''}${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}`;
}

export function ledgerHtml(results: PaperResult[], preset: string | undefined): string {
  const rows: Td[][] = results.flatMap((r) => r.claims.map((c): Td[] => [
    { html: esc(r.paper.short), sort: r.paper.short },
    { html: `<a href="#${claimAnchor(r.paper.id, c.claim)}">${esc(c.text)}</a>`, sort: c.text },
    { html: verdictBadge(shownVerdict(c.verdict, preset)), sort: c.verdict },
    { html: esc(c.why) },
    { html: esc(c.expected ?? '') },
  ]));
  return sortableTable('table-claims', [{ head: 'paper' }, { head: 'claim' }, { head: 'verdict' }, { head: 'measured' }, { head: 'expected' }], rows);
}

/**
 * A paper's section: its claims (each row the anchor its verdict links to), its tables beside our figure
 * of the same metric: drawn on the paper's own page, a link to the suite's copy in the leaderboard.
 */
export function paperHtml(r: PaperResult, meta: Provenance, records: ResultRecord[], figures: RenderedFigure[], opts: { linkFigures?: boolean } = {}): string {
  const p = r.paper;
  const tables = r.tables.map((t) => {
    const fig = figures.find((f) => f.file.startsWith(`${anchor(t.suite)}-`) && t.metric !== undefined && f.covers.includes(t.metric));
    const table = tableHtml(t, p.tables.find((x) => x.id === t.id), records);
    if (!fig) return table;
    if (opts.linkFigures) return `${table}<p class="note">Our figure: <a href="#fig-${esc(fig.file)}">${esc(fig.title)}</a> (suite ${esc(t.suite)}).</p>`;
    return `<div class="paper-pair"><div>${table}</div><figure data-file="${esc(fig.file)}">${fig.svg}<figcaption>ours: ${esc(fig.title)}</figcaption></figure></div>`;
  });
  return `<article class="paper" id="paper-${anchor(p.id)}"><h3>${esc(p.title)}</h3>
<p>${esc(p.summary)}</p><p class="note">Sources: ${esc(p.sources.join('; '))}. Status: ${verdictBadge(r.status)}</p>
${r.missing.length ? `<ul class="note">${r.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>` : ''}
<div class="scroll"><table><thead><tr><th>claim</th><th>verdict</th><th>measured</th></tr></thead><tbody>${r.claims.map((c) => `<tr id="${claimAnchor(p.id, c.claim)}"><td>${esc(c.text)}</td><td>${verdictBadge(shownVerdict(c.verdict, meta.preset))}</td><td class="note">${esc(c.why)}</td></tr>`).join('')}</tbody></table></div>
${tables.join('\n')}</article>`;
}

/** A paper's own page (report/papers/ID.html): provenance and a link back first. */
function paperPage(r: PaperResult, meta: Provenance, records: ResultRecord[], figures: RenderedFigure[]): string {
  const reason = smokeReason(meta.preset ?? '', meta.seeds ?? 1);
  return page(`${r.paper.short} — archbench`, `<header><p><a href="../index.html#paper-${anchor(r.paper.id)}">← back to the leaderboard</a></p>
<p class="muted" id="provenance">${esc(`preset ${meta.preset ?? '?'} · ${meta.seeds ?? '?'} seed(s) · backend ${meta.backend ?? '?'} · commit ${meta.commit ?? 'unknown'}`)}</p></header>
${banner(reason)}
${paperHtml(r, meta, records, figures)}`, { script: false });
}

function papersSection(results: PaperResult[], meta: Provenance, records: ResultRecord[], figures: RenderedFigure[]): string {
  return `<section id="papers"><h2>Papers: claims ledger</h2>
<p class="note">archbench reproduce on preset ${esc(meta.preset)}, ${esc(meta.seeds)} seed(s). ${esc(verdictCounts(results, meta.preset))}. A claim holds or fails only when its interval excludes the other side; otherwise it is inconclusive. Trends at our scale, never the papers' absolute numbers. Also in claims.md / claims.json and papers/*.md, *.html beside this file.</p>
${ledgerHtml(results, meta.preset)}
${results.map((r) => paperHtml(r, meta, records, figures, { linkFigures: true })).join('\n')}</section>`;
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
  const allFigures: RenderedFigure[] = [];
  const rankings = suites.map((s) => rankSuite(s, groups));
  const sections: string[] = [];
  for (const [i, suite] of suites.entries()) {
    const { figures, errors: figErrors } = figuresFor(suite, records);
    errors.push(...figErrors);
    const rendered: RenderedFigure[] = [];
    for (const f of figures) {
      try {
        const { svg } = await renderFigure(f.vegaLite, figDir, f.file);
        const links = (f.files ?? []).map((x) => {
          const name = `${f.file}-${x.name}`;
          writeAtomic(join(figDir, name), x.bytes);
          return { href: `figures/${name}`, label: x.label };
        });
        rendered.push({ title: f.title, caption: f.caption, svg: inlineSvg(svg, f.file, f.title), file: f.file, covers: f.covers ?? [], links });
        figuresOut.push({ suite, file: f.file, origin: f.origin });
      } catch (e) {
        errors.push(`figure ${f.file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    allFigures.push(...rendered);
    log(`report: ${suite}: ${rendered.length} figure(s)`);
    sections.push(suiteSection(suite, groups, rankings[i]!, rendered, records, suite === 'efficiency' ? efficiencyCrossovers(records, reportDir) : ''));
  }
  const preset = (get(manifest, 'preset', 'name') as string | undefined) ?? [...new Set(records.map((r) => r.preset))].join(', ');
  const seedCount = new Set(records.map((r) => r.seed)).size;
  // Papers: only for a reproduce run.
  const info = readJson<ReproduceInfo>(join(dir, 'reproduce.json'));
  const meta: Provenance = { preset: info?.preset ?? preset, seeds: info?.seeds ?? seedCount, backend: String(get(manifest, 'backend') ?? [...new Set(records.map((r) => r.backend))].join(', ')), commit: String(get(manifest, 'git_sha') ?? 'unknown') };
  let papers: PaperResult[] = [];
  if (info) {
    const all = loadPapers();
    papers = info.papers.map((id) => all.find((p) => p.id === id)).filter((p): p is Paper => Boolean(p)).map((p) => evaluatePaper(p, records, { layers: get(manifest, 'preset', 'size', 'layers') as number | undefined }));
    const papersDir = join(reportDir, 'papers');
    mkdirSync(papersDir, { recursive: true });
    for (const r of papers) {
      writeAtomic(join(papersDir, `${anchor(r.paper.id)}.md`), paperMarkdown(r, meta));
      writeAtomic(join(papersDir, `${anchor(r.paper.id)}.html`), paperPage(r, meta, records, allFigures));
    }
    writeAtomic(join(reportDir, 'claims.md'), ledgerMarkdown(papers, meta));
    writeAtomic(join(reportDir, 'claims.json'), `${JSON.stringify({ preset: info.preset, seeds: info.seeds, claims: papers.flatMap((r) => r.claims), papers: papers.map((r) => ({ id: r.paper.id, status: r.status, missing: r.missing })) }, null, 2)}\n`);
  }
  const nav = [
    '<a href="#verdict">verdict</a>', '<a href="#run">run</a>', '<a href="#overall">overall rank</a>',
    ...suites.map((s) => `<a href="#suite-${anchor(s)}">${esc(s)}</a>`),
    ...(info ? ['<a href="#papers">papers</a>'] : []),
  ].join('');
  const body = `<header><h1>archbench leaderboard</h1>
<p class="muted">preset ${esc(preset)} · ${esc(seedCount)} seed(s) · ${esc(records.length)} records · ${esc(suites.length)} suite(s) · generated ${esc(new Date().toISOString())}</p>
<nav>${nav}</nav></header>
${records.length ? banner(smokeReason(preset, seedCount)) : ''}
${errors.length ? `<section class="errors"><h2>Problems while building this report</h2><ul>${errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></section>` : ''}
${verdictSection(groups, rankings, info ? papers : null, meta.preset ?? preset)}
${manifestSection(manifest, records, dir)}
${records.length ? overallSection(rankings) : ''}
${sections.join('\n')}
${info ? papersSection(papers, meta, records, allFigures) : ''}`;
  const html = page(`archbench leaderboard — ${preset}`, body);
  const index = join(reportDir, 'index.html');
  writeAtomic(index, html);
  return { index, bytes: Buffer.byteLength(html), figures: figuresOut, errors, papers, textMeasure };
}
