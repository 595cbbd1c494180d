// `npm install` runs this: build the native GEMM with node-gyp. Without a compiler the build fails, the
// install goes on, and the harness runs on plain wasm (`--backend auto` then says so and records `wasm`).
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const r = spawnSync('node-gyp', ['rebuild', '--silent'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: process.platform === 'win32' });
if (r.status === 0) {
  console.log('archbench: built the native GEMM (harness/native); backend wasm+openblas is available where OpenBLAS is installed');
} else {
  const why = r.error ? r.error.message : (r.stderr?.toString().trim().split('\n').at(-1) ?? `exit ${r.status}`);
  console.log(`archbench: native GEMM not built (${why}); training uses wasm's XNNPACK`);
}
