// The native GEMM (harness/native/gemm.c): built by `npm install` when a C compiler is there (see
// harness/native/build.mjs), and loaded here when the system has OpenBLAS (Debian: libopenblas0).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NATIVE_KERNELS, type NativeGemm } from '../architectures/ops/wasm-backend.ts';

const ADDON = new URL('./native/build/Release/gemm.node', import.meta.url);

/** The native GEMM, or why it cannot be used. */
export function loadNativeGemm(): NativeGemm | { problem: string } {
  if (!existsSync(ADDON)) return { problem: 'harness/native is not built (npm install builds it; it needs g++ and python3)' };
  try {
    const addon = createRequire(import.meta.url)(ADDON.pathname) as NativeGemm;
    const missing = NATIVE_KERNELS.filter((k) => typeof addon[k] !== 'function');
    if (missing.length > 0) return { problem: `harness/native is built from older sources (no ${missing.join(', ')}); rebuild it: node harness/native/build.mjs` };
    return addon;
  } catch (e) {
    return { problem: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}
