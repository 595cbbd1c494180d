// Speech distances on log-mel spectrograms [T, M] (natural log of power).
//   mel-cepstrum: c_k = sum_m (1/2 ln P_m) cos(pi k (m + 1/2) / M), k = 1..K (DCT-II of log amplitude; c_0, the
//   energy, left out as usual)
//   MCD (dB) = (10 / ln 10) sqrt(2 sum_k (c_k - c'_k)^2), averaged along the DTW path that aligns the two
//   utterances (DTW: steps (1,0), (0,1), (1,1), cost = the frame MCD; mean over the path's frames).
//   PER = Levenshtein(hypothesis, reference) / |reference| on phoneme strings.

/** log-mel [T*M] -> mel-cepstra [T][K]. */
export function melCepstra(logMel: Float32Array, mels: number, order: number): number[][] {
  const frames = logMel.length / mels;
  return Array.from({ length: frames }, (_, t) => Array.from({ length: order }, (_, i) => {
    const k = i + 1;
    let c = 0;
    for (let m = 0; m < mels; m++) c += 0.5 * logMel[t * mels + m]! * Math.cos((Math.PI * k * (m + 0.5)) / mels);
    return (2 / mels) * c;
  }));
}

const MCD_K = (10 / Math.LN10) * Math.SQRT2;

const frameMcd = (a: number[], b: number[]) => MCD_K * Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));

/** Mean frame distance along the least-cost DTW path between sequences a [Ta][K] and b [Tb][K]. */
export function dtwMean(a: number[][], b: number[][], dist: (x: number[], y: number[]) => number = frameMcd): number {
  const n = a.length, m = b.length;
  // cost[i][j]: least total cost aligning a[..i] with b[..j]; len[i][j]: frames on that path
  const cost = Array.from({ length: n }, () => new Float64Array(m).fill(Infinity));
  const len = Array.from({ length: n }, () => new Int32Array(m));
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    const d = dist(a[i]!, b[j]!);
    if (i === 0 && j === 0) { cost[0]![0] = d; len[0]![0] = 1; continue; }
    let best = Infinity, bl = 0;
    for (const [pi, pj] of [[i - 1, j - 1], [i - 1, j], [i, j - 1]] as const) {
      if (pi >= 0 && pj >= 0 && cost[pi]![pj]! < best) { best = cost[pi]![pj]!; bl = len[pi]![pj]!; }
    }
    cost[i]![j] = best + d;
    len[i]![j] = bl + 1;
  }
  return cost[n - 1]![m - 1]! / len[n - 1]![m - 1]!;
}

/** Mel-cepstral distortion (dB) after DTW between two log-mels [T*M]. */
export function mcdDtw(a: Float32Array, b: Float32Array, mels: number, order: number): number {
  return dtwMean(melCepstra(a, mels, order), melCepstra(b, mels, order));
}

/** Levenshtein distance between two sequences (substitution, insertion, deletion cost 1). */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** Phoneme error rate of a hypothesis against a reference. */
export const phonemeErrorRate = (hyp: readonly string[], ref: readonly string[]): number => editDistance(hyp, ref) / ref.length;
