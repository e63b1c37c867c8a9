// Ctrl-C and SIGTERM abort the running pipeline instead of killing the process, so locks are
// released and temp files removed; the command then fails with "interrupted".
import { AgentvaultError } from '../errors.js';

export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted) throw new AgentvaultError('ABORTED', 'interrupted; nothing was committed', { cause: err });
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
