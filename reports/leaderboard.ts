// The leaderboard's sections, verdict first: the smoke-run banner, the summary (claims ledger counts and
// each paper's verdicts, then each suite's winner on its headline metric against the reference), the
// overall rank and one section per suite (headline figure, headline columns, the rest folded).
import { REFERENCE_ARCH } from '../harness/models.ts';
import type { ResultRecord } from '../harness/store.ts';
import { getSuite } from '../suites/index.ts';
import { discriminates, fmt, NOT_DISCRIMINATING, overallRank, pairedCompare, seedSeries, seriesStats, type MetricGroup, type SuiteRanking } from './aggregate.ts';
import { claimAnchor, shownVerdict, verdictCounts, type PaperResult } from './claims.ts';
import { formatChange, formatParts, formatValue, headerUnit, words } from './format.ts';
import { anchor, esc, folded, sortableTable, type Td } from './html.ts';
import { HARNESS_METRICS, isTail } from './metrics.ts';

/** A rendered figure, its SVG already minified for inlining. */
export interface RenderedFigure {
  title: string;
  caption?: string;
  svg: string;
  file: string;
  covers: string[];
  /** Files written beside the figure, linked under it (paths relative to index.html). */
  links?: { href: string; label: string }[];
}

/** Runs whose verdicts are not evidence: the tiny preset (a smoke test) or a single seed. */
export function smokeReason(preset: string, seeds: number): string | null {
  if (preset === 'tiny') return `preset tiny is a smoke test (${seeds} seed${seeds === 1 ? '' : 's'})`;
  if (seeds < 2) return 'one seed: no interval over seeds';
  return null;
}

export function banner(reason: string | null): string {
  if (!reason) return '';
  return `<p class="banner" id="banner" role="note"><strong>Not evidence.</strong> ${esc(reason)}: the ranks, winners and claim verdicts below only show that the pipeline runs. Run <code>--preset small --seeds 3</code> or more before reading them as findings.</p>`;
}

export const verdictBadge = (v: string, title?: string): string => `<span class="badge ${esc(v.replace(/[^a-z]/g, ''))}"${title ? ` title="${esc(title)}"` : ''}>${esc(v)}</span>`;

/** The ledger's counts and each paper's verdicts, each a link to its evidence in the papers section. */
function ledgerSummary(papers: PaperResult[], preset: string): string {
  const counts = verdictCounts(papers, preset);
  const rows = papers.map((r) => `<li><a href="#paper-${anchor(r.paper.id)}">${esc(r.paper.short)}</a>: ${r.claims.map((c) => {
    const v = shownVerdict(c.verdict, preset);
    return `<a class="verdict-link" href="#${claimAnchor(r.paper.id, c.claim)}" title="${esc(c.text)}">${verdictBadge(v)}</a>`;
  }).join(' ')}</li>`).join('');
  return `<h3>Claims ledger</h3><p class="ledger-counts">${esc(counts)}</p><ul class="papers-summary">${rows}</ul>`;
}

