// The WGSL programs of the fused attention (webgpu.ts), FlashAttention-style (Dao et al. 2022; Dao 2023):
// q [B,H,T,Dh] against k [B,Hk,S,Dh], v [B,Hv,S,Dv] (query head h reads key head h / (H/Hk) and value head
// h / (H/Hv)), tiled over queries and keys so that no T x S score matrix exists.
//   forward: per query row i, over key tiles, s_ij = scale q_i . k_j on the visible keys,
//            m_i <- max(m_i, max_j s_ij),  l_i <- l_i e^(m_old - m_i) + sum_j e^(s_ij - m_i),
//            o_i <- o_i e^(m_old - m_i) + sum_j e^(s_ij - m_i) v_j;  O_i = o_i / l_i,  L_i = m_i + log l_i
//   dQ:      P_ij = e^(s_ij - L_i),  dS_ij = P_ij (dO_i . v_j - D_i) with D_i = dO_i . O_i,
//            dq_i = scale sum_j dS_ij k_j                         (one thread per query row)
//   dK|dV:   dv_j = sum_i P_ij dO_i,  dk_j = scale sum_i dS_ij q_i (one thread per key row, summed over the
//            query heads of its head group: G = max(Hk, Hv) groups of H/G query heads)
// Visible keys of query row i (offset = S - T, the KV cache): all when not causal; else j <= i + offset and,
// with a window w > 0, i + offset - j < w; with LeX's blocks of b > 0 (its block rule), j from blockStart
// = b (floor((i + offset) / b) - 1) on: the keys of its own block come from k, those of the previous block
// from kPrev (the same keys, xPos-rotated at the positions the next block sees them at; webgpu.ts), so
// the shared key tile holds two copies of each key and dK|dV writes a gradient for each copy.
// Diff's pairs of maps (webgpu-pair-wgsl.ts) share the visibility, the tiles and the query-row skeleton.
// Workgroups skip the key (query) tiles no row of theirs sees.
// Rows of q, k, v, dO live as vec4s (head dims zero-padded to a multiple of 4): one shared-memory read per
// four multiply-adds.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { Kernel } from './webgpu-plan.ts';

/** The uniforms every program takes, in this order (webgpu.ts passes their values). */
export const UNIFORMS = 'queries : i32, keys : i32, heads : i32, keyHeads : i32, valueHeads : i32, groups : i32, causal : i32, causalOffset : i32, keyWindow : i32, blockSize : i32, firstRow : i32, scale : f32,';

/** Workgroup width: query rows per workgroup (forward, dQ) or key rows (dK|dV). */
export const ROWS_PER_WORKGROUP = 64;

/** Head dims are held as vec4s, zero-padded: Dh -> 4 ceil(Dh / 4) floats. */
export const vec4s = (n: number): number => Math.ceil(n / 4);

/**
 * What a kernel's (batch x ...) row is: one query head ('heads'), one query head with LeX's two copies of
 * each key ('blocks': k, kPrev), or one of Diff's pairs of maps (query maps 2p, 2p+1, each with its key map).
 */
export type Layout = 'heads' | 'blocks' | 'pairs';
/** Key rows per key (key tile copies), and query rows per (batch x ...) row. */
export const keyCopies = (layout: Layout): number => (layout === 'heads' ? 1 : 2);
const queryMaps = (layout: Layout): number => (layout === 'pairs' ? 2 : 1);

/** Head dims, the shared tile's rows, and the layout. */
export interface ProgramDims { dh: number; dv: number; tile: number; layout: Layout }

/**
 * Rows of the shared tile that fit the workgroup storage: keys [KEYS, copies x Dh | Dv] (forward, dQ) or
 * queries [QUERIES, maps x Dh | Dv] with maps x (L, D) (dK|dV); a power of two <= 32.
 */
export function tileRows(kernel: Kernel, dh: number, dv: number, layout: Layout, workgroupStorageBytes: number): number {
  const maps = queryMaps(layout);
  const floatsPerRow = kernel === 'dkdv' ? 4 * (maps * vec4s(dh) + vec4s(dv)) + 2 * maps : 4 * (keyCopies(layout) * vec4s(dh) + vec4s(dv));
  let rows = 32;
  while (rows > 1 && rows * floatsPerRow * 4 + 64 > workgroupStorageBytes) rows /= 2;
  return rows;
}

