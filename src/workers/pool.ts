// A fixed pool of worker threads running one kind of task. Tasks queue in order and go to the
// least loaded worker; each worker holds up to TASKS_PER_WORKER, so the next one is already in its
// inbox when it finishes one (no idle round trip through a busy main thread). Results come back as
// promises, so a stage awaits them in its own order (output order is the stage's business).
import os from 'node:os';
import { Worker, type TransferListItem } from 'node:worker_threads';
import type { ConfigureMessage } from './worker-setup.js';

interface Pending<Res> {
  readonly message: unknown;
  readonly transfer: readonly TransferListItem[];
  resolve(value: Res): void;
  reject(err: Error): void;
}

/**
 * Workers hold little JS state (their data is shared memory or transferred), so a small young
 * generation keeps each one's footprint down without costing collections that matter: 2 MB
 * against 8 took ~15 MiB off a 1 GiB backup's and restore's peak RSS at the same speed (4 runs).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

/** Tasks a worker is given at once: the one it runs and the next. */
const TASKS_PER_WORKER = 2;

/** Workers worth starting: one per core, at least 1 (2 cores here; more oversubscribe). */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(os.availableParallelism(), 4));
}

export class WorkerPool<Req, Res> {
  /** Each worker's tasks, in the order it answers them. */
  readonly #assigned = new Map<Worker, Array<Pending<Res>>>();
  readonly #queue: Array<Pending<Res>> = [];
  readonly #workers: Worker[] = [];
  #failed: Error | undefined;
  #closed = false;

  /** Workers started early (prestartWorkers) are taken first and configured by message. */
  constructor(
    script: URL,
    readonly size: number,
    workerData: unknown,
  ) {
    for (let i = 0; i < size; i++) {
      const early = takePrestarted(script);
      const worker = early ?? startWorker(script, workerData);
      if (early) early.postMessage({ kind: 'configure', config: workerData } satisfies ConfigureMessage<unknown>);
      worker.on('message', (msg: { ok: true; result: Res } | { ok: false; error: { message: string; code?: string; name?: string } }) => this.#done(worker, msg));
      worker.on('error', (err) => this.#crash(worker, err));
      worker.on('exit', (code) => {
        if (!this.#closed && code !== 0) this.#crash(worker, new Error(`a worker thread exited with code ${code}`));
      });
      worker.unref();
      this.#workers.push(worker);
      this.#assigned.set(worker, []);
    }
  }

  get pending(): number {
    let assigned = 0;
    for (const tasks of this.#assigned.values()) assigned += tasks.length;
    return this.#queue.length + assigned;
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
    while (this.#queue.length > 0) {
      let target: Worker | undefined;
      let least = TASKS_PER_WORKER;
      for (const [worker, tasks] of this.#assigned) {
        if (tasks.length < least) {
          target = worker;
          least = tasks.length;
        }
      }
      if (!target) return;
      const task = this.#queue.shift()!;
      this.#assigned.get(target)!.push(task);
      target.ref();
      target.postMessage(task.message, task.transfer as TransferListItem[]);
    }
  }

  #done(worker: Worker, msg: { ok: true; result: Res } | { ok: false; error: { message: string; code?: string; name?: string } }): void {
    const tasks = this.#assigned.get(worker)!;
    const task = tasks.shift();
    if (tasks.length === 0 && !this.#closed) worker.unref();
    if (task) {
      if (msg.ok) task.resolve(msg.result);
      else task.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, name: msg.error.name ?? 'Error' }));
    }
    this.#dispatch();
  }

  #crash(worker: Worker, err: Error): void {
    this.#failed ??= err;
    for (const task of this.#assigned.get(worker)?.splice(0) ?? []) task.reject(err);
    for (const queued of this.#queue.splice(0)) queued.reject(err);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const queued of this.#queue.splice(0)) queued.reject(new Error('the worker pool is closed'));
    // Referenced until they have exited: a reply arriving meanwhile would otherwise leave no
    // handle keeping the event loop alive, and the process could end with close() pending.
    await Promise.all(
      this.#workers.map((w) => {
        w.ref();
        return w.terminate();
      }),
    );
  }
}

function startWorker(script: URL, workerData: unknown): Worker {
  return script.pathname.endsWith('.ts') ? typeScriptWorker(script, workerData) : new Worker(script, { workerData, resourceLimits: WORKER_LIMITS });
}

/** Workers started before their configuration was known, by script, not yet taken by a pool. */
const prestarted = new Map<string, Worker[]>();
/** Those that failed or exited while waiting: never handed to a pool. */
const lost = new WeakSet<Worker>();

/**
 * Starts `count` workers of `script` now, to be configured and used by the next pools of that
 * script. A worker takes ~0.15 s to start (Node, its modules, WebAssembly), which the CLI
 * overlaps with deriving the password key (scrypt) instead of waiting for both in turn. Waiting
 * workers keep no process alive; one that fails is discarded and replaced by a new one.
 */
export function prestartWorkers(script: URL, count: number): void {
  const waiting = prestarted.get(script.href) ?? [];
  while (waiting.length < count) {
    const worker = startWorker(script, undefined);
    worker.unref();
    const discard = () => lost.add(worker);
    worker.once('error', discard);
    worker.once('exit', discard);
    waiting.push(worker);
  }
  prestarted.set(script.href, waiting);
}

/** As many workers as backup() and restore() start by default (none on one core). */
export function prestartDefaultWorkers(script: URL): void {
  if (os.availableParallelism() >= 2) prestartWorkers(script, defaultWorkerCount());
}

/** How many started workers of `script` wait for a pool. */
export function prestartedWorkers(script: URL): number {
  return (prestarted.get(script.href) ?? []).filter((w) => !lost.has(w)).length;
}

function takePrestarted(script: URL): Worker | undefined {
  const waiting = prestarted.get(script.href);
  for (let worker = waiting?.shift(); worker; worker = waiting?.shift()) {
    if (!lost.has(worker)) {
      worker.removeAllListeners();
      return worker;
    }
    void worker.terminate();
  }
  return undefined;
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
