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
// with a window w > 0, i + offset - j < w. Workgroups skip the key (query) tiles no row of theirs sees.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** The uniforms every program takes, in this order (webgpu.ts passes their values). */
export const UNIFORMS = 'queries : i32, keys : i32, heads : i32, keyHeads : i32, valueHeads : i32, groups : i32, causal : i32, causalOffset : i32, keyWindow : i32, firstRow : i32, scale : f32,';

/** Workgroup width: query rows per workgroup (forward, dQ) or key rows (dK|dV). */
export const ROWS_PER_WORKGROUP = 64;

/** Rows of the shared tile (keys for forward/dQ, queries for dK|dV): a power of two <= 32 that fits the storage. */
export function tileRows(floatsPerRow: number, workgroupStorageBytes: number): number {
  let rows = 32;
  while (rows > 1 && rows * floatsPerRow * 4 + 64 > workgroupStorageBytes) rows /= 2;
  return rows;
}

const VISIBILITY = `
const NEG = -3.0e38;
// Keys [x, y) that query row i sees.
fn keySpan(i : i32) -> vec2<i32> {
  if (uniforms.causal == 0) { return vec2<i32>(0, uniforms.keys); }
  let last = i + uniforms.causalOffset;
  var first = 0;
  if (uniforms.keyWindow > 0) { first = max(0, last - uniforms.keyWindow + 1); }
  return vec2<i32>(first, min(uniforms.keys, last + 1));
}
fn sees(i : i32, j : i32) -> bool {
  let span = keySpan(i);
  return j >= span.x && j < span.y;
}
// Queries [x, y) that see some key of [j0, j1).
fn querySpan(j0 : i32, j1 : i32) -> vec2<i32> {
  if (uniforms.causal == 0) { return vec2<i32>(0, uniforms.queries); }
  var end = uniforms.queries;
  if (uniforms.keyWindow > 0) { end = min(end, j1 - 1 - uniforms.causalOffset + uniforms.keyWindow); }
  return vec2<i32>(max(0, j0 - uniforms.causalOffset), end);
}
fn keyHeadRow(b : i32, h : i32) -> i32 { return b * uniforms.keyHeads + h / (uniforms.heads / uniforms.keyHeads); }
fn valueHeadRow(b : i32, h : i32) -> i32 { return b * uniforms.valueHeads + h / (uniforms.heads / uniforms.valueHeads); }
`;

/** WGSL: `rows` rows of `width` floats from `source` at `from` (rows first.. of it) into `tile`, zeros from row `end` on. */
const copyTile = (tile: string, source: string, rows: string, width: string, from: string, first: string, end: string) => `
  for (var e = i32(localIndex); e < ${rows} * ${width}; e += ROWS) {
    var x = 0.0;
    if (${first} + e / ${width} < ${end}) { x = ${source}[${from} + e]; }
    ${tile}[e] = x;
  }`;

/** WGSL constants: head dims, the shared tile's rows (named `tileName`), the workgroup's rows. */
const constants = (dh: number, dv: number, tileName: string, tile: number) =>
  `const DH = ${dh};\nconst DV = ${dv};\nconst ${tileName} = ${tile};\nconst ROWS = ${ROWS_PER_WORKGROUP};`;

/**
 * Forward and dQ share this: one thread per query row of head bh, the key tiles [KEYS, Dh] and [KEYS, Dv]
 * in workgroup memory, loaded between barriers over the keys any row of the workgroup sees (tileSpan).
 */
