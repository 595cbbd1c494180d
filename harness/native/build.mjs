// `npm install` runs this: build the native GEMM with node-gyp. Without a compiler the build fails, the
// install goes on, and the harness runs on plain wasm (`--backend auto` then says so and records `wasm`).
// `npx archbench` reruns this script while other processes may be loading the addon, so an addon newer
// than its sources is kept, and a new one is built in a staging folder and renamed into place.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const addon = join(dir, 'build', 'Release', 'gemm.node');
const sources = ['gemm.c', 'kernels.c', 'binding.gyp'];
const newest = Math.max(...[...sources, 'build.mjs'].map((f) => statSync(join(dir, f)).mtimeMs));
if (existsSync(addon) && statSync(addon).mtimeMs >= newest) process.exit(0);

const staging = mkdtempSync(join(dir, '.staging-'));
try {
  for (const f of sources) copyFileSync(join(dir, f), join(staging, f));
  // npm names its bundled node-gyp in npm_config_node_gyp for install scripts; else node-gyp from PATH.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
  const r = spawnSync(cmd, [...args, 'rebuild', '--silent'], { cwd: staging, stdio: ['ignore', 'ignore', 'pipe'], shell: !gyp && process.platform === 'win32' });
  if (r.status === 0) {
    mkdirSync(dirname(addon), { recursive: true });
    renameSync(join(staging, 'build', 'Release', 'gemm.node'), addon);
    console.log('archbench: built the native GEMM (harness/native); backend wasm+openblas is available where OpenBLAS is installed');
  } else {
    const why = r.error ? r.error.message : (r.stderr?.toString().trim().split('\n').at(-1) ?? `exit ${r.status}`);
    console.log(`archbench: native GEMM not built (${why}); training uses wasm's XNNPACK`);
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
