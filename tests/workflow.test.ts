// .github/workflows/nightly.yml: the YAML parses, has the shape the issue asks for (a first smoke job that
// forces webgpu and refuses a software adapter: its adapter check runs here on stand-in manifests), and the
// shard and report jobs' `run:` commands, exactly as written, work on CPU with the tiny preset. What the
// test changes, and nothing
// else: the workflow env PRESET=tiny, SEEDS=2, SUITES=perplexity, ARCHS=transformer, BACKEND=wasm and
// ARCHBENCH_CACHE (a temp folder); `${{ matrix.shard }}` / `${{ strategy.job-total }}` / `${{ github.* }}`
// take the matrix's and a fake run's values. `uses:` steps are stood in for (checkout, setup-node: the
// test runs in a workspace of links to this installed tree; upload/download-artifact: folder copies
// with the actions' path rules), `npm ci` is skipped, and the `gh` baseline download is replaced by
// copying the previous pass's `nightly-baseline` artifact.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../harness/hash.ts';
import { readRecords } from '../harness/store.ts';

interface Step { name?: string; id?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { 'runs-on': unknown; needs?: string | string[]; strategy?: { matrix?: Record<string, unknown[]> }; steps: Step[] }
interface Workflow { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, Job>; defaults?: { run?: { shell?: string } } }

const WORKFLOW = join(ROOT, '.github/workflows/nightly.yml');
const OVERRIDES = { PRESET: 'tiny', SEEDS: '2', SUITES: 'perplexity', ARCHS: 'transformer', BACKEND: 'wasm' };
const LINKED = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'harness', 'architectures', 'suites', 'reports', 'fixtures', 'node_modules'];

const load = (): Workflow => parse(readFileSync(WORKFLOW, 'utf8')) as Workflow;
const runs = (j: Job) => j.steps.map((s) => s.run ?? '').join('\n');

describe('nightly workflow: shape', () => {
  it('parses; schedule; self-hosted GPU runners; a shard matrix; merge, report, compare, artifacts', () => {
    const wf = load();
    expect((wf.on.schedule as { cron: string }[])[0]!.cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    for (const job of Object.values(wf.jobs)) expect(job['runs-on']).toEqual(['self-hosted', 'gpu']);
    const shard = wf.jobs.shard!;
    expect((shard.strategy!.matrix!.shard as number[]).length).toBeGreaterThan(1);
    expect(runs(shard)).toContain('npm ci');
    expect(runs(shard)).toMatch(/archbench run .*--preset "\$PRESET".*\n?.*--shard \$\{\{ matrix\.shard \}\}\/\$\{\{ strategy\.job-total \}\}/s);
    expect(wf.env.PRESET).toBe('paper');
    expect(wf.env.BACKEND).toBe('webgpu'); // the paper shards force the GPU backend too
    const report = wf.jobs.report!;
    expect(report.needs).toBe('shard');
    expect(runs(report)).toContain('archbench merge shards/shard-* --out run');
    expect(runs(report)).toContain('archbench report run');
    expect(runs(report)).toContain('archbench compare baseline run');
    const uploads = report.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact'));
    const leaderboard = uploads.find((s) => s.with?.name === 'leaderboard')!;
    expect(leaderboard.with!.path).toBe('run/report');
    expect(leaderboard.if).toBe('always()');
    expect(uploads.find((s) => s.with?.name === 'nightly-baseline')!.if).toBe('success()');
  });

  it('the smoke job comes first: the Vulkan loader, the smoke preset forced onto webgpu, compare against its own baseline', () => {
    const wf = load();
    expect(Object.keys(wf.jobs)[0]).toBe('smoke');
    expect(wf.jobs.shard!.needs).toBe('smoke');
    const smoke = wf.jobs.smoke!;
    expect(runs(smoke)).toContain('npm ci');
    expect(runs(smoke)).toMatch(/apt-get install -y libvulkan1/);
    const calls = runs(smoke).split('\n').filter((l) => /archbench run /.test(l));
    expect(calls.length).toBe(1);
    expect(calls[0]).toMatch(/ --preset smoke /);
    // forced, never "$BACKEND" or auto: a runner without a GPU must fail, not fall back to a CPU backend
    expect(calls[0]).toMatch(/ --backend webgpu /);
    expect(calls[0]).toMatch(/ --out smoke\b/);
    expect(smoke.steps.find((s) => s.id === 'baseline')!.run).toContain('smoke-baseline');
    const compare = smoke.steps.find((s) => s.run?.includes('archbench compare baseline smoke'))!;
    expect(compare.if).toBe("steps.baseline.outputs.found == 'true'");
    const keep = smoke.steps.find((s) => s.with?.name === 'smoke-baseline')!;
    expect(keep.if).toBe('success()');
    expect(String(keep.with!.path)).toContain('smoke/records.jsonl');
  });

  it("the smoke job's adapter check passes a GPU and fails a software adapter or none", async () => {
    const check = load().jobs.smoke!.steps.find((s) => /adapter/.test(s.name ?? ''))!.run!;
    const withManifest = async (adapter: unknown) => {
      const ws = mkdtempSync(join(tmpdir(), 'archbench-wf-adapter-'));
      mkdirSync(join(ws, 'smoke'));
      writeFileSync(join(ws, 'smoke', 'manifest.json'), JSON.stringify({ backend: 'webgpu', adapter }));
      return bash(check, ws, process.env);
    };
    const gpu = await withManifest({ vendor: 'nvidia', device: 'nvidia-h200', software: false });
    expect(gpu.status, gpu.output).toBe(0);
    expect(gpu.output).toContain('nvidia-h200');
    const soft = await withManifest({ vendor: 'mesa', device: 'llvmpipe', software: true });
    expect(soft.status).toBe(1);
    expect(soft.output).toContain('software adapter (llvmpipe)');
    expect((await withManifest(null)).status).toBe(1);
  });
});

// ---------- a small runner for this workflow's steps ----------

interface Pass {
  failed: boolean;
  log: string[];
}

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), 'archbench-wf-'));
  for (const f of LINKED) symlinkSync(join(ROOT, f), join(ws, f));
  return ws;
}

