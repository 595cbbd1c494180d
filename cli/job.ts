// A job process (cli/jobs.ts): runs the units its parent sends, one after another, and sends back each
// unit's records; the parent writes them. It stops as the one-process runner does on Ctrl-C (a training
// loop checkpoints first), and exits when its parent is gone (killed), so no orphan trains on.
import { selectBackend } from '../harness/backend.ts';
import { InterruptedError, interruptRequested, requestInterrupt, trainingInFlight, yieldToEvents } from '../harness/interrupt.ts';
import type { FromJob, ToJob } from './jobs.ts';
import { measureUnit, unitEnv } from './runner.ts';

const send = (m: FromJob): Promise<void> => new Promise((resolve) => process.send!(m, () => resolve()));

/** Stop: a training loop in flight checkpoints at its next step and ends the unit; otherwise at once. */
function stop(): void {
  if (trainingInFlight() && !interruptRequested()) requestInterrupt();
  else process.exit(130);
}

export function jobMain(): void {
  process.on('disconnect', () => process.exit(1));
  process.on('SIGINT', stop);
  process.on('message', (m: ToJob) => {
    if (m.type === 'stop') stop();
    else void runShare(m);
  });
}

async function runShare(m: Extract<ToJob, { type: 'run' }>): Promise<void> {
  try {
    await selectBackend(m.backend);
    const env = unitEnv(m.options);
    for (const { index, unit } of m.units) {
      await yieldToEvents(); // a stop asked for during the last unit's evaluation is handled here at the latest
      if (interruptRequested()) throw new InterruptedError('(asked to stop while a training loop was ending)');
      await send({ type: 'start', index });
      const { records, elapsed } = await measureUnit(m.options, unit, env);
      await send({ type: 'done', index, records, elapsed });
    }
    process.exit(0); // data-parallel worker threads, if any, would keep the process alive
  } catch (e) {
    if (e instanceof InterruptedError) {
      await send({ type: 'stopped', where: e.where });
      process.exit(130);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    await send({ type: 'failed', error: { name: err.name, message: err.message, code: (err as NodeJS.ErrnoException).code, stack: err.stack } });
    process.exit(1);
  }
}
