// The WGSL programs of Diff's fused pair of maps (webgpu-pair.ts): per pair p (query maps 2p, 2p+1 of q
// [B,2P,T,Dh], key maps k [B,Hk,S,Dh] as for any query map, value head v [B,Hv,S,Dv] shared by the pair),
//   O = (softmax(s1) - λ_p softmax(s2)) V,   s1 = scale q1 k1^T, s2 = scale q2 k2^T (+ the causal mask)
// with two online-softmax states (m, l as vec2s; o1, o2) over the same key tiles (webgpu-wgsl.ts), key by
// key, rescaling only when a running max grows (a per-tile max over a private score array, as the single
// map's forward does, took lavapipe's LLVM 200-380 s to compile for two maps; this takes 10 s):
//   forward  O = o1 / l1 - λ o2 / l2,  O2 = o2 / l2,  L1, L2 (the log-sum-exps)  -> [B*P, T, 2 Dv + 2]
//   backward dp_ij = dO_i . v_j,  D1_i = dO_i . O1_i = dO_i . (O_i + λ O2_i),  D2_i = dO_i . O2_i,
//            dS1_ij = P1_ij (dp_ij - D1_i),  dS2_ij = -λ P2_ij (dp_ij - D2_i),
//            dq1_i = scale sum_j dS1_ij k1_j,  dq2_i = scale sum_j dS2_ij k2_j     -> [B*P, T, 2 Dh]
//            dk1_j = scale sum_i dS1_ij q1_i,  dk2_j likewise,
//            dv_j = sum_i (P1_ij - λ P2_ij) dO_i                                   -> [B*P, S, 2 Dh + Dv]
//            dλ_p = -sum_i D2_i (webgpu-pair.ts, as tf ops)
// L and D are bound as [B*P, T, 2] (map 1, map 2).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { Kernel } from './webgpu-plan.ts';
import { type ProgramDims, ROWS_PER_WORKGROUP, UNIFORMS, VISIBILITY, constants, copyTile, loadRow, queryRowKernel, storeRow, vec4s } from './webgpu-wgsl.ts';

/** WGSL: s1 = (scale q1_i) . k1_(j0 + c), s2 = (scale q2_i) . k2_(j0 + c) (qRow: q1 then q2; kTile: k1 rows then k2 rows). */
const pairScores = `var s1 = 0.0; var s2 = 0.0;
        for (var d = 0; d < DH4; d++) { s1 += dot(qRow[d], kTile[c * DH4 + d]); s2 += dot(qRow[DH4 + d], kTile[(KEYS + c) * DH4 + d]); }`;

function forwardCode(dims: ProgramDims): string {
  return queryRowKernel(dims, {
    state: 'var o1 : array<vec4<f32>, DV4>; var o2 : array<vec4<f32>, DV4>; var m = vec2<f32>(NEG, NEG); var l = vec2<f32>(0.0, 0.0); // (map 1, map 2)',
    perKey: `
      for (var c = 0; c < KEYS; c++) {
        if (j0 + c >= mine.x && j0 + c < mine.y) {
          ${pairScores}
          let x = vec2<f32>(s1, s2);
          if (any(x > m)) { // a new running max: rescale what is summed so far
            let mNew = max(m, x);
            let rescale = exp(m - mNew);
            l *= rescale;
            for (var d = 0; d < DV4; d++) { o1[d] *= rescale.x; o2[d] *= rescale.y; }
            m = mNew;
          }
          let p = exp(x - m);
          l += p;
          for (var d = 0; d < DV4; d++) { o1[d] += p.x * vTile[c * DV4 + d]; o2[d] += p.y * vTile[c * DV4 + d]; }
        }
      }`,
    write: `
    let lambda = lambdas[h / 2];
    let at = outRow * (2 * DV + 2);
    for (var d = 0; d < DV; d++) {
      let second = o2[d / 4][d % 4] / l.y;
      result[at + d] = o1[d / 4][d % 4] / l.x - lambda * second;
      result[at + DV + d] = second;
    }
    result[at + 2 * DV] = m.x + log(l.x);
    result[at + 2 * DV + 1] = m.y + log(l.y);`,
  });
}

