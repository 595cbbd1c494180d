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
    .description('what is registered, one line each, in aligned columns')
    .argument('[what]', `one of ${LISTABLE.join(', ')} (all when omitted)`)
    .option('--json', 'one JSON object per line')
    .action((what: string | undefined, opts: { json?: boolean }) => {
      const rows = (what ? [what] : LISTABLE).flatMap((kind) => listing(kind).map((item) => ({ kind, ...item })));
      if (opts.json) for (const r of rows) out(`${JSON.stringify(r)}\n`);
      else {
        // every column as wide as its widest entry, so the descriptions start in one column
        const kindWidth = Math.max(...rows.map((r) => r.kind.length)), nameWidth = Math.max(...rows.map((r) => r.name.length));
        for (const r of rows) out(`${r.kind.padEnd(kindWidth)}  ${r.name.padEnd(nameWidth)}  ${r.description}\n`);
      }
    });

}
