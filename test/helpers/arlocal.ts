// A real Arweave gateway for tests: arlocal, in-process, bound to 127.0.0.1 only (its CLI binds
// every interface), with a fresh database directory per instance (two instances sharing one
// wipe each other's data; see /work/shared/notes/arweave.md §1). Plus a wallet generated with the
// real arweave client, and a tiny fault-injecting HTTP proxy to put in front of it.
import fs from 'node:fs';
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Arweave from 'arweave';

interface ArLocalInternals {
  app: { listen: (port: number, cb?: () => void) => http.Server; callback(): http.RequestListener };
  start(): Promise<void>;
  stop(): Promise<void>;
  log: { logInFile(args: unknown[]): void };
}

type ArLocalConstructor = new (port?: number, showLogs?: boolean, dbPath?: string, persist?: boolean) => ArLocalInternals;

const require = createRequire(import.meta.url);

/**
 * Loads arlocal. Under tsx (the test runner), `require('generator-function')` — reached through
 * koa — resolves to its `module-sync` ESM file and yields a namespace object instead of the
 * function, and koa then fails in `app.use`. Plain Node 20.19+ gets this right; for tsx the
 * CommonJS build is put in the require cache first.
 */
function loadArLocal(): ArLocalConstructor {
  const resolved = require.resolve('generator-function');
  if (resolved.endsWith('.mjs') && !require.cache[resolved]) {
    const cjs = new Module(resolved);
    cjs.exports = require(path.join(path.dirname(resolved), 'index.js'));
    cjs.loaded = true;
    require.cache[resolved] = cjs;
  }
  const mod = require('arlocal') as { default: ArLocalConstructor };
  return mod.default;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  mint(address: string, winston: bigint | number): Promise<void>;
  mine(blocks?: number): Promise<void>;
  /** Mines every `ms` until stopped: lets a waiting upload see its transactions confirmed. */
  autoMine(ms?: number): () => void;
  stop(): Promise<void>;
}

