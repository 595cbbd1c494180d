// The WGSL programs of chunkwise decayed retention on webgpu (webgpu.ts runs them). One (batch, head) row
// is a "group"; the q, k, v, g, dor inputs hold all groups G = B*H ([G, T, Dk], [G, T, Dv], [G, T]) and a
// program computes the groups groupStart.. (a uniform) of one slice, so no bound buffer grows past the
// device's limit. With g_t the cumulative log-decay within t's chunk (g_t <= 0), m(t) its chunk and L_m
// the g of chunk m's last token:
//   S_0 = 0,  S_{m+1} = e^{L_m} S_m + sum_{j in m} e^{L_m - g_j} k_j^T v_j                      [Dk, Dv]
//   o_t = r_t ( sum_{j<=t, j in m(t)} e^{g_t - g_j} (q_t . k_j) v_j + e^{g_t} q_t S_{m(t)} )
// r_t is a per-row scale treated as a constant (RetNet's detached normalisers; 1 for gated retention).
// Backward, with dor_t = r_t do_t and U_m = dLoss/dS_{m+1} (U_{n-1} = 0):
//   U_{m-1} = e^{L_m} U_m + sum_{i in m} e^{g_i} q_i^T dor_i
//   dq_t = sum_{j<=t} e^{g_t-g_j} (dor_t . v_j) k_j + e^{g_t} S_m dor_t
//   dk_t = sum_{i>=t} e^{g_i-g_t} (dor_i . v_t) q_i + e^{L_m-g_t} U_m v_t
//   dv_t = sum_{i>=t} e^{g_i-g_t} (q_i . k_t) dor_i + e^{L_m-g_t} U_m^T k_t
//   dg_t = sum_{j<=t} w_tj - sum_{i>=t} w_it + e^{g_t} q_t S_m dor_t - e^{L_m-g_t} k_t U_m v_t^T + [t last in m] <U_m, S_{m+1}>,
//   with w_ij = e^{g_i-g_j} (q_i . k_j)(dor_i . v_j)  (<U_m, S_{m+1}> = dLoss/dL_m through S_{m+1}).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** The sizes a program runs with (uniforms; Dk and Dv also size its per-thread arrays): sequence T, chunk C, key and value widths, groups in this slice. */
export interface RetentionDims {
  t: number;
  c: number;
  dk: number;
  dv: number;
  groups: number;
}

const WORKGROUP = 64;

/** Chunks per sequence. */
export const chunkCount = (d: RetentionDims): number => Math.ceil(d.t / d.c);

/**
 * The sizes as private variables set from the uniforms (runtime loop bounds: the shader compiler does not
 * unroll every loop, which made lavapipe's compile times explode), DK_CAP and DV_CAP the constant sizes of
 * per-thread arrays, and the index helpers every program shares (row(): a token's row in the full [G, T] inputs).
 */
function prelude(d: RetentionDims): string {
  return `
  const DK_CAP = ${d.dk}; const DV_CAP = ${d.dv};
  var<private> T : i32; var<private> C : i32; var<private> DK : i32; var<private> DV : i32; var<private> NC : i32;
  fn row(gl : i32, t : i32) -> i32 { return (uniforms.groupStart + gl) * T + t; }
  fn stateAt(gl : i32, m : i32, p : i32, j : i32) -> i32 { return ((gl * NC + m) * DK + p) * DV + j; }
  fn chunkEnd(t0 : i32) -> i32 { return min(t0 + C, T); }`;
}

/** q_a . k_b for rows a, b (programs that bind Q and K). */
const QK = `
  fn qk(a : i32, b : i32) -> f32 { var s = 0.0; for (var p = 0; p < DK; p++) { s += Q[a * DK + p] * K[b * DK + p]; } return s; }`;

/** A program and the values of its uniforms after tfjs's own (groupStart is set per run). */
export interface RetentionProgram {
  program: WebGPUProgram;
  uniforms: (groupStart: number) => number[];
}

/**
 * One thread per `threads` index over this slice's groups; `body` sees `index` and returns early past the end.
 * Every bound input must be read (the pipeline's 'auto' layout drops unused bindings).
 */
