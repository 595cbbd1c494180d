// tools/webgpu-matmul-ab.mjs, the matmul A/B of the GPU sitting: on webgpu it names the kernel it measures
// and gives both GFLOP/s per shape as its last (JSON) line; a bad shape is one line and exit 2.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../harness/hash.ts';
import { describeOnWebgpu } from './webgpu-agreement.ts';

const ab = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'tools/webgpu-matmul-ab.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

describeOnWebgpu('the webgpu matmul A/B tool', () => {
  it('measures both sides at each shape, alternated, and names the kernel', () => {
    const r = ab('--shapes', '64x48x80,40x64x72t', '--rounds', '1');
    expect(r.status, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { matmul: string; results: { shape: string; subgroup_gflops: number; tfjs_gflops: number }[] };
    expect(last.matmul).toMatch(/^(subgroup WGSL matmul|tfjs-webgpu's matMul)/);
    expect(last.results.map((x) => x.shape)).toEqual(['64x48x80', '40x64x72t']);
    for (const x of last.results) expect(Math.min(x.subgroup_gflops, x.tfjs_gflops)).toBeGreaterThan(0);
    expect(['subgroup', 'tfjs']).toContain((last as unknown as { faster: string }).faster);
  }, 120_000);

  it('refuses a bad shape in one line, exit 2', () => {
    const r = ab('--shapes', '64x48');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("webgpu-matmul-ab: bad shape '64x48': valid is MxKxN with an optional trailing t (B transposed), e.g. 512x512x512t");
  });
});
