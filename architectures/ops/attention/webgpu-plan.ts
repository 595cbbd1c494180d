// What the fused webgpu attention (webgpu.ts) binds per dispatch, planned before anything runs, so that no
// bound buffer exceeds the device's maxStorageBufferBindingSize. Shapes: q [B,H,T,Dh], k [B,Hk,S,Dh],
// v [B,Hv,S,Dv]. The kernels never hold T x S scores; what grows with the sequence is their outputs:
//   forward  O|L  [B*H, T, Dv+1]   (output and log-sum-exp L_i = m_i + log l_i, packed in one buffer)
//   dQ            [B*H, T, Dh]
//   dK|dV         [B*G, S, Dh+Dv]  (G = max(Hk, Hv) head groups; summed to Hk and Hv heads afterwards;
//                                   [B*G, S, 2 Dh+Dv] with LeX's blocks: dK and dKPrev)
// Each output is split over its leading (batch x head) rows into dispatches that each fit the limit; the
// inputs (q, k, v, dO, L, D, and kPrev with blocks) are bound whole, and the dK, dV head groups [B*G, S, Dh], [B*G, S, Dv] are
// summed whole afterwards, so each of these must fit on its own (else the kernel does not apply).
// Diff's fused pairs of maps (webgpu-pair.ts) are planned the same way per (batch x pair) row (planPairs).
const F32 = 4;
/** One dispatch takes at most this many (batch x head) rows: the grid's y extent. */
const MAX_ROWS_PER_DISPATCH = 65535;

export interface AttentionShape {
  batch: number; heads: number; keyHeads: number; valueHeads: number;
  queries: number; keys: number; headDim: number; valueDim: number;
  /** 2 with LeX's blocks (k and kPrev, each [B,Hk,S,Dh]); else 1 (the default). */
  keyCopies?: 1 | 2;
}

export type Kernel = 'forward' | 'dq' | 'dkdv';
export interface Binding { name: string; bytes: number }
/** Rows [first, first + count) of a kernel's output, and every buffer that dispatch binds. */
export interface Dispatch { kernel: Kernel; first: number; count: number; bindings: Binding[] }

/** Query heads per kernel group of the dK|dV pass: G = max(Hk, Hv) must be a multiple of both and divide H. */
export function headGroups(s: AttentionShape): number | null {
  const g = Math.max(s.keyHeads, s.valueHeads);
  return g % s.keyHeads === 0 && g % s.valueHeads === 0 && s.heads % g === 0 ? g : null;
}

/** Consecutive row ranges of at most `limit` bytes each (rowBytes per row). */
function splitRows(rows: number, rowBytes: number, limit: number): { first: number; count: number }[] {
  const per = Math.min(MAX_ROWS_PER_DISPATCH, Math.floor(limit / rowBytes));
  const out: { first: number; count: number }[] = [];
  for (let first = 0; first < rows; first += per) out.push({ first, count: Math.min(per, rows - first) });
  return out;
}

/** One kernel's output rows (each rowBytes) and the buffers every dispatch of it binds whole. */
interface KernelOutput { kernel: Kernel; rows: number; rowBytes: number; bound: Binding[] }

/** Each kernel's output split under `limit`, or null when a buffer bound (or summed afterwards) whole exceeds it. */
function splitKernels(limit: number, kernels: KernelOutput[], summedWhole: number[]): Dispatch[] | null {
  if ([...summedWhole, ...kernels.flatMap((k) => [k.rowBytes, ...k.bound.map((b) => b.bytes)])].some((bytes) => bytes > limit)) return null;
  return kernels.flatMap(({ kernel, rows, rowBytes, bound }) =>
    splitRows(rows, rowBytes, limit).map((r) => ({ kernel, ...r, bindings: [{ name: `out ${kernel}`, bytes: r.count * rowBytes }, ...bound] })));
}

/** q, k, v and dO as bound: q and dO with `queryRows` (batch x head, or batch x pair) rows of queries. */
function sharedInputs(s: AttentionShape, queryRows: number): Binding[] {
  return [
    { name: 'q', bytes: s.batch * s.heads * s.queries * s.headDim * F32 },
    { name: 'k', bytes: s.batch * s.keyHeads * s.keys * s.headDim * F32 },
    { name: 'v', bytes: s.batch * s.valueHeads * s.keys * s.valueDim * F32 },
    { name: 'dO', bytes: queryRows * s.queries * s.valueDim * F32 },
  ];
}

/** Every dispatch of forward and backward with its bindings, or null when some input alone exceeds the limit. */
export function planAttention(s: AttentionShape, limit: number): Dispatch[] | null {
  const groups = headGroups(s);
  if (!groups) return null;
  const bh = s.batch * s.heads, bg = s.batch * groups;
  const [q, k, v, dO] = sharedInputs(s, bh) as [Binding, Binding, Binding, Binding];
  const rowStats = { name: 'L', bytes: bh * s.queries * F32 }, delta = { name: 'D', bytes: rowStats.bytes };
  const copies = s.keyCopies ?? 1;
  const previousKeys = copies === 2 ? [{ name: 'kPrev', bytes: k.bytes }] : [];
  const inputs = [q, k, v, dO, rowStats, delta, ...previousKeys];
  return splitKernels(limit, [
    { kernel: 'forward', rows: bh, rowBytes: s.queries * (s.valueDim + 1) * F32, bound: [q, k, v, ...previousKeys] },
    { kernel: 'dq', rows: bh, rowBytes: s.queries * s.headDim * F32, bound: inputs },
    { kernel: 'dkdv', rows: bg, rowBytes: s.keys * (copies * s.headDim + s.valueDim) * F32, bound: inputs },
  ], [bg * s.keys * s.headDim * F32, bg * s.keys * s.valueDim * F32]);
}

/**
 * Diff's pairs of maps (webgpu-pair.ts): s.heads counts query maps (2P), map m reads key map m / (2P/Hk),
 * pair p value head p / (P/Hv). Outputs per (batch x pair) row: forward O|O2|L1|L2 [T, 2 Dv + 2], dQ
 * [T, 2 Dh], dK|dV [S, 2 Dh + Dv]; dK [B*2P, S, Dh] and dV [B*P, S, Dv] are summed whole afterwards. Null
 * where the maps do not pair up that way or some input alone exceeds the limit.
 */
export function planPairs(s: AttentionShape, limit: number): Dispatch[] | null {
  const pairs = s.heads / 2;
  if (!Number.isInteger(pairs) || s.heads % s.keyHeads || pairs % s.valueHeads) return null;
  const bp = s.batch * pairs;
  const [q, k, v, dO] = sharedInputs(s, bp) as [Binding, Binding, Binding, Binding];
  const lambdas = { name: 'lambda', bytes: pairs * F32 };
  const stats = [{ name: 'L1|L2', bytes: bp * s.queries * 2 * F32 }, { name: 'D1|D2', bytes: bp * s.queries * 2 * F32 }];
  const inputs = [q, k, v, lambdas, dO, ...stats];
  return splitKernels(limit, [
    { kernel: 'forward', rows: bp, rowBytes: s.queries * (2 * s.valueDim + 2) * F32, bound: [q, k, v, lambdas] },
    { kernel: 'dq', rows: bp, rowBytes: s.queries * 2 * s.headDim * F32, bound: inputs },
    { kernel: 'dkdv', rows: bp, rowBytes: s.keys * (2 * s.headDim + s.valueDim) * F32, bound: inputs },
  ], [s.batch * s.heads * s.keys * s.headDim * F32, bp * s.keys * s.valueDim * F32]);
}