function queryRowKernel(dh: number, dv: number, keys: number, body: { state: string; perKey: string; write: string }): string {
  return `
${constants(dh, dv, 'KEYS', keys)}
var<workgroup> kTile : array<f32, ${keys * dh}>;
var<workgroup> vTile : array<f32, ${keys * dv}>;
var<workgroup> tileSpan : vec2<i32>;
${VISIBILITY}
fn loadKeyTile(kBase : i32, vBase : i32, j0 : i32) {
  workgroupBarrier();${copyTile('kTile', 'k', 'KEYS', 'DH', 'kBase + j0 * DH', 'j0', 'uniforms.keys')}${copyTile('vTile', 'v', 'KEYS', 'DV', 'vBase + j0 * DV', 'j0', 'uniforms.keys')}
  workgroupBarrier();
}
fn main() {
  let bh = uniforms.firstRow + i32(workgroupId.y);
  let b = bh / uniforms.heads;
  let h = bh - b * uniforms.heads;
  let kBase = keyHeadRow(b, h) * uniforms.keys * DH;
  let vBase = valueHeadRow(b, h) * uniforms.keys * DV;
  let row0 = i32(workgroupId.x) * ROWS;
  let row = row0 + i32(localId.x);
  let live = row < uniforms.queries;
  if (localIndex == 0u) {
    tileSpan = vec2<i32>(keySpan(row0).x, keySpan(min(row0 + ROWS, uniforms.queries) - 1).y);
  }
  let span = workgroupUniformLoad(&tileSpan);
  let mine = keySpan(row);
  let rowIndex = bh * uniforms.queries + min(row, uniforms.queries - 1);
  var qRow : array<f32, DH>;
  for (var d = 0; d < DH; d++) { qRow[d] = q[rowIndex * DH + d] * uniforms.scale; }
  ${body.state}
  for (var j0 = span.x; j0 < span.y; j0 += KEYS) {
    loadKeyTile(kBase, vBase, j0);
    if (live) {
      ${body.perKey}
    }
  }
  let outRow = (bh - uniforms.firstRow) * uniforms.queries + row;
  if (live) {
    ${body.write}
  }
}`;
}

const dotWithKey = (c: string) => `var s = 0.0; for (var d = 0; d < DH; d++) { s += qRow[d] * kTile[${c} * DH + d]; }`;

function forwardCode(dh: number, dv: number, keys: number): string {
  return queryRowKernel(dh, dv, keys, {
    state: 'var acc : array<f32, DV>; var m = NEG; var l = 0.0;',
    perKey: `
      var scores : array<f32, KEYS>;
      var tileMax = NEG;
      for (var c = 0; c < KEYS; c++) {
        var x = NEG;
        if (j0 + c >= mine.x && j0 + c < mine.y) { ${dotWithKey('c')} x = s; }
        scores[c] = x;
        tileMax = max(tileMax, x);
      }
      if (tileMax > NEG) {
        let mNew = max(m, tileMax);
        let rescale = exp(m - mNew);
        l *= rescale;
        for (var d = 0; d < DV; d++) { acc[d] *= rescale; }
        for (var c = 0; c < KEYS; c++) {
          if (scores[c] > NEG) {
            let p = exp(scores[c] - mNew);
            l += p;
            for (var d = 0; d < DV; d++) { acc[d] += p * vTile[c * DV + d]; }
          }
        }
        m = mNew;
      }`,
    write: `
    for (var d = 0; d < DV; d++) { result[outRow * (DV + 1) + d] = acc[d] / l; }
    result[outRow * (DV + 1) + DV] = m + log(l);`,
  });
}

function dqCode(dh: number, dv: number, keys: number): string {
  return queryRowKernel(dh, dv, keys, {
    state: `
  var dq : array<f32, DH>;
  var gRow : array<f32, DV>;
  for (var d = 0; d < DV; d++) { gRow[d] = dO[rowIndex * DV + d]; }
  let logSumExp = lse[rowIndex];
  let rowDelta = delta[rowIndex];`,
    perKey: `
      for (var c = 0; c < KEYS; c++) {
        if (j0 + c >= mine.x && j0 + c < mine.y) {
          ${dotWithKey('c')}
          let p = exp(s - logSumExp);
          var dp = 0.0;
          for (var d = 0; d < DV; d++) { dp += gRow[d] * vTile[c * DV + d]; }
          let ds = p * (dp - rowDelta);
          for (var d = 0; d < DH; d++) { dq[d] += ds * kTile[c * DH + d]; }
        }
      }`,
    write: 'for (var d = 0; d < DH; d++) { result[outRow * DH + d] = dq[d] * uniforms.scale; }',
  });
}

