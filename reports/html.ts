// HTML building blocks: escaping (every string from configs and records goes through esc), a
// self-contained page (inline CSS and script, a Content-Security-Policy that forbids any request but
// data: images), sortable tables and folded (compressed, collapsed) sections.
import { gunzipSync, gzipSync } from 'node:zlib';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escape text for HTML element content and quoted attribute values. */
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);

/** An id / anchor from any string: only [a-z0-9-]. */
export const anchor = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';

export const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d8dde6; --bg: #fff; --accent: #2c5fa8; --good: #1f7a3a; --bad: #a23030; --tie: #6b6b6b; --grey: #8a919c; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', Verdana, system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1400px; padding: 0 20px 48px; font-size: 14px; line-height: 1.45; overflow-wrap: break-word; }
header { border-bottom: 2px solid var(--accent); margin-bottom: 12px; padding: 16px 0 8px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; } nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
a { color: var(--accent); }
.muted, .note { color: var(--muted); } .note { font-size: 12.5px; }
.banner { background: #fff4d6; border: 1px solid #e0b84a; border-radius: 4px; padding: 8px 12px; margin: 10px 0; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; max-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; } td { overflow-wrap: break-word; } td.note { overflow-wrap: anywhere; }
table.sortable th { cursor: pointer; user-select: none; background: #f3f5f9; }
table.sortable th::after { content: ' \\2195'; color: #9aa3b2; font-size: 11px; }
table.sortable th[aria-sort=ascending]::after { content: ' \\25B2'; color: var(--accent); }
table.sortable th[aria-sort=descending]::after { content: ' \\25BC'; color: var(--accent); }
table.long { font-size: 12px; } table.long td { padding: 2px 6px; }
.ci { color: var(--muted); font-size: 12px; white-space: nowrap; }
.badge { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 8px; margin-left: 4px; border: 1px solid currentColor; white-space: nowrap; }
.leader, .holds, .better { color: var(--good); } .worse, .fails { color: var(--bad); } .tied, .inconclusive, .smokerunnoverdict { color: var(--tie); } .notyet, .notyetmeasurable, .flag { color: #8a5a00; }
.flagged, .flagged .ci, td.flagged { color: var(--grey); opacity: 0.8; } .flagged { background: repeating-linear-gradient(135deg, transparent 0 6px, #f1f2f4 6px 8px); }
.flag-name { font-size: 11px; color: #8a5a00; font-style: italic; white-space: nowrap; } .na { color: var(--grey); }
.papers-summary { padding-left: 18px; } .papers-summary li { margin: 3px 0; } .verdict-link { text-decoration: none; }
dl.manifest { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 14px; margin: 6px 0; }
dl.manifest dt { font-weight: bold; color: var(--muted); } dl.manifest dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f6f7f9; padding: 8px; overflow: auto; max-height: 360px; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.suite-top { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; } .suite-top > div.scroll { flex: 1 1 520px; min-width: 0; }
.headline-figure { flex: 0 1 560px; min-width: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; margin: 10px 0; }
figure { margin: 0; border: 1px solid var(--line); padding: 8px; background: #fff; max-width: 100%; min-width: 0; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: 'DejaVu Sans', Verdana, sans-serif; }
figcaption { font-size: 12px; color: var(--muted); max-width: 560px; margin-top: 4px; }
.paper-pair { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; } .paper-pair > div { flex: 1 1 420px; min-width: 0; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--accent); }
.errors { color: var(--bad); }
.scroll { overflow-x: auto; max-width: 100%; }
@media (max-width: 600px) { body { padding: 0 10px 32px; font-size: 13px; } th, td { padding: 3px 5px; } }
`;

/**
 * The page's one script. Sorting: click (or Enter / Space on) a header; numbers by data-sort, text
 * otherwise; blanks last. Folded sections (see `folded`): a <details data-gz> holds its content gzipped
 * (base64) and inflates it on first open (DecompressionStream; nothing is fetched). A link to something
 * inside a collapsed <details> (a figure, a measurement) inflates the folded sections if need be and opens it.
 */
export const PAGE_SCRIPT = `
(function () {
  'use strict';
  function key(row, i) {
    var c = row.cells[i];
    if (!c) return { blank: true };
    var raw = c.hasAttribute('data-sort') ? c.getAttribute('data-sort') : c.textContent.trim();
    if (raw === '' || raw === '\\u2014') return { blank: true };
    var n = Number(raw);
    return isFinite(n) ? { n: n } : { s: raw };
  }
  function sortBy(table, i, th) {
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, idx) { return { r: r, k: key(r, i), idx: idx }; });
    var sign = dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      if (a.k.blank || b.k.blank) return a.k.blank && b.k.blank ? a.idx - b.idx : a.k.blank ? 1 : -1;
      var d;
      if (a.k.n !== undefined && b.k.n !== undefined) d = a.k.n - b.k.n;
      else if (a.k.n !== undefined) d = -1;
      else if (b.k.n !== undefined) d = 1;
      else d = a.k.s.localeCompare(b.k.s, undefined, { numeric: true });
      return d ? d * sign : a.idx - b.idx;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
  }
  function makeSortable(root) {
    root.querySelectorAll('table.sortable').forEach(function (table) {
      if (!table.tHead) return;
      var heads = table.tHead.rows[0].cells;
      for (var i = 0; i < heads.length; i++) {
        (function (th, i) {
          th.tabIndex = 0;
          th.addEventListener('click', function () { sortBy(table, i, th); });
          th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, i, th); } });
        })(heads[i], i);
      }
    });
  }

  var inflating = new Map();
  function inflate(d) {
    if (!inflating.has(d)) {
      var bytes = Uint8Array.from(atob(d.getAttribute('data-gz')), function (c) { return c.charCodeAt(0); });
      var text = new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
      inflating.set(d, text.then(function (html) {
        d.insertAdjacentHTML('beforeend', html);
        d.removeAttribute('data-gz');
        makeSortable(d);
      }));
    }
    return inflating.get(d);
  }
  var folded = document.querySelectorAll('details[data-gz]');
  folded.forEach(function (d) { d.addEventListener('toggle', function () { if (d.open) inflate(d); }); });

  function reveal(retried) {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (id && !el && !retried && document.querySelector('details[data-gz]')) {
      Promise.all(Array.prototype.map.call(folded, inflate)).then(function () { reveal(true); });
      return;
    }
    for (var d = el && el.parentElement; d; d = d.parentElement) if (d.tagName === 'DETAILS') d.open = true;
    if (el) el.scrollIntoView();
  }
  makeSortable(document);
  window.addEventListener('hashchange', function () { reveal(false); });
  if (location.hash) reveal(false);
  document.documentElement.setAttribute('data-sort-ready', '1');
})();
`;

/**
 * A collapsed section whose content (already-escaped HTML) is stored gzipped, base64, in data-gz and
 * inflated by the page script on first open: the page stays one self-contained file at a fraction of the
 * bytes. Without JavaScript the section says where the same content is.
 */
export function folded(summary: string, inner: string, cls: string): string {
  const gz = gzipSync(Buffer.from(inner), { level: 9 }).toString('base64');
  return `<details class="${esc(cls)}" data-gz="${gz}"><summary>${summary}</summary><noscript><p class="note">This section is stored compressed and opens with JavaScript; the same data is in the run's records.jsonl and in figures/ beside this page.</p></noscript></details>`;
}

