// Stopping a run cleanly on SIGINT (Ctrl-C). A training loop in flight finishes its step, saves a
// checkpoint and raises InterruptedError; with none in flight the run can stop at once, since records and
// cache entries are only ever written whole (appended in one write, or renamed into place).
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly where: string) {
    super(`interrupted ${where}`);
  }
}

let requested = false;
let trainingLoops = 0;

/** Ask the training loop in flight to checkpoint and stop at its next step boundary. */
export function requestInterrupt(): void {
  requested = true;
}

export const interruptRequested = (): boolean => requested;

/** Whether a training loop is running (it will honour requestInterrupt). */
export const trainingInFlight = (): boolean => trainingLoops > 0;

/** Mark a training loop as running until the returned function is called. */
export function trainingStarted(): () => void {
  trainingLoops++;
  return () => void trainingLoops--;
}

/** For a new run in the same process (tests): no interrupt pending. */
export function clearInterrupt(): void {
  requested = false;
}

/**
 * Let pending events (a SIGINT) be handled: work whose every await resolves in microtasks (training and
 * evaluation on CPU backends) never gives Node's event loop a turn otherwise.
 */
export const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
