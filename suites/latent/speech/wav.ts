// 16-bit PCM mono WAV, read (espeak-ng's --stdout) and written (generated speech for the report).

/** A RIFF/WAVE buffer holding 16-bit PCM mono -> samples in [-1, 1] and the sample rate. */
export function readWav(buf: Uint8Array): { samples: Float32Array; sampleRate: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number) => String.fromCharCode(...buf.subarray(o, o + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE buffer');
  let o = 12, sampleRate = 0;
  while (o + 8 <= buf.length) {
    const id = tag(o);
    // espeak-ng --stdout cannot seek back, so its data chunk size is 0x7fffffff-ish: read to the end then
    const size = Math.min(view.getUint32(o + 4, true), buf.length - o - 8);
    if (id === 'fmt ') {
      const format = view.getUint16(o + 8, true), channels = view.getUint16(o + 10, true), bits = view.getUint16(o + 22, true);
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error(`WAV is format ${format}, ${channels} channel(s), ${bits} bits; only 16-bit PCM mono is read`);
      sampleRate = view.getUint32(o + 12, true);
    } else if (id === 'data') {
      const n = Math.floor(size / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = view.getInt16(o + 8 + 2 * i, true) / 32768;
      return { samples, sampleRate };
    }
    o += 8 + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

/** Samples in [-1, 1] (clipped) -> a 16-bit PCM mono WAV file. */
export function wavBytes(samples: Float32Array, sampleRate: number): Uint8Array {
  const buf = new Uint8Array(44 + 2 * samples.length);
  const view = new DataView(buf.buffer);
  const put = (o: number, s: string) => { for (let i = 0; i < 4; i++) buf[o + i] = s.charCodeAt(i); };
  put(0, 'RIFF'); view.setUint32(4, 36 + 2 * samples.length, true); put(8, 'WAVE');
  put(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, 2 * sampleRate, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  put(36, 'data'); view.setUint32(40, 2 * samples.length, true);
  samples.forEach((v, i) => view.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, v)) * 32767), true));
  return buf;
}