export const VISIBILITY = `
const NEG = -3.0e38;
// Keys [x, y) that query row i sees.
fn keySpan(i : i32) -> vec2<i32> {
  if (uniforms.causal == 0) { return vec2<i32>(0, uniforms.keys); }
  let last = i + uniforms.causalOffset;
  var first = 0;
  if (uniforms.keyWindow > 0) { first = max(0, last - uniforms.keyWindow + 1); }
  if (uniforms.blockSize > 0) { first = max(0, ownBlockStart(i) - uniforms.blockSize); }
  return vec2<i32>(first, min(uniforms.keys, last + 1));
}
// The first key of query row i's own block (blocks of blockSize > 0): keys before it are read from kPrev.
fn ownBlockStart(i : i32) -> i32 {
  return ((i + uniforms.causalOffset) / uniforms.blockSize) * uniforms.blockSize;
}
// Queries [x, y) that see some key of [j0, j1).
fn querySpan(j0 : i32, j1 : i32) -> vec2<i32> {
  if (uniforms.causal == 0) { return vec2<i32>(0, uniforms.queries); }
  var end = uniforms.queries;
  if (uniforms.keyWindow > 0) { end = min(end, j1 - 1 - uniforms.causalOffset + uniforms.keyWindow); }
  if (uniforms.blockSize > 0) { end = min(end, ((j1 - 1) / uniforms.blockSize + 2) * uniforms.blockSize - uniforms.causalOffset); }
  return vec2<i32>(max(0, j0 - uniforms.causalOffset), end);
}
fn keyHeadRow(b : i32, h : i32) -> i32 { return b * uniforms.keyHeads + h / (uniforms.heads / uniforms.keyHeads); }
fn valueHeadRow(b : i32, h : i32) -> i32 { return b * uniforms.valueHeads + h / (uniforms.heads / uniforms.valueHeads); }
`;

/**
 * WGSL: `rows` rows of `width` floats from `source` at `from` (rows first.. of it) into `tile` (from its
 * vec4 `at`), zeros from row `end` on; `vectors` (a constant name) set: the tile holds each row as that
 * many vec4s, zero-padded.
 */
export const copyTile = (tile: string, source: string, rows: string, width: string, from: string, first: string, end: string, vectors?: string, at = '') => {
  const stride = vectors ? `${vectors} * 4` : width;
  return `
  for (var e = i32(localIndex); e < ${rows} * ${stride}; e += ROWS) {
    let r = e / (${stride});
    let c = e - r * (${stride});
    var x = 0.0;
    if (${first} + r < ${end} && c < ${width}) { x = ${source}[${from} + r * ${width} + c]; }
    ${vectors ? `${tile}[${at}e / 4][e % 4] = x;` : `${tile}[e] = x;`}
  }`;
};

/**
 * WGSL: `n` floats of `source` from `from` into the vec4 array `row` (from its vec4 `at`; the padding
 * stays zero), times `factor`.
 */
export const loadRow = (row: string, source: string, n: string, from: string, factor = '', at = '') =>
  `for (var d = 0; d < ${n}; d++) { ${row}[${at}d / 4][d % 4] = ${source}[${from} + d]${factor}; }`;

/** WGSL: `n` floats of the vec4 array `row` (from its vec4 `from`; times `factor`) to result from `at`. */
export const storeRow = (row: string, n: string, at: string, factor = '', from = '') =>
  `for (var d = 0; d < ${n}; d++) { result[${at} + d] = ${row}[${from}d / 4][d % 4]${factor}; }`;

/** WGSL constants: head dims (and their vec4 counts), the shared tile's rows (named `tileName`), key copies, query maps, the workgroup's rows. */
export const constants = ({ dh, dv, tile, layout }: ProgramDims, tileName: string) =>
  `const DH = ${dh};\nconst DV = ${dv};\nconst DH4 = ${vec4s(dh)};\nconst DV4 = ${vec4s(dv)};\nconst ${tileName} = ${tile};\nconst COPIES = ${keyCopies(layout)};\nconst MAPS = ${queryMaps(layout)};\nconst ROWS = ${ROWS_PER_WORKGROUP};`;

