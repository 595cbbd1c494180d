// `archbench verify [--golden DIR]`: the architectures' layers against reference vectors (default: the
// ones shipped in fixtures/golden/; format: fixtures/golden/README.md). Prints each case/form's max abs error and tolerance; exit 0 iff all pass,
// 1 on a mismatch, 2 on an unknown case type or a malformed file.
import type { Command } from 'commander';
import { backendLine, selectBackend } from '../../harness/backend.ts';
import { formatCheck, GOLDEN_FIXTURES, loadGoldenDir, runCases } from '../golden.ts';
import { backendOption } from './run.ts';

export function register(program: Command, out: (s: string) => void): void {
  program.command('verify')
    .description('check layers against reference vectors; exit 0 iff all pass (1: mismatch, 2: bad file)')
    .option('--golden <dir>', 'directory of golden case files (*.json)', GOLDEN_FIXTURES)
    .addOption(backendOption())
    .option('--json', 'one JSON object per check')
    .action(async (opts: { golden: string; backend: string; json?: boolean }) => {
      const cases = loadGoldenDir(opts.golden); // every file parsed and typed before anything runs
      const backend = await selectBackend(opts.backend);
      if (!opts.json) process.stderr.write(`${backendLine(backend)}\n`);
      const checks = await runCases(cases);
      for (const k of checks) {
        out(opts.json
          ? `${JSON.stringify({ file: k.file, case: k.case, form: k.form, max_abs_err: k.maxAbsErr, tolerance: k.tolerance, pass: k.pass,
            max_abs_ref: k.maxAbsRef, readme_tolerance: k.readmeTolerance, readme_pass: k.readmePass, note: k.note ?? null, backend: backend.name })}\n`
          : `${formatCheck(k)}\n`);
      }
      const failed = checks.filter((k) => !k.pass).length;
      if (!opts.json) out(`${checks.length} checks, ${checks.length - failed} passed, ${failed} failed\n`);
      if (failed > 0) process.exitCode = 1;
    });
}