export async function startArlocal(t: { after(fn: () => unknown): void }): Promise<Gateway> {
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-arlocal-'));
  const ArLocal = loadArLocal();
  // persist=true: arlocal otherwise unlinks ./logs in the cwd on start, which races when two test
  // files start one at once (ENOENT). Our dbDir is fresh and removed by stop() anyway.
  const instance = new ArLocal(0, false, dbDir, true);
  // …and it appends every request to ./logs in the cwd: not in the checkout.
  instance.log.logInFile = () => undefined;
  let server: http.Server | undefined;
  // Any free port on loopback (arlocal's own default is 1984 on every interface).
  instance.app.listen = (_port, cb) => {
    server = http.createServer(instance.app.callback()).listen(0, '127.0.0.1', cb);
    return server;
  };
  quietArlocalErrors();
  const log = console.log;
  console.log = () => undefined; // "arlocal started on port …"
  try {
    await instance.start();
    if (!server!.listening) await new Promise((resolve) => server!.once('listening', resolve));
  } finally {
    console.log = log;
  }
  const port = (server!.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const miners = new Set<NodeJS.Timeout>();
  let mining: Promise<unknown> | undefined;
  const gateway: Gateway = {
    url,
    port,
    async mint(address, winston) {
      const res = await fetch(`${url}/mint/${address}/${winston}`);
      if (!res.ok) throw new Error(`mint failed: ${res.status}`);
      await res.arrayBuffer();
    },
    async mine(blocks = 1) {
      const res = await fetch(`${url}/mine/${blocks}`);
      if (!res.ok) throw new Error(`mine failed: ${res.status}`);
      await res.arrayBuffer();
    },
    autoMine(ms = 200) {
      const timer = setInterval(() => {
        if (mining) return;
        mining = gateway.mine().catch(() => undefined).finally(() => (mining = undefined));
      }, ms);
      miners.add(timer);
      return () => {
        clearInterval(timer);
        miners.delete(timer);
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Nothing may reach arlocal once its database is closed: a query then waits 60 s for a
      // connection and keeps the test process alive.
      for (const timer of miners) clearInterval(timer);
      await mining;
      server?.close();
      server?.closeAllConnections();
      await new Promise((r) => setTimeout(r, 100)); // let handlers already running finish
      await instance.stop();
      await new Promise((r) => setTimeout(r, 50));
      fs.rmSync(dbDir, { recursive: true, force: true });
    },
  };
  t.after(() => gateway.stop());
  return gateway;
}

let quieted = false;

/**
 * arlocal console.errors the UNIQUE violation it swallows when a transaction is posted again
 * (which resuming and seeding do on purpose); those lines are dropped, everything else passes.
 */
function quietArlocalErrors(): void {
  if (quieted) return;
  quieted = true;
  const error = console.error;
  console.error = (...args: unknown[]) => {
    const first = args[0] as { error?: { code?: unknown } } | undefined;
    if (first?.error?.code === 'SQLITE_CONSTRAINT') return;
    error(...args);
  };
}

export interface TestWallet {
  readonly path: string;
  readonly address: string;
}

/** A fresh RSA-4096 wallet written as a JWK file (mode 0600), as `arweave key-create` would. */
export async function createWallet(dir: string, name = 'wallet.json'): Promise<TestWallet> {
  const arweave = Arweave.init({});
  const jwk = await arweave.wallets.generate();
  const address = await arweave.wallets.jwkToAddress(jwk);
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return { path: file, address };
}

export const AR = 1_000_000_000_000n;

// ---- fault injection ------------------------------------------------------------------------

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
}

/** What the proxy does with one request. */
export type FaultAction =
  | { readonly kind: 'pass' }
  | { readonly kind: 'respond'; readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly kind: 'hang' }
  /** Forward after a pause: a distant gateway. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Forward, then hand the response body to `transform` before returning it. */
  | { readonly kind: 'transform'; readonly transform: (body: Buffer) => Buffer };

export interface FaultProxy {
  readonly url: string;
  /** Every request seen, in order (after the action was chosen). */
  readonly requests: ProxiedRequest[];
  count(method: string, pathPattern: RegExp): number;
  setRule(rule: (req: ProxiedRequest) => FaultAction): void;
  stop(): Promise<void>;
}

/**
 * A node:http proxy in front of a gateway that can fail, hang or alter chosen requests — a fault
 * injector, not a mock: everything it passes is answered by the real gateway.
 */
export async function startFaultProxy(t: { after(fn: () => unknown): void }, target: string, initial?: (req: ProxiedRequest) => FaultAction): Promise<FaultProxy> {
  let rule = initial ?? (() => ({ kind: 'pass' }) as FaultAction);
  const requests: ProxiedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const seen: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: Buffer.concat(parts) };
      const action = rule(seen);
      requests.push(seen);
      if (action.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (action.kind === 'respond') {
        res.writeHead(action.status, { 'content-type': 'text/plain', ...action.headers });
        res.end(action.body ?? '');
        return;
      }
      const delay = action.kind === 'delay' ? new Promise((r) => setTimeout(r, action.ms)) : Promise.resolve();
      delay.then(() => forward(seen, req.headers['content-type'])).then(
        ({ status, headers, body }) => {
          const out = action.kind === 'transform' ? action.transform(body) : body;
          res.writeHead(status, { ...headers, 'content-length': String(out.length) });
          res.end(out);
        },
        () => {
          res.writeHead(502);
          res.end('bad gateway');
        },
      );
    });
  });
  const forward = async (r: ProxiedRequest, contentType: string | undefined) => {
    const res = await fetch(`${target}${r.path}`, {
      method: r.method,
      ...(r.method === 'GET' || r.method === 'HEAD' ? {} : { body: r.body }),
      headers: contentType ? { 'content-type': contentType } : {},
    });
    const body = Buffer.from(await res.arrayBuffer());
    const headers: Record<string, string> = {};
    const type = res.headers.get('content-type');
    if (type) headers['content-type'] = type;
    return { status: res.status, headers, body };
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  const proxy: FaultProxy = {
    url,
    requests,
    count: (method, pattern) => requests.filter((r) => r.method === method && pattern.test(r.path)).length,
    setRule(next) {
      rule = next;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.after(() => proxy.stop());
  return proxy;
}

/** A loopback URL nothing listens on (a port just freed): a gateway that is down. */
export async function deadGateway(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Flips one bit in the middle of a body: a gateway that serves damaged data. */
export function flipByte(body: Buffer, at = Math.floor(body.length / 2)): Buffer {
  const copy = Buffer.from(body);
  if (copy.length > 0) copy[at] = copy[at]! ^ 0x01;
  return copy;
}