/**
 * Forward and dQ share this: one thread per query row of (batch x ...) row `unit` (its q row, or with pairs
 * the rows of maps h and h + 1, times scale, as vec4s in qRow), the key tiles [COPIES x KEYS, Dh] (k's rows
 * of key head h, then kPrev's, or k's of key head h + 1) and [KEYS, Dv] as vec4s in workgroup memory,
 * loaded between barriers over the keys any row of the workgroup sees (tileSpan). rowIndex: the row's
 * index into L and D.
 */
export function queryRowKernel(dims: ProgramDims, body: { state: string; perKey: string; write: string }): string {
  const { dh, dv, tile, layout } = dims;
  const second = layout === 'heads' ? '' : copyTile('kTile', layout === 'blocks' ? 'kPrev' : 'k', 'KEYS', 'DH', 'k2Base + j0 * DH', 'j0', 'uniforms.keys', 'DH4', 'KEYS * DH4 + ');
  const unitHeads = layout === 'pairs' ? '(uniforms.heads / 2)' : 'uniforms.heads';
  return `
${constants(dims, 'KEYS')}
var<workgroup> kTile : array<vec4<f32>, ${keyCopies(layout) * tile * vec4s(dh)}>;
var<workgroup> vTile : array<vec4<f32>, ${tile * vec4s(dv)}>;
var<workgroup> tileSpan : vec2<i32>;
${VISIBILITY}
fn loadKeyTile(kBase : i32, k2Base : i32, vBase : i32, j0 : i32) {
  workgroupBarrier();${copyTile('kTile', 'k', 'KEYS', 'DH', 'kBase + j0 * DH', 'j0', 'uniforms.keys', 'DH4')}${second}${copyTile('vTile', 'v', 'KEYS', 'DV', 'vBase + j0 * DV', 'j0', 'uniforms.keys', 'DV4')}
  workgroupBarrier();
}
fn main() {
  let unit = uniforms.firstRow + i32(workgroupId.y);
  let b = unit / ${unitHeads};
  let h = (unit - b * ${unitHeads}) * MAPS;
  let kBase = keyHeadRow(b, h) * uniforms.keys * DH;
  let k2Base = keyHeadRow(b, h + MAPS - 1) * uniforms.keys * DH;
  let vBase = valueHeadRow(b, h) * uniforms.keys * DV;
  let row0 = i32(workgroupId.x) * ROWS;
  let row = row0 + i32(localId.x);
  let live = row < uniforms.queries;
  if (localIndex == 0u) {
    tileSpan = vec2<i32>(keySpan(row0).x, keySpan(min(row0 + ROWS, uniforms.queries) - 1).y);
  }
  let span = workgroupUniformLoad(&tileSpan);
  let mine = keySpan(row);
  let own = ${layout === 'blocks' ? 'ownBlockStart(row)' : '0'};
  let rowIndex = unit * uniforms.queries + min(row, uniforms.queries - 1);
  let qIndex = (b * uniforms.heads + h) * uniforms.queries + min(row, uniforms.queries - 1);
  var qRow : array<vec4<f32>, MAPS * DH4>;
  ${loadRow('qRow', 'q', 'DH', 'qIndex * DH', ' * uniforms.scale')}
  ${layout === 'pairs' ? loadRow('qRow', 'q', 'DH', '(qIndex + uniforms.queries) * DH', ' * uniforms.scale', 'DH4 + ') : ''}
  ${body.state}
  for (var j0 = span.x; j0 < span.y; j0 += KEYS) {
    loadKeyTile(kBase, k2Base, vBase, j0);
    if (live) {
      ${body.perKey}
    }
  }
  let outRow = (unit - uniforms.firstRow) * uniforms.queries + row;
  if (live) {
    ${body.write}
  }
}`;
}

/** WGSL: the tile row of key j0 + c as query row `row` sees it (with blocks: kPrev's copy before `own`). */
const keyRow = (layout: Layout, c: string) => (layout === 'blocks' ? `(${c} + select(0, KEYS, j0 + ${c} < own))` : c);

/** WGSL: s = (scale q_i) . k_(j0 + c). */
const scoreOfKey = (layout: Layout, c: string) => `var s = 0.0; for (var d = 0; d < DH4; d++) { s += dot(qRow[d], kTile[${keyRow(layout, c)} * DH4 + d]); }`;

