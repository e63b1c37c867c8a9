// The worker side of WorkerPool's set-up: a worker gets its configuration as workerData when the
// pool starts it, or, when it was started early, before the configuration was known
// (prestartWorkers in pool.ts), as its first message. serve() takes both: one listener, attached
// as the module loads, so no task can arrive before there is someone to take it. It also answers
// each task the way WorkerPool reads answers: the result, or the error the task threw.
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';

/** The message that configures a worker started early. */
export interface ConfigureMessage<Config> {
  readonly kind: 'configure';
  readonly config: Config;
}

/** What a task's handler returns: its result, and the buffers to transfer with it rather than copy. */
export interface TaskAnswer {
  readonly result: unknown;
  readonly transfer?: readonly TransferListItem[];
}

/**
 * Configures the worker (now, or on its first message), then hands every task to `handle` and
 * posts its answer: `{ ok: true, result }`, or `{ ok: false, error }` when it threw.
 */
export function serve<Config, Task>(configure: (config: Config) => void, handle: (task: Task) => TaskAnswer): void {
  let configured = workerData !== undefined;
  if (configured) configure(workerData as Config);
  parentPort!.on('message', (message: Task | ConfigureMessage<Config>) => {
    if (!configured) {
      configured = true;
      configure((message as ConfigureMessage<Config>).config);
      return;
    }
    try {
      const { result, transfer = [] } = handle(message as Task);
      parentPort!.postMessage({ ok: true, result }, transfer as TransferListItem[]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      parentPort!.postMessage({ ok: false, error: { message: e.message, name: e.name, ...(e.code ? { code: e.code } : {}) } });
    }
  });
}
