// `archbench list [archs|suites|presets]`: what is registered, one line each.
import type { Command } from 'commander';
import { architectureNames, getArchitecture } from '../../architectures/index.ts';
import { getSuite, suiteNames } from '../../suites/index.ts';
import { UsageError } from '../../harness/errors.ts';
import { PRESETS, PRESET_NAMES } from '../../harness/presets.ts';
import { paperListing } from '../../reports/papers.ts';

const LISTABLE = ['archs', 'suites', 'presets', 'papers'] as const;

function listing(what: string): { name: string; description: string }[] {
  switch (what) {
    case 'archs': return architectureNames().map((n) => ({ name: n, description: getArchitecture(n)!.description }));
    case 'suites': return suiteNames().map((n) => ({ name: n, description: getSuite(n)!.description }));
    case 'presets': return PRESET_NAMES.map((n) => ({ name: n, description: PRESETS[n]!.description }));
    case 'papers': return paperListing();
    default: throw new UsageError(`unknown list '${what}'; valid: ${LISTABLE.join(', ')}`);
  }
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('list')
    .description('what is registered, one line each')
    .argument('[what]', `one of ${LISTABLE.join(', ')} (all when omitted)`)
    .option('--json', 'one JSON object per line')
    .action((what: string | undefined, opts: { json?: boolean }) => {
      for (const w of what ? [what] : LISTABLE) {
        for (const item of listing(w)) {
          out(opts.json ? `${JSON.stringify({ kind: w, ...item })}\n` : `${w.padEnd(8)} ${item.name.padEnd(14)} ${item.description}\n`);
        }
      }
    });

}