function program(name: string, variableNames: string[], outputShape: number[], threads: number, d: RetentionDims, body: string): RetentionProgram {
  return {
    program: {
      variableNames,
      outputShape,
      shaderKey: `retention_${name}_${d.dk}_${d.dv}`,
      dispatchLayout: { x: outputShape.map((_, i) => i) },
      dispatch: [Math.ceil(threads / WORKGROUP), 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'groupStart : i32, threads : i32, t : i32, c : i32, dk : i32, dv : i32,',
      getUserCode: () => `${prelude(d)}${variableNames.includes('Q') && variableNames.includes('K') ? QK : ''}
  fn main(index : i32) {
    if (index >= uniforms.threads) { return; }
    T = uniforms.t; C = uniforms.c; DK = uniforms.dk; DV = uniforms.dv; NC = (T + C - 1) / C;
    ${body}
  }`,
    },
    uniforms: (groupStart) => [groupStart, threads, d.t, d.c, d.dk, d.dv],
  };
}

/** The state before each chunk, S [groups, n, Dk, Dv], from K, V, Lg. One thread per state entry. */
export function statesProgram(d: RetentionDims): RetentionProgram {
  return program('states', ['K', 'V', 'Lg'], [d.groups, chunkCount(d), d.dk, d.dv], d.groups * d.dk * d.dv, d, `
    let gl = index / (DK * DV); let p = (index / DV) % DK; let j = index % DV;
    var s = 0.0;
    for (var m = 0; m < NC; m++) {
      result[stateAt(gl, m, p, j)] = s;
      if (m == NC - 1) { break; }
      let last = Lg[row(gl, m * C + C - 1)];
      var add = 0.0;
      for (var i = m * C; i < m * C + C; i++) {
        let r = row(gl, i);
        add += K[r * DK + p] * V[r * DV + j] * exp(last - Lg[r]);
      }
      s = exp(last) * s + add;
    }`);
}

/** sum_{j<=t in t's chunk} |q_t . k_j| e^{g_t - g_j}: RetNet's inner-chunk abs-sum before its row norm, [groups, T]. */
export function absScoreProgram(d: RetentionDims): RetentionProgram {
  return program('absscore', ['Q', 'K', 'Lg'], [d.groups, d.t], d.groups * d.t, d, `
    let gl = index / T; let t = index % T; let rt = row(gl, t);
    var sum = 0.0;
    for (var j = (t / C) * C; j <= t; j++) {
      let rj = row(gl, j);
      sum += abs(qk(rt, rj)) * exp(Lg[rt] - Lg[rj]);
    }
    result[gl * T + t] = sum;`);
}

/** o [groups, T, Dv] from Q, K, V, Lg and this slice's row scales R [groups, T] and states S. One thread per token. */
export function outputProgram(d: RetentionDims): RetentionProgram {
  return program('output', ['Q', 'K', 'V', 'Lg', 'R', 'S'], [d.groups, d.t, d.dv], d.groups * d.t, d, `
    let gl = index / T; let t = index % T; let rt = row(gl, t); let m = t / C;
    var acc : array<f32, DV_CAP>;
    for (var j = m * C; j <= t; j++) {
      let rj = row(gl, j);
      let w = qk(rt, rj) * exp(Lg[rt] - Lg[rj]);
      for (var e = 0; e < DV; e++) { acc[e] += w * V[rj * DV + e]; }
    }
    let decay = exp(Lg[rt]);
    for (var p = 0; p < DK; p++) {
      let qp = Q[rt * DK + p] * decay;
      for (var e = 0; e < DV; e++) { acc[e] += qp * S[stateAt(gl, m, p, e)]; }
    }
    for (var e = 0; e < DV; e++) { result[(gl * T + t) * DV + e] = R[gl * T + t] * acc[e]; }`);
}

/** U [groups, n, Dk, Dv], U_m = dLoss/dS_{m+1}, from Q, Lg, Dor = r * do. One thread per state entry, chunks in reverse. */
export function stateGradProgram(d: RetentionDims): RetentionProgram {
  return program('stategrad', ['Q', 'Lg', 'Dor'], [d.groups, chunkCount(d), d.dk, d.dv], d.groups * d.dk * d.dv, d, `
    let gl = index / (DK * DV); let p = (index / DV) % DK; let j = index % DV;
    var u = 0.0;
    for (var m = NC - 1; m >= 0; m--) {
      result[stateAt(gl, m, p, j)] = u;
      if (m == 0) { break; }
      let end = chunkEnd(m * C);
      let last = Lg[row(gl, end - 1)];
      var add = 0.0;
      for (var i = m * C; i < end; i++) {
        let r = row(gl, i);
        add += exp(Lg[r]) * Q[r * DK + p] * Dor[r * DV + j];
      }
      u = exp(last) * u + add;
    }`);
}

/** Width of a token's packed gradients: dq (Dk), dk (Dk), dv (Dv), dg (1). */
export const gradWidth = (d: RetentionDims): number => 2 * d.dk + d.dv + 1;

/** Packed [dq | dk | dv | dg] per token, [groups, T, 2Dk+Dv+1], from Q, K, V, Lg, Dor and this slice's S and U. One thread per token. */
export function inputGradProgram(d: RetentionDims): RetentionProgram {
  return program('inputgrad', ['Q', 'K', 'V', 'Lg', 'Dor', 'S', 'U'], [d.groups, d.t, gradWidth(d)], d.groups * d.t, d, `
    let gl = index / T; let t = index % T; let rt = row(gl, t); let m = t / C;
    let t0 = m * C; let end = chunkEnd(t0); let gt = Lg[rt]; let lastG = Lg[row(gl, end - 1)];
    var dq : array<f32, DK_CAP>; var dk : array<f32, DK_CAP>; var dv : array<f32, DV_CAP>; var dg = 0.0;
    for (var j = t0; j <= t; j++) {           // t as the query
      let rj = row(gl, j);
      var dov = 0.0; for (var e = 0; e < DV; e++) { dov += Dor[rt * DV + e] * V[rj * DV + e]; }
      let w = exp(gt - Lg[rj]);
      for (var p = 0; p < DK; p++) { dq[p] += w * dov * K[rj * DK + p]; }
      dg += w * qk(rt, rj) * dov;
    }
    for (var i = t; i < end; i++) {           // t as the key
      let ri = row(gl, i);
      var dov = 0.0; for (var e = 0; e < DV; e++) { dov += Dor[ri * DV + e] * V[rt * DV + e]; }
      let w = exp(Lg[ri] - gt); let s = qk(ri, rt);
      for (var p = 0; p < DK; p++) { dk[p] += w * dov * Q[ri * DK + p]; }
      for (var e = 0; e < DV; e++) { dv[e] += w * s * Dor[ri * DV + e]; }
      dg -= w * s * dov;
    }
    let qDecay = exp(gt); let kDecay = exp(lastG - gt);
    var kUv = 0.0;
    for (var p = 0; p < DK; p++) {
      var sDor = 0.0; var uV = 0.0;
      for (var e = 0; e < DV; e++) {
        sDor += S[stateAt(gl, m, p, e)] * Dor[rt * DV + e];
        uV += U[stateAt(gl, m, p, e)] * V[rt * DV + e];
      }
      dq[p] += qDecay * sDor;
      dg += qDecay * Q[rt * DK + p] * sDor;
      dk[p] += kDecay * uV;
      kUv += K[rt * DK + p] * uV;
    }
    dg -= kDecay * kUv;
    for (var e = 0; e < DV; e++) {
      var uK = 0.0; for (var p = 0; p < DK; p++) { uK += U[stateAt(gl, m, p, e)] * K[rt * DK + p]; }
      dv[e] += kDecay * uK;
    }
    if (t == t0 + C - 1 && m < NC - 1) {       // the chunk's last log-decay L_m: d S_{m+1} / d L_m contracted with U_m
      var us = 0.0;
      for (var p = 0; p < DK; p++) { for (var e = 0; e < DV; e++) { us += U[stateAt(gl, m, p, e)] * S[stateAt(gl, m + 1, p, e)]; } }
      dg += us;
    }
    let base = (gl * T + t) * (2 * DK + DV + 1);
    for (var p = 0; p < DK; p++) { result[base + p] = dq[p]; result[base + DK + p] = dk[p]; }
    for (var e = 0; e < DV; e++) { result[base + 2 * DK + e] = dv[e]; }
    result[base + 2 * DK + DV] = dg;`);
}
