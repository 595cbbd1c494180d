// Log-mel spectrograms computed here, and their inverse by Griffin-Lim.
//   frame t: x_t[n] = w[n] s[t H + n], Hann w[n] = 1/2 - 1/2 cos(2 pi n / W)          [T, W]
//   DFT as a matrix product: Re X = x C, Im X = -x S, C[n, k] = cos(2 pi n k / W)      [T, W] x [W, B], B = W/2 + 1
//   mel power P = |X|^2 F (F: triangular HTK-mel filters [B, M]), log-mel = ln(max(P, floor))
// Why a DFT matrix and not an FFT: the wasm backend has no FFT kernel, and the frames are short (W = 512),
// so one [frames, W] x [W, B] product on the native GEMM (OpenBLAS) is fast and exact to float rounding.
// Inverse (for the WAV files): mel -> linear power by spreading each band over its filter, then Griffin-Lim
// (Griffin & Lim 1984): keep the magnitude, re-estimate the phase by ISTFT/STFT round trips (a plain FFT).
import * as tf from '@tensorflow/tfjs';

export interface MelSettings {
  sampleRate: number;
  window: number;
  hop: number;
  mels: number;
  /** Frames kept per utterance (padded with silence, or cut). */
  frames: number;
  fmax: number;
}

/** ln of the power floor, and the span mapped onto [0, 1] for the tokenizers (values outside are clipped). */
export const LOG_FLOOR = Math.log(1e-6);
export const LOG_SPAN = 21;

const bins = (s: MelSettings) => s.window / 2 + 1;
const hann = (w: number) => Float32Array.from({ length: w }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / w));

/** cos and sin DFT matrices [W, B]. */
function dftMatrices(w: number): { cos: Float32Array; sin: Float32Array } {
  const b = w / 2 + 1;
  const cos = new Float32Array(w * b), sin = new Float32Array(w * b);
  for (let n = 0; n < w; n++) for (let k = 0; k < b; k++) {
    const a = (2 * Math.PI * ((n * k) % w)) / w;
    cos[n * b + k] = Math.cos(a);
    sin[n * b + k] = Math.sin(a);
  }
  return { cos, sin };
}

const hzToMel = (f: number) => 2595 * Math.log10(1 + f / 700);
const melToHz = (m: number) => 700 * (10 ** (m / 2595) - 1);

/** Triangular mel filters [B, M], peak 1, centres evenly spaced in mel from 0 to fmax. */
export function melFilterbank(s: MelSettings): Float32Array {
  const b = bins(s), m = s.mels;
  const edges = Array.from({ length: m + 2 }, (_, i) => melToHz((hzToMel(s.fmax) * i) / (m + 1)));
  const fb = new Float32Array(b * m);
  for (let k = 0; k < b; k++) {
    const f = (k * s.sampleRate) / s.window;
    for (let j = 0; j < m; j++) {
      const [lo, mid, hi] = [edges[j]!, edges[j + 1]!, edges[j + 2]!];
      fb[k * m + j] = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
    }
  }
  return fb;
}