function dqCode(dims: ProgramDims): string {
  return queryRowKernel(dims, {
    state: `
  var dq : array<vec4<f32>, 2 * DH4>;
  var gRow : array<vec4<f32>, DV4>;
  ${loadRow('gRow', 'dO', 'DV', 'rowIndex * DV')}
  let lambda = lambdas[h / 2];
  let lse1 = lse[2 * rowIndex];
  let lse2 = lse[2 * rowIndex + 1];
  let delta1 = delta[2 * rowIndex];
  let delta2 = delta[2 * rowIndex + 1];`,
    perKey: `
      for (var c = 0; c < KEYS; c++) {
        if (j0 + c >= mine.x && j0 + c < mine.y) {
          ${pairScores}
          let p1 = exp(s1 - lse1);
          let p2 = exp(s2 - lse2);
          var dp = 0.0;
          for (var d = 0; d < DV4; d++) { dp += dot(gRow[d], vTile[c * DV4 + d]); }
          let ds1 = p1 * (dp - delta1);
          let ds2 = -lambda * p2 * (dp - delta2);
          for (var d = 0; d < DH4; d++) { dq[d] += ds1 * kTile[c * DH4 + d]; dq[DH4 + d] += ds2 * kTile[(KEYS + c) * DH4 + d]; }
        }
      }`,
    write: `${storeRow('dq', 'DH', 'outRow * 2 * DH', ' * uniforms.scale')}
    ${storeRow('dq', 'DH', 'outRow * 2 * DH + DH', ' * uniforms.scale', 'DH4 + ')}`,
  });
}

/**
 * dK|dV: one thread per key row of pair `unit` (its k1, k2 rows, times scale, and v row as vec4s), query
 * tiles [2 x QUERIES, Dh] (q1 rows, then q2 rows), [QUERIES, Dv] as vec4s and L, D [QUERIES, 2] in
 * workgroup memory.
 */