/** Each suite's winner on its first headline metric, with the difference against the reference and its paired interval. */
function winners(groups: MetricGroup[], rankings: SuiteRanking[]): string {
  const rows: Td[][] = rankings.map((r) => {
    const metric = r.headline[0];
    const g = groups.find((x) => x.suite === r.suite && x.metric === metric);
    const suiteCell = { html: `<a href="#suite-${anchor(r.suite)}">${esc(r.suite)}</a>`, sort: r.suite };
    if (!metric || !g) {
      const why = r.excluded[0] ? `${words(r.excluded[0].metric)}: ${r.excluded[0].why}` : 'no headline metric';
      return [suiteCell, { html: '—' }, { html: `<span class="muted">no winner (${esc(why)})</span>` }, { html: '—' }, { html: '—' }];
    }
    const leaders = r.standings.filter((s) => s.ranks[metric] === 1).map((s) => s.arch);
    const pts = r.points[metric]!;
    const lead = seriesStats(seedSeries(g, leaders[0]!, pts));
    const ref = leaders.includes(REFERENCE_ARCH) ? null : seedSeries(g, REFERENCE_ARCH, pts);
    let effect = '—';
    if (leaders.includes(REFERENCE_ARCH)) effect = `the reference (${esc(REFERENCE_ARCH)}) leads`;
    else if (ref && ref.values.size && r.standings.find((s) => s.arch === REFERENCE_ARCH)?.ranks[metric] !== undefined) {
      const res = pairedCompare(seedSeries(g, leaders[0]!, pts), ref, g.info.direction, { exact: g.info.kind === 'memory' });
      const refMean = seriesStats(ref).mean;
      const rel = refMean ? ` (${formatChange(res.diff / Math.abs(refMean))})` : '';
      effect = `${esc(formatValue(res.diff, g.unit, res.ci95, { difference: true }))}${esc(rel)} <span class="muted">${esc(res.verdict === 'tied' ? 'not separated' : res.method)}</span>`;
    } else effect = `<span class="muted">${esc(REFERENCE_ARCH)} not ranked on this metric</span>`;
    return [suiteCell, { html: esc(`${words(metric)} ${dirArrow(g)}`) }, { html: esc(leaders.join(', ')) }, { html: esc(formatValue(lead.mean, g.unit, lead.ci95)), num: true }, { html: effect }];
  });
  return `<h3>Winners by suite</h3>${sortableTable('table-winners', [{ head: 'suite' }, { head: 'headline metric' }, { head: 'winner' }, { head: 'value [95%]' }, { head: `vs ${REFERENCE_ARCH}: difference [paired 95%]` }], rows)}
<p class="note">The winner has rank 1 on the suite's first headline metric (ties share it). The difference is winner − ${esc(REFERENCE_ARCH)} on the same seeds and items, with its paired 95% interval; "not separated" when the interval includes 0.</p>`;
}

/** The top of the page: the summary a reader needs first. */
export function verdictSection(groups: MetricGroup[], rankings: SuiteRanking[], papers: PaperResult[] | null, preset: string): string {
  return `<section id="verdict"><h2>Verdict</h2>
${papers ? ledgerSummary(papers, preset) : ''}
${rankings.length ? winners(groups, rankings) : '<p>No records in this run.</p>'}</section>`;
}

const dirArrow = (g: MetricGroup) => (g.info.direction === 'lower' ? '↓' : g.info.direction === 'higher' ? '↑' : '');

function metricHead(g: MetricGroup): { head: string; title: string } {
  const unit = headerUnit(g.unit);
  return { head: `${words(g.metric)}${unit ? ` (${unit})` : ''} ${dirArrow(g)}`.trim(), title: `${g.metric}: ${g.info.direction === 'none' ? 'informational' : `${g.info.direction} is better`}; ${g.info.kind}${g.axes.length ? `; mean over ${g.axes.join(', ')}` : ''}` };
}

/** One table cell: mean [95%] with its badge, greyed and unbadged where the measurement cannot discriminate. */
function metricCell(g: MetricGroup, ranking: SuiteRanking, arch: string): Td {
  const st = ranking.standings.find((s) => s.arch === arch)!;
  const mine = g.cells.filter((c) => c.arch === arch);
  const pts = ranking.points[g.metric] ?? [];
  const s = seriesStats(seedSeries(g, arch, pts));
  // The flags of the cells the shown mean is over (all of them when it has none).
  const shown = mine.filter((c) => pts.includes(c.axesKey));
  const flags = [...new Set((Number.isFinite(s.mean) ? shown : mine).flatMap((c) => c.flags))];
  const flagText = flags.map((f) => `<span class="flag-name">${esc(words(f))}</span>`).join(' ');
  if (!Number.isFinite(s.mean)) {
    const note = mine.flatMap((c) => c.notes)[0];
    return { html: flags.length ? `<span class="na"${note ? ` title="${esc(note)}"` : ''}>n/a</span> ${flagText}` : '—', sort: null, num: true };
  }
  const p = formatParts(s.mean, g.unit, s.ci95);
  const value = `${esc(p.value)}${p.interval ? ` <span class="ci">${esc(p.interval)}</span>` : ''}`;
  const notDiscriminating = st.flagged[g.metric] ?? (shown.length && !shown.some(discriminates) ? flags.filter((f) => NOT_DISCRIMINATING.has(f)) : null);
  if (notDiscriminating) return { html: `<span class="flagged" title="not discriminating: left out of every rank">${value} ${flagText}</span>`, sort: s.mean, num: true };
  const vs = st.vsLeader[g.metric];
  const badge = vs && vs.verdict !== 'tied' ? verdictBadge(vs.verdict, vs.result ? `${vs.result.why}; difference ${formatValue(vs.result.diff, g.unit, vs.result.ci95, { difference: true })}` : 'best mean (rank 1)') : vs ? verdictBadge('tied', vs.result?.why) : '';
  return { html: `${value}${badge}${flags.length ? ` ${flagText}` : ''}`, sort: s.mean, num: true };
}

