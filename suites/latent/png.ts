// A row of small grey images as one PNG data URI (a Vega-Lite image mark), not a rect per pixel.
import { createCanvas } from '@napi-rs/canvas';
import type { VegaLiteSpec } from '../interface.ts';

/** One PNG strip per (row, arch) cell: rows of methods, columns of architectures. */
export function stripsSpec(values: { arch: string; row: string; url: string }[], width: number, height: number): VegaLiteSpec {
  return {
    data: { values },
    facet: {
      row: { field: 'row', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } },
      column: { field: 'arch', type: 'nominal', title: null },
    },
    spec: {
      width, height,
      mark: { type: 'image', width, height, aspect: false, align: 'left', baseline: 'top' },
      encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
    },
  };
}

/** `count` cells of w x h side by side; pixel(cell, x, y) in [0, 1] (1 = white). */
export function stripPng(count: number, w: number, h: number, pixel: (cell: number, x: number, y: number) => number): string {
  const canvas = createCanvas(count * w, h);
  const g = canvas.getContext('2d');
  const img = g.createImageData(count * w, h);
  for (let c = 0; c < count; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = 4 * (y * count * w + c * w + x);
    img.data[o] = img.data[o + 1] = img.data[o + 2] = Math.round(Math.min(1, Math.max(0, pixel(c, x, y))) * 255);
    img.data[o + 3] = 255;
  }
  g.putImageData(img, 0, 0);
  return `data:image/png;base64,${canvas.toBuffer('image/png').toString('base64')}`;
}