function dkdvCode(dims: ProgramDims): string {
  const { dh, dv, tile: queries } = dims;
  return `
${constants(dims, 'QUERIES')}
var<workgroup> qTile : array<vec4<f32>, ${2 * queries * vec4s(dh)}>;
var<workgroup> gTile : array<vec4<f32>, ${queries * vec4s(dv)}>;
var<workgroup> lTile : array<f32, ${2 * queries}>;
var<workgroup> dTile : array<f32, ${2 * queries}>;
var<workgroup> tileSpan : vec2<i32>;
${VISIBILITY}
fn loadQueryTile(qRows : i32, rows : i32, i0 : i32) {
  workgroupBarrier();${copyTile('qTile', 'q', 'QUERIES', 'DH', 'qRows * DH', 'i0', 'uniforms.queries', 'DH4')}${copyTile('qTile', 'q', 'QUERIES', 'DH', '(qRows + uniforms.queries) * DH', 'i0', 'uniforms.queries', 'DH4', 'QUERIES * DH4 + ')}${copyTile('gTile', 'dO', 'QUERIES', 'DV', 'rows * DV', 'i0', 'uniforms.queries', 'DV4')}${copyTile('lTile', 'lse', 'QUERIES', '2', 'rows * 2', 'i0', 'uniforms.queries')}${copyTile('dTile', 'delta', 'QUERIES', '2', 'rows * 2', 'i0', 'uniforms.queries')}
  workgroupBarrier();
}
fn main() {
  let unit = uniforms.firstRow + i32(workgroupId.y);
  let pairs = uniforms.heads / 2;
  let b = unit / pairs;
  let h = (unit - b * pairs) * 2;
  let j0 = i32(workgroupId.x) * ROWS;
  let j = j0 + i32(localId.x);
  let live = j < uniforms.keys;
  let key = min(j, uniforms.keys - 1);
  if (localIndex == 0u) { tileSpan = querySpan(j0, min(j0 + ROWS, uniforms.keys)); }
  let span = workgroupUniformLoad(&tileSpan);
  let seen = querySpan(key, key + 1); // the queries that see key j
  var kScaled : array<vec4<f32>, 2 * DH4>;
  var vVec : array<vec4<f32>, DV4>;
  ${loadRow('kScaled', 'k', 'DH', '(keyHeadRow(b, h) * uniforms.keys + key) * DH', ' * uniforms.scale')}
  ${loadRow('kScaled', 'k', 'DH', '(keyHeadRow(b, h + 1) * uniforms.keys + key) * DH', ' * uniforms.scale', 'DH4 + ')}
  ${loadRow('vVec', 'v', 'DV', '(valueHeadRow(b, h) * uniforms.keys + key) * DV')}
  let lambda = lambdas[h / 2];
  var dk : array<vec4<f32>, 2 * DH4>;
  var dv : array<vec4<f32>, DV4>;
  for (var i0 = span.x; i0 < span.y; i0 += QUERIES) {
    loadQueryTile((b * uniforms.heads + h) * uniforms.queries + i0, unit * uniforms.queries + i0, i0);
    if (live) {
      for (var c = 0; c < QUERIES; c++) {
        if (i0 + c >= seen.x && i0 + c < seen.y) {
          var s1 = 0.0;
          var s2 = 0.0;
          for (var d = 0; d < DH4; d++) { s1 += dot(qTile[c * DH4 + d], kScaled[d]); s2 += dot(qTile[(QUERIES + c) * DH4 + d], kScaled[DH4 + d]); }
          let p1 = exp(s1 - lTile[2 * c]);
          let p2 = exp(s2 - lTile[2 * c + 1]);
          var dp = 0.0;
          for (var d = 0; d < DV4; d++) { dp += dot(gTile[c * DV4 + d], vVec[d]); dv[d] += (p1 - lambda * p2) * gTile[c * DV4 + d]; }
          let ds1 = p1 * (dp - dTile[2 * c]);
          let ds2 = -lambda * p2 * (dp - dTile[2 * c + 1]);
          for (var d = 0; d < DH4; d++) { dk[d] += ds1 * qTile[c * DH4 + d]; dk[DH4 + d] += ds2 * qTile[(QUERIES + c) * DH4 + d]; }
        }
      }
    }
  }
  if (live) {
    let at = ((unit - uniforms.firstRow) * uniforms.keys + j) * (2 * DH + DV);
    ${storeRow('dk', 'DH', 'at', ' * uniforms.scale')}
    ${storeRow('dk', 'DH', 'at + DH', ' * uniforms.scale', 'DH4 + ')}
    ${storeRow('dv', 'DV', 'at + 2 * DH')}
  }
}`;
}

const INPUTS: Record<Kernel, string[]> = {
  forward: ['q', 'k', 'v', 'lambdas'],
  dq: ['q', 'k', 'v', 'lambdas', 'dO', 'lse', 'delta'],
  dkdv: ['q', 'k', 'v', 'lambdas', 'dO', 'lse', 'delta'],
};

/**
 * One dispatch of `kernel` over `rows` (batch x pair) rows of `length` (T, or S for dK|dV) each, writing
 * [rows, length, width] (widths above); tile is the shared tile's row count (tileRows, layout 'pairs').
 */
export function pairProgram(kernel: Kernel, dims: ProgramDims, rows: number, length: number): WebGPUProgram {
  const { dh, dv, tile } = dims;
  const width = { forward: 2 * dv + 2, dq: 2 * dh, dkdv: 2 * dh + dv }[kernel];
  const code = { forward: forwardCode, dq: dqCode, dkdv: dkdvCode }[kernel];
  return {
    variableNames: INPUTS[kernel],
    outputShape: [rows, length, width],
    shaderKey: `fusedAttentionPair_${kernel}_${dh}_${dv}_${tile}`,
    dispatchLayout: { x: [1], y: [0], z: [2] },
    dispatch: [Math.ceil(length / ROWS_PER_WORKGROUP), rows, 1],
    workgroupSize: [ROWS_PER_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    getUserCode: () => code(dims),
  };
}
