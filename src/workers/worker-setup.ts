// The worker side of WorkerPool's set-up: a worker gets its configuration as workerData when the
// pool starts it, or, when it was started early, before the configuration was known
// (prestartWorkers in pool.ts), as its first message. serve() takes both: one listener, attached
// as the module loads, so no task can arrive before there is someone to take it.
import { parentPort, workerData } from 'node:worker_threads';

/** The message that configures a worker started early. */
export interface ConfigureMessage<Config> {
  readonly kind: 'configure';
  readonly config: Config;
}

/** Configures the worker (now, or on its first message), then hands every task to `handle`. */
export function serve<Config, Task>(configure: (config: Config) => void, handle: (task: Task) => void): void {
  let configured = workerData !== undefined;
  if (configured) configure(workerData as Config);
  parentPort!.on('message', (message: Task | ConfigureMessage<Config>) => {
    if (configured) return handle(message as Task);
    configured = true;
    configure((message as ConfigureMessage<Config>).config);
  });
}