/** A page with every folded section inflated in place (for tests and tools reading the HTML as text). */
export const unfold = (html: string): string =>
  html.replace(/(<details [^>]*?) data-gz="([^"]*)"(.*?<\/summary>)<noscript>.*?<\/noscript>/g, (_m, open: string, gz: string, summary: string) => `${open}${summary}${gunzipSync(Buffer.from(gz, 'base64')).toString()}`);

export interface Col {
  head: string;
  title?: string;
}

export interface Td {
  /** Already-escaped HTML content. */
  html: string;
  sort?: number | string | null;
  num?: boolean;
}

export function sortableTable(id: string, cols: Col[], rows: Td[][], caption?: string): string {
  const head = cols.map((c) => `<th scope="col"${c.title ? ` title="${esc(c.title)}"` : ''}>${esc(c.head)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => {
    const sort = c.sort === undefined ? '' : ` data-sort="${esc(c.sort === null || (typeof c.sort === 'number' && !Number.isFinite(c.sort)) ? '' : c.sort)}"`;
    return `<td${c.num ? ' class="num"' : ''}${sort}>${c.html}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table class="sortable" id="${esc(id)}">${caption ? `<caption class="note">${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

export function page(title: string, body: string, opts: { script?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
${opts.script === false ? '' : `<script>${PAGE_SCRIPT}</script>`}
</body>
</html>
`;
}

export const dataUri = (mime: string, content: string | Buffer): string => `data:${mime};base64,${Buffer.from(content).toString('base64')}`;