function forwardCode(dims: ProgramDims): string {
  return queryRowKernel(dims, {
    state: 'var acc : array<vec4<f32>, DV4>; var m = NEG; var l = 0.0;',
    perKey: `
      var scores : array<f32, KEYS>;
      var tileMax = NEG;
      for (var c = 0; c < KEYS; c++) {
        var x = NEG;
        if (j0 + c >= mine.x && j0 + c < mine.y) { ${scoreOfKey(dims.layout, 'c')} x = s; }
        scores[c] = x;
        tileMax = max(tileMax, x);
      }
      if (tileMax > NEG) {
        let mNew = max(m, tileMax);
        let rescale = exp(m - mNew);
        l *= rescale;
        for (var d = 0; d < DV4; d++) { acc[d] *= rescale; }
        for (var c = 0; c < KEYS; c++) {
          if (scores[c] > NEG) {
            let p = exp(scores[c] - mNew);
            l += p;
            for (var d = 0; d < DV4; d++) { acc[d] += p * vTile[c * DV4 + d]; }
          }
        }
        m = mNew;
      }`,
    write: `
    ${storeRow('acc', 'DV', 'outRow * (DV + 1)', ' / l')}
    result[outRow * (DV + 1) + DV] = m + log(l);`,
  });
}

function dqCode(dims: ProgramDims): string {
  return queryRowKernel(dims, {
    state: `
  var dq : array<vec4<f32>, DH4>;
  var gRow : array<vec4<f32>, DV4>;
  ${loadRow('gRow', 'dO', 'DV', 'rowIndex * DV')}
  let logSumExp = lse[rowIndex];
  let rowDelta = delta[rowIndex];`,
    perKey: `
      for (var c = 0; c < KEYS; c++) {
        if (j0 + c >= mine.x && j0 + c < mine.y) {
          ${scoreOfKey(dims.layout, 'c')}
          let p = exp(s - logSumExp);
          var dp = 0.0;
          for (var d = 0; d < DV4; d++) { dp += dot(gRow[d], vTile[c * DV4 + d]); }
          let ds = p * (dp - rowDelta);
          for (var d = 0; d < DH4; d++) { dq[d] += ds * kTile[${keyRow(dims.layout, 'c')} * DH4 + d]; }
        }
      }`,
    write: storeRow('dq', 'DH', 'outRow * DH', ' * uniforms.scale'),
  });
}

/**
 * dK|dV: one thread per key row of head group bg (its k row (and kPrev row), times scale, and v row as
 * vec4s), query tiles [QUERIES, Dh], [QUERIES, Dv] as vec4s and L, D in workgroup memory. With blocks, a
 * query of a later block than the key's reads (and its gradient goes to) the kPrev copy.
 */
