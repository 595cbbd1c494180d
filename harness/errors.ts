// Bad input is a UsageError: the CLI prints its one line and exits 2, before anything is written.
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Throw a UsageError naming the bad value and the valid ones. */
export function invalid(what: string, value: string, valid: readonly string[]): never {
  throw new UsageError(`unknown ${what} '${value}'; valid: ${valid.join(', ')}`);
}

/** Parse a comma list and check every item against the valid names, in any case ('RetNet' is 'retnet'); `defaults` when no list is given. */
export function parseNames(what: string, list: string | undefined, valid: readonly string[], defaults: readonly string[] = valid): string[] {
  if (list === undefined) return [...defaults];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`empty ${what} list; valid: ${valid.join(', ')}`);
  return names.map((n) => valid.find((v) => v.toLowerCase() === n.toLowerCase()) ?? invalid(what, n, valid));
}

/** "1 unit", "2 units": a count and its noun, plural when it is not 1. */
export const plural = (count: number, noun: string, nouns = `${noun}s`): string => `${count} ${count === 1 ? noun : nouns}`;

/** Parse a positive integer option strictly ("3", not "3x" or "1.5"). */
export function parsePositiveInt(option: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${option} must be a positive integer, got '${value}'`);
  return Number(value);
}

/** A failed write's error naming its file, as Node names the file of a failed open ('..., write '/x''). */
export function namingPath(e: unknown, path: string): unknown {
  if (e instanceof Error && !e.message.includes(path)) e.message += ` '${path}'`;
  return e;
}
