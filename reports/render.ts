// Offline rendering: Vega-Lite -> Vega (vega-lite compile) -> a headless View (renderer 'none') ->
// SVG (toSVG) -> PNG (sharp, librsvg). Text is measured with @napi-rs/canvas when it is installed
// (vega would otherwise estimate widths and pad the charts); fonts come from the system (DejaVu Sans,
// Debian's fonts-dejavu-core).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VegaLiteSpec } from '../suites/interface.ts';

type Measure = (item: { font?: string; fontSize?: number; fontStyle?: string; fontVariant?: string; fontWeight?: string | number; text?: unknown }, text?: unknown) => number;

/** The CSS font of a text item, as vega-scenegraph's font() builds it (defaults: 11px sans-serif). */
function fontOf(item: Parameters<Measure>[0]): string {
  const family = item.font ?? 'sans-serif';
  return [item.fontStyle, item.fontVariant, item.fontWeight, `${item.fontSize ?? 11}px`, family].filter((x) => x !== undefined && x !== null && x !== '').join(' ');
}

let textMode: 'canvas' | 'estimate' | undefined;

/** Install canvas text measurement once (a no-op, with vega's estimate kept, when the package is absent). */
export async function setupText(): Promise<'canvas' | 'estimate'> {
  if (textMode) return textMode;
  try {
    const { createCanvas } = await import('@napi-rs/canvas');
    const ctx = createCanvas(1, 1).getContext('2d');
    const metrics = (vega as unknown as { textMetrics: { width: Measure } }).textMetrics;
    metrics.width = (item, text) => {
      const t = text ?? item.text;
      const s = Array.isArray(t) ? t.join(' ') : t == null ? '' : String(t);
      ctx.font = fontOf(item);
      return ctx.measureText(s).width;
    };
    textMode = 'canvas';
  } catch {
    textMode = 'estimate';
  }
  return textMode;
}

/** Compile and render a Vega-Lite spec to an SVG string, entirely offline (no loader access). */
export async function toSvg(spec: VegaLiteSpec): Promise<string> {
  await setupText();
  const vg = compile(spec as never).spec;
  // A loader that refuses everything: figures carry their data inline, nothing is ever fetched.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`figures must not load anything (asked for ${uri})`);
  };
  const view = new vega.View(vega.parse(vg), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(svg), { density: 72 * scale }).png({ compressionLevel: 9 }).toBuffer();
}

/** Write stem.vl.json, stem.svg and stem.png into dir; returns the SVG. */
export async function renderFigure(spec: VegaLiteSpec, dir: string, stem: string): Promise<{ svg: string; pngBytes: number }> {
  writeFileSync(join(dir, `${stem}.vl.json`), `${JSON.stringify(spec, null, 2)}\n`);
  const svg = await toSvg(spec);
  writeFileSync(join(dir, `${stem}.svg`), svg);
  const png = await svgToPng(svg);
  writeFileSync(join(dir, `${stem}.png`), png);
  return { svg, pngBytes: png.length };
}

/** Drop attribute-less <g> wrappers (vega nests many), keeping their children. */
function unwrapBareGroups(svg: string): string {
  const stack: boolean[] = [];
  return svg.replace(/<g>|<g\s[^>]*>|<\/g>/g, (tag) => {
    if (tag === '</g>') return stack.pop() ? '' : tag;
    stack.push(tag === '<g>');
    return tag === '<g>' ? '' : tag;
  });
}

/**
 * An SVG for inlining in the leaderboard: without namespaces (HTML gives them) and vega's class / role / aria attributes, empty
 * backgrounds, hidden paths and bare groups, symbols as circles, default opacities and the font (set once by the page's CSS),
 * coordinates (in tags, never in text) to 0.1 px, ids prefixed by the figure (several charts share one
 * document), and sized by CSS (max-width 100%).
 */
export function inlineSvg(svg: string, file: string, title: string): string {
  const prefix = file.replace(/[^a-zA-Z0-9_-]/g, '-');
  const lean = svg
    .replace(/<\?xml[^>]*>/, '')
    .replace(/ (class|role|aria-[a-z]+|pointer-events|xmlns(:xlink)?|version)="[^"]*"/g, '')
    .replace(/ font-family="DejaVu Sans"/g, '')
    .replace(/<path d="(M0,0h0v0h0Z)?"( display="none")?\/>/g, '')
    .replace(/<path([^>]*?) d="M([\d.]+),0A\2,\2,0,1,1,-\2,0A\2,\2,0,1,1,\2,0"/g, '<circle$1 r="$2"')
    .replace(/ opacity="1"/g, '')
    .replace(/ transform="translate\(0,0\)"/g, '')
    .replace(/<[^>]+>/g, (tag) => tag.replace(/(\d+\.\d)\d+/g, '$1'))
    .replace(/ id="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/^<svg /, `<svg class="chart" role="img" aria-label="${title.replace(/[&<>"']/g, '')}" data-file="${prefix}" `);
  return unwrapBareGroups(lean);
}