/** Metric columns beside the headline figure (headline metrics first); the others are folded under "Other metrics". */
const MAX_COLUMNS = 4;

/** Metrics a suite tabulates besides its headline ones (informational, tails and bookkeeping stay in "all measurements"). */
const secondary = (g: MetricGroup, headline: string[]) => !headline.includes(g.metric) && g.info.kind !== 'bookkeeping' && g.info.kind !== 'count' && g.info.direction !== 'none' && !HARNESS_METRICS.has(g.metric) && !isTail(g.metric);

function standingsTable(id: string, groups: MetricGroup[], ranking: SuiteRanking, withRank: boolean): string {
  const cols = [...(withRank ? [{ head: 'rank', title: 'competition rank of the mean rank over the headline metrics (1 = best; ties share a rank)' }] : []), { head: 'architecture' }, ...groups.map(metricHead)];
  const rows: Td[][] = ranking.standings.map((st) => [
    ...(withRank ? [{ html: Number.isFinite(st.rank) ? `${esc(st.rank)}${st.score !== st.rank ? ` <span class="ci" title="mean rank over the headline metrics">(mean ${esc(fmt(st.score))})</span>` : ''}` : '<span class="muted" title="not ranked: every headline measurement is at floor, shortcut or ceiling, or missing">—</span>', sort: Number.isFinite(st.rank) ? st.score : null, num: true }] : []),
    { html: esc(st.arch), sort: st.arch },
    ...groups.map((g) => metricCell(g, ranking, st.arch)),
  ]);
  return sortableTable(id, cols, rows);
}

function figureHtml(f: RenderedFigure): string {
  const links = f.links?.length ? `<br>${f.links.map((l) => `<a href="${esc(l.href)}">${esc(l.label)}</a>`).join(' · ')}` : '';
  return `<figure id="fig-${esc(f.file)}" data-file="${esc(f.file)}">${f.svg}<figcaption>${esc(f.title)}${f.caption ? ` — ${esc(f.caption)}` : ''}${links}</figcaption></figure>`;
}

/** The figure a suite leads with: the one covering its first headline metric, else its first. */
export function headlineFigure(figs: RenderedFigure[], ranking: SuiteRanking): RenderedFigure | undefined {
  const first = ranking.headline[0] ?? ranking.excluded[0]?.metric;
  return figs.find((f) => first !== undefined && f.covers.includes(first)) ?? figs[0];
}

/** One suite's section; `extra` is HTML of its own placed after the table (the efficiency crossovers). */
export function suiteSection(suite: string, groups: MetricGroup[], ranking: SuiteRanking, figs: RenderedFigure[], records: ResultRecord[], extra = ''): string {
  const mine = groups.filter((g) => g.suite === suite);
  const desc = getSuite(suite)?.description ?? 'suite not registered in this build';
  const headlineNames = [...ranking.headline, ...ranking.excluded.map((e) => e.metric)];
  const head = mine.filter((g) => headlineNames.includes(g.metric));
  const rest = mine.filter((g) => secondary(g, headlineNames));
  const shown = [...head, ...rest].slice(0, MAX_COLUMNS);
  const more = [...head, ...rest].filter((g) => !shown.includes(g));
  const seeds = new Set(records.filter((r) => r.suite === suite).map((r) => r.seed));
  const notes = [
    `Mean [95% interval] (${seeds.size > 1 ? `t over ${seeds.size} seeds` : 'one seed: the records\' own intervals where they carry one'}). Badges: paired comparison with the leader on the same seeds; "tied" when the data cannot separate them. Greyed: floor, shortcut or ceiling — not discriminating, no badge, out of every rank.`,
    ranking.headline.length ? `Rank over ${ranking.headline.map(words).join(', ')}.` : 'No discriminating headline metric: not ranked.',
    ...ranking.excluded.map((e) => `Left out of the rank: ${words(e.metric)} (${e.why}).`),
  ];
  const diverged = records.filter((r) => r.suite === suite && (r.flag === 'diverged' || r.flag === 'skipped'));
  const divergedNote = diverged.length ? `<p class="note flag">${diverged.map((r) => esc(`${r.arch} seed ${r.seed}: ${r.flag}${r.note ? ` — ${r.note}` : ''}`)).join('<br>')}</p>` : '';
  const lead = headlineFigure(figs, ranking);
  const others = figs.filter((f) => f !== lead);
  const id = anchor(suite);
  return `<section id="suite-${id}" class="suite" data-suite="${esc(suite)}"><h2>Suite: ${esc(suite)}</h2>
<p class="muted">${esc(desc)}</p>
<div class="suite-top">${standingsTable(`table-${id}`, shown, ranking, true)}${lead ? `<div class="headline-figure">${figureHtml(lead)}</div>` : '<p class="note">No figures.</p>'}</div>
${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${divergedNote}
${more.length ? folded(`Other metrics (${more.length})`, standingsTable(`more-${id}`, more, ranking, false), 'more-columns') : ''}
${extra}
${others.length ? folded(`All figures (${others.length} more)`, `<div class="figures">${others.map(figureHtml).join('\n')}</div>`, 'all-figures') : ''}
${allMeasurements(id, mine)}
</section>`;
}

