// A fixed pool of worker threads running one kind of task. Tasks queue in order; each worker
// takes the next one when it finishes. Results come back as promises, so a stage awaits them in
// its own order (output order is the stage's business, not the pool's).
import os from 'node:os';
import { Worker, type TransferListItem } from 'node:worker_threads';

interface Pending<Res> {
  readonly message: unknown;
  readonly transfer: readonly TransferListItem[];
  resolve(value: Res): void;
  reject(err: Error): void;
}

/**
 * Workers hold little JS state (their data is shared memory or transferred), so a small young
 * generation keeps each one's footprint down without costing collections that matter.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** Workers worth starting: one per core, at least 1 (2 cores here; more oversubscribe). */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(os.availableParallelism(), 4));
}

export class WorkerPool<Req, Res> {
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Pending<Res>>();
  readonly #queue: Array<Pending<Res>> = [];
  readonly #workers: Worker[] = [];
  #failed: Error | undefined;
  #closed = false;

  constructor(
    script: URL,
    readonly size: number,
    workerData: unknown,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = script.pathname.endsWith('.ts') ? typeScriptWorker(script, workerData) : new Worker(script, { workerData, resourceLimits: WORKER_LIMITS });
      worker.on('message', (msg: { ok: true; result: Res } | { ok: false; error: { message: string; code?: string; name?: string } }) => this.#done(worker, msg));
      worker.on('error', (err) => this.#crash(worker, err));
      worker.on('exit', (code) => {
        if (!this.#closed && code !== 0) this.#crash(worker, new Error(`a worker thread exited with code ${code}`));
      });
      worker.unref();
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  get pending(): number {
    return this.#queue.length + this.#busy.size;
  }

  run(message: Req, transfer: readonly TransferListItem[] = []): Promise<Res> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ message, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop()!;
      const task = this.#queue.shift()!;
      this.#busy.set(worker, task);
      worker.ref();
      worker.postMessage(task.message, task.transfer as TransferListItem[]);
    }
  }

  #done(worker: Worker, msg: { ok: true; result: Res } | { ok: false; error: { message: string; code?: string; name?: string } }): void {
    const task = this.#busy.get(worker);
    this.#busy.delete(worker);
    worker.unref();
    this.#idle.push(worker);
    if (task) {
      if (msg.ok) task.resolve(msg.result);
      else task.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, name: msg.error.name ?? 'Error' }));
    }
    this.#dispatch();
  }

  #crash(worker: Worker, err: Error): void {
    this.#failed ??= err;
    const task = this.#busy.get(worker);
    this.#busy.delete(worker);
    task?.reject(err);
    for (const queued of this.#queue.splice(0)) queued.reject(err);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const queued of this.#queue.splice(0)) queued.reject(new Error('the worker pool is closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** The URL of a worker module in this directory, as .ts under tsx (tests) or .js when built. */
export function workerScript(name: string): URL {
  return new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
}

/**
 * Running from sources under tsx (the test suite): Node 20 does not apply tsx's loader hooks to
 * worker threads, so the worker registers tsx itself before importing the TypeScript module.
 * Built code (dist/) loads .js workers directly and never comes here.
 */
function typeScriptWorker(script: URL, workerData: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(code, { eval: true, workerData, resourceLimits: WORKER_LIMITS });
}
