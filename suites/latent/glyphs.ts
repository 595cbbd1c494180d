// Glyph images, made here: ten classes (digits 0-9) rendered with @napi-rs/canvas in the fonts Debian ships
// (DejaVu, Liberation), each sample with a seeded font, rotation, scale, shear, shift and stroke width,
// grayscale in [0, 1], size S x S. Deterministic per seed; the held-out split draws from a disjoint seed
// stream and (at every split) from the same fonts, so it tests generalisation over jitter, not over fonts.
import { existsSync } from 'node:fs';
import { GlobalFonts, createCanvas } from '@napi-rs/canvas';

export const GLYPH_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf',
];

let fontFamilies: string[] | null = null;

/** Register the fonts present on this machine once; their aliases are glyphfont0.. in file order. */
export function glyphFonts(): string[] {
  if (fontFamilies) return fontFamilies;
  const present = FONT_FILES.filter((f) => existsSync(f));
  if (present.length === 0) throw new Error(`latent: no glyph font found; looked for ${FONT_FILES.join(', ')} (Debian: fonts-dejavu-core, fonts-liberation)`);
  fontFamilies = present.map((file, i) => {
    GlobalFonts.registerFromPath(file, `glyphfont${i}`);
    return `glyphfont${i}`;
  });
  return fontFamilies;
}

/** mulberry32: a small seeded generator, so the data never depends on Math.random. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GlyphSet {
  /** n x S*S pixels, row-major, in [0, 1] (ink = 1). */
  pixels: Float32Array;
  labels: Int32Array;
  size: number;
  n: number;
}

export type GlyphSplit = 'train' | 'test';

/** n glyphs of side `size`, classes cycled so every class has n/10 samples; deterministic in (seed, split). */
export function makeGlyphs(n: number, size: number, seed: number, split: GlyphSplit): GlyphSet {
  const fonts = glyphFonts();
  const rand = seededRandom((seed * 2 + (split === 'test' ? 1 : 0)) * 0x9e3779b1 + 17);
  const canvas = createCanvas(size, size);
  const g = canvas.getContext('2d');
  const pixels = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % GLYPH_CLASSES.length;
    labels[i] = label;
    const font = fonts[Math.floor(rand() * fonts.length)]!;
    const angle = (rand() - 0.5) * 0.5; // +-14 degrees
    const scale = 0.85 + rand() * 0.3;
    const shear = (rand() - 0.5) * 0.4;
    const dx = (rand() - 0.5) * 0.12 * size, dy = (rand() - 0.5) * 0.12 * size;
    const stroke = rand() * 0.06 * size;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.fillStyle = 'black';
    g.fillRect(0, 0, size, size);
    g.translate(size / 2 + dx, size / 2 + dy);
    g.rotate(angle);
    g.transform(scale, 0, shear, scale, 0, 0);
    g.font = `${Math.round(size * 0.8)}px ${font}`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillStyle = 'white';
    g.fillText(GLYPH_CLASSES[label]!, 0, 0);
    if (stroke > 0.3) {
      g.strokeStyle = 'white';
      g.lineWidth = stroke;
      g.strokeText(GLYPH_CLASSES[label]!, 0, 0);
    }
    const rgba = g.getImageData(0, 0, size, size).data;
    for (let p = 0; p < size * size; p++) pixels[i * size * size + p] = rgba[4 * p]! / 255;
  }
  return { pixels, labels, size, n };
}