/** Notes of at most NOTE_CHARS characters as they are; a longer one (a data payload, e.g. a sample grid's pixels) is cut, saying where the whole is. */
const NOTE_CHARS = 400;
export const shortNote = (note: string): string =>
  note.length <= NOTE_CHARS ? note : `${note.slice(0, 80)}… (${note.length.toLocaleString('en-US')} characters; whole in records.jsonl)`;

/**
 * Every cell, one compact table per metric with its axes as columns (raw numbers in the record's unit,
 * so columns sort as numbers); notes are numbered once below the table instead of repeated per row.
 */
function allMeasurements(id: string, mine: MetricGroup[]): string {
  const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : Number(v.toPrecision(4)));
  let count = 0;
  const tables = mine.map((g, gi) => {
    const notes: string[] = [];
    const ref = (note: string) => {
      let i = notes.indexOf(note);
      if (i < 0) i = notes.push(note) - 1;
      return i + 1;
    };
    const rows = g.cells.map((c) => `<tr><td>${esc(c.arch)}${g.axes.map((a) => `<td>${esc(c.axes[a])}`).join('')}<td>${c.n}<td>${n(c.mean)}<td>${n(c.ci95?.[0])}<td>${n(c.ci95?.[1])}<td>${esc(c.flags.join(' '))}${c.notes.length ? ` [${c.notes.map(ref).join(',')}]` : ''}`);
    count += rows.length;
    const head = ['architecture', ...g.axes, 'seeds', 'mean', 'ci low', 'ci high', 'flags [notes]'].map((h) => `<th scope="col">${esc(h)}</th>`).join('');
    return `<h4>${esc(g.metric)}${g.unit ? ` (${esc(g.unit)})` : ''}</h4><div class="scroll"><table class="sortable long" id="all-${id}-${gi}"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>${notes.length ? `<ol class="note">${notes.map((x) => `<li>${esc(shortNote(x))}</li>`).join('')}</ol>` : ''}`;
  });
  return folded(`All measurements (${count})`, tables.join('\n'), 'all-measurements');
}

export function overallSection(rankings: SuiteRanking[]): string {
  const overall = overallRank(rankings);
  const suites = rankings.map((r) => r.suite);
  const cols = [{ head: 'rank' }, { head: 'architecture' }, { head: 'score', title: 'mean over suites of the mean rank within each suite (lower is better)' }, ...suites.map((s) => ({ head: s, title: `mean rank within ${s}` }))];
  const rows: Td[][] = overall.map((o) => [
    { html: esc(Number.isFinite(o.rank) ? o.rank : '—'), sort: Number.isFinite(o.rank) ? o.rank : null, num: true },
    { html: esc(o.arch), sort: o.arch },
    { html: esc(fmt(o.score)), sort: Number.isFinite(o.score) ? o.score : null, num: true },
    ...suites.map((s): Td => ({ html: esc(fmt(o.suiteScores[s])), sort: o.suiteScores[s] ?? null, num: true })),
  ]);
  return `<section id="overall"><h2>Overall rank</h2>
${sortableTable('table-overall', cols, rows)}
<p class="note">Each suite ranks the architectures on its headline metrics (mean rank; floor, shortcut and ceiling cells left out); the overall score is the mean of the suite scores, each suite weighing the same; ranks are competition ranks (1, 1, 3). A rank is not a significance claim: see the badges in each suite's table for paired comparisons.</p></section>`;
}
