// `npm install` runs this: build the native GEMM with node-gyp. Without a compiler the build fails, the
// install goes on, and the harness runs on plain wasm (`--backend auto` then says so and records `wasm`).
// An addon newer than its sources is kept: `npx archbench` reruns this script, and a rebuild would delete
// the addon under processes that are loading it.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const addon = join(dir, 'build', 'Release', 'gemm.node');
const sources = ['gemm.c', 'binding.gyp', 'build.mjs'].map((f) => statSync(join(dir, f)).mtimeMs);
if (existsSync(addon) && statSync(addon).mtimeMs >= Math.max(...sources)) process.exit(0);

// npm names its bundled node-gyp in npm_config_node_gyp for install scripts; else node-gyp from PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...args, 'rebuild', '--silent'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: !gyp && process.platform === 'win32' });
if (r.status === 0) {
  console.log('archbench: built the native GEMM (harness/native); backend wasm+openblas is available where OpenBLAS is installed');
} else {
  const why = r.error ? r.error.message : (r.stderr?.toString().trim().split('\n').at(-1) ?? `exit ${r.status}`);
  console.log(`archbench: native GEMM not built (${why}); training uses wasm's XNNPACK`);
}
