// `archbench merge DIR... --out DIR`: joins shard outputs into one run (records de-duplicated by unit).
import type { Command } from 'commander';
import { UsageError } from '../../harness/errors.ts';
import { mergeRuns } from '../../reports/merge.ts';

export function register(program: Command, out: (s: string) => void): void {
  program.command('merge')
    .description('merge shard outputs into one run directory (records de-duplicated by unit, manifests merged)')
    .argument('<dirs...>', 'shard run directories')
    .option('--out <dir>', 'the merged run directory (must not hold records yet)')
    .option('--json', 'print {out, units, records, duplicates, conflicts, warnings} as JSON')
    .action((dirs: string[], opts: { out?: string; json?: boolean }) => {
      if (!opts.out) throw new UsageError('merge needs --out DIR');
      const r = mergeRuns(dirs, opts.out);
      for (const w of [...r.warnings, ...r.conflicts]) process.stderr.write(`warning: ${w}\n`);
      if (opts.json) out(`${JSON.stringify(r)}\n`);
      else out(`merged ${dirs.length} director${dirs.length === 1 ? 'y' : 'ies'}: ${r.units} units, ${r.records} records, ${r.duplicates.length} duplicate unit(s) -> ${r.out}\n`);
    });
}