function expand(text: string, ctx: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    if (!(expr in ctx)) throw new Error(`the test does not know the expression \${{ ${expr} }}`);
    return ctx[expr]!;
  });
}

function condition(cond: string | undefined, failed: boolean, outputs: Record<string, Record<string, string>>): boolean {
  if (!cond || cond === 'success()') return !failed;
  if (cond === 'always()') return true;
  const m = /^steps\.(\w+)\.outputs\.(\w+) == '([^']*)'$/.exec(cond.trim());
  if (m) return !failed && outputs[m[1]!]?.[m[2]!] === m[3];
  throw new Error(`the test does not know the condition ${cond}`);
}

/** Run one job of the workflow in `ws`; `artifacts` is the artifact store (a folder per artifact). */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('close', (status) => resolve({ status, output }));
  });
}

async function runJob(wf: Workflow, jobName: string, ws: string, artifacts: string, matrix: Record<string, string>, env: NodeJS.ProcessEnv, baseline: string | null): Promise<Pass> {
  const job = wf.jobs[jobName]!;
  const total = String(Object.values(job.strategy?.matrix ?? {})[0]?.length ?? 1);
  const ctx: Record<string, string> = { 'strategy.job-total': total, 'github.token': 'none', 'github.ref_name': 'main', 'github.ref': 'refs/heads/main' };
  for (const [k, v] of Object.entries(matrix)) ctx[`matrix.${k}`] = v;
  const outputs: Record<string, Record<string, string>> = {};
  const pass: Pass = { failed: false, log: [] };
  for (const step of job.steps) {
    if (!condition(step.if, pass.failed, outputs)) continue;
    const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), ctx)]));
    if (step.uses?.startsWith('actions/checkout') || step.uses?.startsWith('actions/setup-node')) continue;
    if (step.uses?.startsWith('actions/upload-artifact')) {
      const paths = w.path!.split('\n').map((s) => s.trim()).filter(Boolean);
      const dest = join(artifacts, w.name!);
      rmSync(dest, { recursive: true, force: true });
      mkdirSync(dest, { recursive: true });
      if (paths.length === 1 && existsSync(join(ws, paths[0]!))) cpSync(join(ws, paths[0]!), dest, { recursive: true });
      else for (const p of paths) if (existsSync(join(ws, p))) cpSync(join(ws, p), join(dest, basename(p))); // files under one parent: the parent is dropped
      pass.log.push(`upload ${w.name}`);
      continue;
    }
    if (step.uses?.startsWith('actions/download-artifact')) {
      const re = new RegExp(`^${w.pattern!.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      for (const name of readdirSync(artifacts).filter((n) => re.test(n))) cpSync(join(artifacts, name), join(ws, w.path!, name), { recursive: true });
      continue;
    }
    if (step.uses) throw new Error(`the test does not stand in for ${step.uses}`);
    if (/^\s*npm ci\b/.test(step.run!)) continue; // the workspace is an installed tree
    if (step.id === 'baseline') {
      rmSync(join(ws, 'baseline'), { recursive: true, force: true });
      if (baseline) cpSync(baseline, join(ws, 'baseline'), { recursive: true });
      outputs.baseline = { found: baseline ? 'true' : 'false' };
      continue;
    }
    const script = expand(step.run!, ctx);
    const outFile = join(ws, `.github_output_${step.id ?? 'x'}`);
    writeFileSync(outFile, '');
    const r = await bash(script, ws, { ...env, ...(step.env ?? {}), GITHUB_OUTPUT: outFile });
    pass.log.push(`$ ${script.trim()}\n${r.output}exit ${r.status}`);
    if (r.status !== 0) pass.failed = true;
  }
  return pass;
}

describe('nightly workflow: the commands as written, tiny preset on CPU', () => {
  it('shards -> merge -> report -> compare; an identical rerun passes, a regression fails the job', { timeout: 420_000 }, async () => {
    const wf = load();
    // the overrides must name real env keys of the workflow (so the YAML and the test stay in step)
    for (const k of Object.keys(OVERRIDES)) expect(wf.env).toHaveProperty(k);
    const cache = mkdtempSync(join(tmpdir(), 'archbench-wf-cache-'));
    const env: NodeJS.ProcessEnv = { ...process.env, ...wf.env, ...OVERRIDES, ARCHBENCH_CACHE: cache, CI: 'true' };
    const artifacts = mkdtempSync(join(tmpdir(), 'archbench-wf-artifacts-'));

    // pass 1: the shard jobs (two at a time, as parallel runners would), then the report job with no baseline yet
    const shards = (wf.jobs.shard!.strategy!.matrix!.shard as number[]).map(String);
    for (let i = 0; i < shards.length; i += 2) {
      const passes = await Promise.all(shards.slice(i, i + 2).map((shard) => runJob(wf, 'shard', workspace(), artifacts, { shard }, env, null)));
      for (const p of passes) expect(p.failed, p.log.join('\n')).toBe(false);
    }
    const ws1 = workspace();
    const first = await runJob(wf, 'report', ws1, artifacts, {}, env, null);
    expect(first.failed, first.log.join('\n')).toBe(false);
    const merged = readRecords(join(ws1, 'run'));
    expect(new Set(merged.map((r) => r.seed))).toEqual(new Set([0, 1]));
    expect(existsSync(join(artifacts, 'leaderboard', 'index.html'))).toBe(true);
    expect(readdirSync(join(artifacts, 'leaderboard', 'figures')).some((f) => f.endsWith('.png'))).toBe(true);
    expect(existsSync(join(artifacts, 'nightly-baseline', 'records.jsonl'))).toBe(true);

    // pass 2: the report job again, with pass 1's baseline: identical results, compare passes
    const baseline = join(mkdtempSync(join(tmpdir(), 'archbench-wf-base-')), 'nightly-baseline');
    cpSync(join(artifacts, 'nightly-baseline'), baseline, { recursive: true });
    const second = await runJob(wf, 'report', workspace(), artifacts, {}, env, baseline);
    expect(second.failed, second.log.join('\n')).toBe(false);
    expect(second.log.join('\n')).toContain('0 regression(s)');

    // pass 3: a baseline whose bpb was 20% better: the compare step fails the job; the leaderboard is
    // still uploaded, and this run does not become the next baseline
    const better = join(mkdtempSync(join(tmpdir(), 'archbench-wf-better-')), 'nightly-baseline');
    cpSync(baseline, better, { recursive: true });
    const lines = readFileSync(join(better, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { metric: string; value: number });
    writeFileSync(join(better, 'records.jsonl'), lines.map((r) => JSON.stringify(r.metric === 'test_bpb' ? { ...r, value: r.value * 0.8 } : r)).join('\n') + '\n');
    rmSync(join(artifacts, 'leaderboard'), { recursive: true, force: true });
    rmSync(join(artifacts, 'nightly-baseline'), { recursive: true, force: true });
    const third = await runJob(wf, 'report', workspace(), artifacts, {}, env, better);
    expect(third.failed).toBe(true);
    expect(third.log.join('\n')).toMatch(/REGRESSION\s+perplexity\s+test_bpb/);
    expect(existsSync(join(artifacts, 'leaderboard', 'index.html'))).toBe(true);
    expect(existsSync(join(artifacts, 'nightly-baseline'))).toBe(false);
  });
});
