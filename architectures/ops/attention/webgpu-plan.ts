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

/** Every dispatch of forward and backward with its bindings, or null when some input alone exceeds the limit. */
export function planAttention(s: AttentionShape, limit: number): Dispatch[] | null {
  const groups = headGroups(s);
  if (!groups) return null;
  const bh = s.batch * s.heads, bg = s.batch * groups;
  const q = { name: 'q', bytes: bh * s.queries * s.headDim * F32 };
  const k = { name: 'k', bytes: s.batch * s.keyHeads * s.keys * s.headDim * F32 };
  const v = { name: 'v', bytes: s.batch * s.valueHeads * s.keys * s.valueDim * F32 };
  const dO = { name: 'dO', bytes: bh * s.queries * s.valueDim * F32 };
  const rowStats = { name: 'L', bytes: bh * s.queries * F32 }, delta = { name: 'D', bytes: rowStats.bytes };
  const copies = s.keyCopies ?? 1;
  const previousKeys = copies === 2 ? [{ name: 'kPrev', bytes: k.bytes }] : [];
  const inputs = [q, k, v, dO, rowStats, delta, ...previousKeys];
  const gradientGroups = [bg * s.keys * s.headDim * F32, bg * s.keys * s.valueDim * F32];
  const rowBytes = { forward: s.queries * (s.valueDim + 1) * F32, dq: s.queries * s.headDim * F32, dkdv: s.keys * (copies * s.headDim + s.valueDim) * F32 };
  if ([...inputs.map((b) => b.bytes), ...gradientGroups, ...Object.values(rowBytes)].some((bytes) => bytes > limit)) return null;
  const plan = (kernel: Kernel, rows: number, bound: Binding[]): Dispatch[] =>
    splitRows(rows, rowBytes[kernel], limit).map((r) => ({ kernel, ...r, bindings: [{ name: `out ${kernel}`, bytes: r.count * rowBytes[kernel] }, ...bound] }));
  return [
    ...plan('forward', bh, [q, k, v, ...previousKeys]),
    ...plan('dq', bh, inputs),
    ...plan('dkdv', bg, inputs),
  ];
}