function dkdvCode(dims: ProgramDims): string {
  const { dh, dv, tile: queries } = dims;
  const copies = keyCopies(dims.layout);
  return `
${constants(dims, 'QUERIES')}
var<workgroup> qTile : array<vec4<f32>, ${queries * vec4s(dh)}>;
var<workgroup> gTile : array<vec4<f32>, ${queries * vec4s(dv)}>;
var<workgroup> lTile : array<f32, ${queries}>;
var<workgroup> dTile : array<f32, ${queries}>;
var<workgroup> tileSpan : vec2<i32>;
${VISIBILITY}
fn loadQueryTile(bh : i32, i0 : i32) {
  workgroupBarrier();
  let rows = bh * uniforms.queries + i0;${copyTile('qTile', 'q', 'QUERIES', 'DH', 'rows * DH', 'i0', 'uniforms.queries', 'DH4')}${copyTile('gTile', 'dO', 'QUERIES', 'DV', 'rows * DV', 'i0', 'uniforms.queries', 'DV4')}${copyTile('lTile', 'lse', 'QUERIES', '1', 'rows', 'i0', 'uniforms.queries')}${copyTile('dTile', 'delta', 'QUERIES', '1', 'rows', 'i0', 'uniforms.queries')}
  workgroupBarrier();
}
fn main() {
  let bg = uniforms.firstRow + i32(workgroupId.y);
  let b = bg / uniforms.groups;
  let g = bg - b * uniforms.groups;
  let headsPerGroup = uniforms.heads / uniforms.groups;
  let j0 = i32(workgroupId.x) * ROWS;
  let j = j0 + i32(localId.x);
  let live = j < uniforms.keys;
  let key = min(j, uniforms.keys - 1);
  let kRow = keyHeadRow(b, g * headsPerGroup) * uniforms.keys + key;
  let vRow = valueHeadRow(b, g * headsPerGroup) * uniforms.keys + key;
  if (localIndex == 0u) { tileSpan = querySpan(j0, min(j0 + ROWS, uniforms.keys)); }
  let span = workgroupUniformLoad(&tileSpan);
  let seen = querySpan(key, key + 1); // the queries that see key j
  var kScaled : array<vec4<f32>, COPIES * DH4>;
  var vVec : array<vec4<f32>, DV4>;
  ${loadRow('kScaled', 'k', 'DH', 'kRow * DH', ' * uniforms.scale')}
  ${copies === 2 ? loadRow('kScaled', 'kPrev', 'DH', 'kRow * DH', ' * uniforms.scale', 'DH4 + ') : ''}
  ${loadRow('vVec', 'v', 'DV', 'vRow * DV')}
  var dk : array<vec4<f32>, COPIES * DH4>;
  var dv : array<vec4<f32>, DV4>;
  for (var r = 0; r < headsPerGroup; r++) {
    let bh = b * uniforms.heads + g * headsPerGroup + r;
    for (var i0 = span.x; i0 < span.y; i0 += QUERIES) {
      loadQueryTile(bh, i0);
      if (live) {
        for (var c = 0; c < QUERIES; c++) {
          if (i0 + c >= seen.x && i0 + c < seen.y) {
            let copy = ${copies === 2 ? 'select(0, DH4, j < ownBlockStart(i0 + c))' : '0'};
            var s = 0.0;
            for (var d = 0; d < DH4; d++) { s += dot(qTile[c * DH4 + d], kScaled[copy + d]); }
            let p = exp(s - lTile[c]);
            var dp = 0.0;
            for (var d = 0; d < DV4; d++) { dp += dot(gTile[c * DV4 + d], vVec[d]); dv[d] += p * gTile[c * DV4 + d]; }
            let ds = p * (dp - dTile[c]);
            for (var d = 0; d < DH4; d++) { dk[copy + d] += ds * qTile[c * DH4 + d]; }
          }
        }
      }
    }
  }
  if (live) {
    let outRow = (bg - uniforms.firstRow) * uniforms.keys + j;
    let width = COPIES * DH + DV;
    ${storeRow('dk', 'DH', 'outRow * width', ' * uniforms.scale')}
    ${copies === 2 ? storeRow('dk', 'DH', 'outRow * width + DH', ' * uniforms.scale', 'DH4 + ') : ''}
    ${storeRow('dv', 'DV', 'outRow * width + COPIES * DH')}
  }
}`;
}

const INPUTS: Record<Kernel, string[]> = {
  forward: ['q', 'k', 'v'],
  dq: ['q', 'k', 'v', 'dO', 'lse', 'delta'],
  dkdv: ['q', 'k', 'v', 'dO', 'lse', 'delta'],
};

/**
 * One dispatch of `kernel` over `rows` (batch x head) rows of `length` (T, or S for dK|dV) each, writing
 * [rows, length, width]; tile is the shared tile's row count (tileRows); with two key copies (blocks) the
 * last input is kPrev, and dK|dV writes [dK, dKPrev, dV].
 */
export function fusedProgram(kernel: Kernel, dims: ProgramDims, rows: number, length: number): WebGPUProgram {
  const { dh, dv, tile, layout } = dims;
  const copies = keyCopies(layout);
  const width = { forward: dv + 1, dq: dh, dkdv: copies * dh + dv }[kernel];
  const code = { forward: forwardCode, dq: dqCode, dkdv: dkdvCode }[kernel];
  return {
    variableNames: copies === 2 ? [...INPUTS[kernel], 'kPrev'] : INPUTS[kernel],
    outputShape: [rows, length, width],
    shaderKey: `fusedAttention_${kernel}_${dh}_${dv}_${tile}_${layout}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(length / ROWS_PER_WORKGROUP), rows, 1],
    workgroupSize: [ROWS_PER_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    getUserCode: () => code(dims),
  };
}
