// Fault injection for the reliability battery (tests/reliability/): ARCHBENCH_FAULT holds comma-separated
// faults. Unset (always, outside those tests) every hook here is a no-op and nothing else changes.
//   kill-in-append:N    the N-th records append of this process writes half its bytes, then kill -9s itself
//   kill-after-append:N the N-th records append of this process completes, then it kill -9s itself
//   nan-loss:ARCH:STEP  every model of architecture ARCH trained in this process sees a NaN loss at STEP
// A model trained under a fault is cached under a key that names the fault (faultKey), never a clean one.
import { writeSync } from 'node:fs';

const faults = (): string[] => (process.env.ARCHBENCH_FAULT ?? '').split(',').map((f) => f.trim()).filter(Boolean);

/** The active faults that change trained weights, for cache keys (undefined when none). */
export function faultKey(): string | undefined {
  const nan = faults().filter((f) => f.startsWith('nan-loss:'));
  return nan.length ? nan.join(',') : undefined;
}

/** The training loss of `arch` at `step`, or NaN where a nan-loss fault says so. */
export function injectedLoss(arch: string, step: number, loss: number): number {
  return faults().includes(`nan-loss:${arch}:${step}`) ? NaN : loss;
}

let appends = 0;

/**
 * Write all of `text` to fd (a write may take only part: a full disk); under kill-in-append:N the N-th call
 * writes half of it and the process dies (kill -9), under kill-after-append:N it writes all of it first.
 */
export function appendWithFaults(fd: number, text: string): void {
  appends++;
  const bytes = Buffer.from(text);
  const halfway = faults().includes(`kill-in-append:${appends}`);
  const end = halfway ? Math.floor(bytes.length / 2) : bytes.length;
  for (let done = 0; done < end;) done += writeSync(fd, bytes, done, end - done);
  if (halfway || faults().includes(`kill-after-append:${appends}`)) process.kill(process.pid, 'SIGKILL');
}
