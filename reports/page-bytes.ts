// Where a leaderboard page's bytes go: per part (the page's head, header, each <section>), the bytes of
// its visible inline SVG, its visible tables, its folded (compressed) sections and the rest. Used by
// tools/leaderboard-bytes.mjs and by the page-size test, which prints it when the page is too large.

export interface PartBytes {
  part: string;
  bytes: number;
  svg: number;
  tables: number;
  folded: number;
  other: number;
}

const bytesOf = (s: string) => Buffer.byteLength(s);
const sumOf = (s: string, re: RegExp) => [...s.matchAll(re)].reduce((n, m) => n + bytesOf(m[0]), 0);

/** Folded sections first (their tables and SVG are inside the compressed payload), then what is visible. */
function partBytes(part: string, html: string): PartBytes {
  const foldedRe = /<details [^>]*data-gz="[^"]*".*?<\/details>/gs;
  const folded = sumOf(html, foldedRe);
  const visible = html.replace(foldedRe, '');
  const svg = sumOf(visible, /<svg\b.*?<\/svg>/gs);
  const tables = sumOf(visible.replace(/<svg\b.*?<\/svg>/gs, ''), /<table\b.*?<\/table>/gs);
  const bytes = bytesOf(html);
  return { part, bytes, svg, tables, folded, other: bytes - svg - tables - folded };
}

/** The page cut at its <section id=...> starts: 'head' (styles, script) and 'header' before the first. */
export function pageBytes(html: string): PartBytes[] {
  const bodyAt = html.indexOf('<body>');
  const starts = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => ({ at: m.index!, part: m[1]! }));
  const cuts = [{ at: 0, part: 'head' }, { at: bodyAt < 0 ? 0 : bodyAt, part: 'header' }, ...starts, { at: html.length, part: '' }];
  return cuts.slice(0, -1).map((c, i) => partBytes(c.part, html.slice(c.at, cuts[i + 1]!.at)));
}

/** The breakdown as aligned text lines, largest part first, with the total. */
export function pageBytesText(parts: PartBytes[]): string {
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  const kb = (n: number) => (n / 1024).toFixed(1).padStart(8);
  const head = `${'part'.padEnd(22)}${'KiB'.padStart(8)}${'svg'.padStart(8)}${'tables'.padStart(8)}${'folded'.padStart(8)}${'other'.padStart(8)}`;
  const rows = [...parts].sort((a, b) => b.bytes - a.bytes).map((p) => `${p.part.padEnd(22)}${kb(p.bytes)}${kb(p.svg)}${kb(p.tables)}${kb(p.folded)}${kb(p.other)}`);
  return [head, ...rows, `${'total'.padEnd(22)}${kb(total)}  (${total.toLocaleString('en-US')} B)`].join('\n');
}