/** dK|dV: one thread per key row of head group bg, query tiles [QUERIES, Dh], [QUERIES, Dv], L, D shared. */
function dkdvCode(dh: number, dv: number, queries: number): string {
  return `
${constants(dh, dv, 'QUERIES', queries)}
var<workgroup> qTile : array<f32, ${queries * dh}>;
var<workgroup> gTile : array<f32, ${queries * dv}>;
var<workgroup> lTile : array<f32, ${queries}>;
var<workgroup> dTile : array<f32, ${queries}>;
var<workgroup> tileSpan : vec2<i32>;
${VISIBILITY}
fn loadQueryTile(bh : i32, i0 : i32) {
  workgroupBarrier();
  let rows = bh * uniforms.queries + i0;${copyTile('qTile', 'q', 'QUERIES', 'DH', 'rows * DH', 'i0', 'uniforms.queries')}${copyTile('gTile', 'dO', 'QUERIES', 'DV', 'rows * DV', 'i0', 'uniforms.queries')}${copyTile('lTile', 'lse', 'QUERIES', '1', 'rows', 'i0', 'uniforms.queries')}${copyTile('dTile', 'delta', 'QUERIES', '1', 'rows', 'i0', 'uniforms.queries')}
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
  var kScaled : array<f32, DH>;
  var vVec : array<f32, DV>;
  for (var d = 0; d < DH; d++) { kScaled[d] = k[kRow * DH + d] * uniforms.scale; }
  for (var d = 0; d < DV; d++) { vVec[d] = v[vRow * DV + d]; }
  var dk : array<f32, DH>;
  var dv : array<f32, DV>;
  for (var r = 0; r < headsPerGroup; r++) {
    let bh = b * uniforms.heads + g * headsPerGroup + r;
    for (var i0 = span.x; i0 < span.y; i0 += QUERIES) {
      loadQueryTile(bh, i0);
      if (live) {
        for (var c = 0; c < QUERIES; c++) {
          if (i0 + c < uniforms.queries && sees(i0 + c, j)) {
            var s = 0.0;
            for (var d = 0; d < DH; d++) { s += qTile[c * DH + d] * kScaled[d]; }
            let p = exp(s - lTile[c]);
            var dp = 0.0;
            for (var d = 0; d < DV; d++) { dp += gTile[c * DV + d] * vVec[d]; dv[d] += p * gTile[c * DV + d]; }
            let ds = p * (dp - dTile[c]);
            for (var d = 0; d < DH; d++) { dk[d] += ds * qTile[c * DH + d]; }
          }
        }
      }
    }
  }
  if (live) {
    let outRow = (bg - uniforms.firstRow) * uniforms.keys + j;
    for (var d = 0; d < DH; d++) { result[outRow * (DH + DV) + d] = dk[d] * uniforms.scale; }
    for (var d = 0; d < DV; d++) { result[outRow * (DH + DV) + DH + d] = dv[d]; }
  }
}`;
}

export type FusedKernel = 'forward' | 'dq' | 'dkdv';
const INPUTS: Record<FusedKernel, string[]> = {
  forward: ['q', 'k', 'v'],
  dq: ['q', 'k', 'v', 'dO', 'lse', 'delta'],
  dkdv: ['q', 'k', 'v', 'dO', 'lse', 'delta'],
};

/**
 * One dispatch of `kernel` over `rows` (batch x head) rows of `length` (T, or S for dK|dV) each, writing
 * [rows, length, width]; tile is the shared tile's row count (tileRows).
 */
export function fusedProgram(kernel: FusedKernel, dims: { dh: number; dv: number; tile: number }, rows: number, length: number): WebGPUProgram {
  const { dh, dv, tile } = dims;
  const width = { forward: dv + 1, dq: dh, dkdv: dh + dv }[kernel];
  const code = { forward: forwardCode, dq: dqCode, dkdv: dkdvCode }[kernel];
  return {
    variableNames: INPUTS[kernel],
    outputShape: [rows, length, width],
    shaderKey: `fusedAttention_${kernel}_${dh}_${dv}_${tile}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(length / ROWS_PER_WORKGROUP), rows, 1],
    workgroupSize: [ROWS_PER_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    getUserCode: () => code(dh, dv, tile),
  };
}