/** Utterances -> log-mel [n, T*M] (frame-major), one batched DFT product. */
export async function logMel(utterances: Float32Array[], s: MelSettings): Promise<Float32Array> {
  const { frames: T, window: W, hop: H } = s;
  const win = hann(W);
  const x = new Float32Array(utterances.length * T * W);
  utterances.forEach((u, i) => {
    for (let t = 0; t < T; t++) for (let n = 0; n < W; n++) {
      const at = t * H + n;
      if (at < u.length) x[(i * T + t) * W + n] = win[n]! * u[at]!;
    }
  });
  const { cos, sin } = dftMatrices(W);
  const out = tf.tidy(() => {
    const frames = tf.tensor2d(x, [utterances.length * T, W]);
    const re = tf.matMul(frames, tf.tensor2d(cos, [W, bins(s)]));
    const im = tf.matMul(frames, tf.tensor2d(sin, [W, bins(s)]));
    const power = tf.add(tf.square(re), tf.square(im)); // [nT, B]
    return tf.log(tf.maximum(tf.matMul(power, tf.tensor2d(melFilterbank(s), [bins(s), s.mels])), Math.exp(LOG_FLOOR)));
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

/** log-mel -> [0, 1] for the tokenizers, and back. */
export const normalise = (v: number): number => Math.min(1, Math.max(0, (v - LOG_FLOOR) / LOG_SPAN));
export const denormalise = (u: number): number => LOG_FLOOR + u * LOG_SPAN;

/** In-place radix-2 complex FFT of length W (a power of two); inverse without the 1/W. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j]!, re[i]!]; [im[i], im[j]] = [im[j]!, im[i]!]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const a = ((inverse ? 2 : -2) * Math.PI) / len, wr = Math.cos(a), wi = Math.sin(a);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const p = i + k, q = p + len / 2;
        const tr = re[q]! * cr - im[q]! * ci, ti = re[q]! * ci + im[q]! * cr;
        re[q] = re[p]! - tr; im[q] = im[p]! - ti;
        re[p]! += tr; im[p]! += ti;
        [cr, ci] = [cr * wr - ci * wi, cr * wi + ci * wr];
      }
    }
  }
}

/**
 * A log-mel [T*M] -> a waveform of T*H samples by Griffin-Lim (`iterations` rounds, phase started by rand),
 * in plain JavaScript with a radix-2 FFT (the report builder calls it, with no tfjs backend). Linear power
 * per DFT bin: each band's power per unit filter weight, averaged over the filters covering the bin.
 */
export function griffinLim(mel: Float32Array, s: MelSettings, iterations: number, rand: () => number): Float32Array {
  const { frames: T, window: W, hop: H, mels: M } = s;
  const B = bins(s), fb = melFilterbank(s);
  const width = Array.from({ length: M }, (_, j) => { let w = 0; for (let k = 0; k < B; k++) w += fb[k * M + j]!; return w; });
  const mag = new Float32Array(T * B);
  for (let t = 0; t < T; t++) for (let k = 0; k < B; k++) {
    let num = 0, den = 0;
    for (let j = 0; j < M; j++) { const f = fb[k * M + j]!; num += (f * Math.exp(mel[t * M + j]!)) / width[j]!; den += f; }
    mag[t * B + k] = den > 0 ? Math.sqrt(num / den) : 0;
  }
  const win = hann(W);
  const len = (T - 1) * H + W;
  const wsum = new Float32Array(len);
  for (let t = 0; t < T; t++) for (let n = 0; n < W; n++) wsum[t * H + n]! += win[n]! ** 2;
  const phase = Float64Array.from({ length: T * B }, () => (rand() * 2 - 1) * Math.PI);
  const re = new Float64Array(W), im = new Float64Array(W);
  const wave = new Float32Array(len);
  for (let it = 0; ; it++) {
    // ISTFT by weighted overlap-add of the frames of A e^{i phase} (Hermitian: bin W - k is the conjugate of k)
    wave.fill(0);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < B; k++) { re[k] = mag[t * B + k]! * Math.cos(phase[t * B + k]!); im[k] = mag[t * B + k]! * Math.sin(phase[t * B + k]!); }
      for (let k = B; k < W; k++) { re[k] = re[W - k]!; im[k] = -im[W - k]!; }
      fft(re, im, true);
      for (let n = 0; n < W; n++) wave[t * H + n]! += (win[n]! * re[n]!) / W;
    }
    for (let i = 0; i < len; i++) wave[i] = wsum[i]! > 1e-3 ? wave[i]! / wsum[i]! : 0;
    if (it === iterations) break;
    // STFT: keep each bin's new phase
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < W; n++) { re[n] = win[n]! * wave[t * H + n]!; im[n] = 0; }
      fft(re, im, false);
      for (let k = 0; k < B; k++) phase[t * B + k] = Math.atan2(im[k]!, re[k]!);
    }
  }
  return wave.slice(0, T * H);
}
