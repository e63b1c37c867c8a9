// The node:http front of the emulator: the IC HTTP interface routes the agent uses, the control
// API under `/_/`, and the connection-level faults (dropped connections).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest } from './control-api.js';
import { HttpProtocolError } from './errors.js';
import type { HttpReply, Replica, RequestKind } from './replica.js';

/** Bodies above this are refused before decoding (calls are limited to 2 MiB separately). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const CANISTER_ROUTE = /^\/api\/(v2|v3)\/canister\/([^/]+)\/(call|read_state|query)$/;

export interface ReplicaServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function serveReplica(replica: Replica, options: { port?: number; host?: string } = {}): Promise<ReplicaServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(replica, req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) sendText(res, 500, `Replica emulator error: ${(error as Error).message}`);
    });
  });
  // Large snapshot reads and slow-reply faults must not trip Node's default request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${host}:${port}`, port, close: () => closeServer(server) };
}

async function handle(replica: Replica, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://replica');
  const path = url.pathname;

  if (path === '/_' || path.startsWith('/_/')) {
    replica.countRequest('control');
    const body = await readBody(req);
    let json: unknown;
    try {
      json = body.length > 0 ? JSON.parse(Buffer.from(body).toString('utf8')) : undefined;
    } catch {
      sendJson(res, 400, { error: 'the request body is not JSON' });
      return;
    }
    const reply = handleControlRequest(replica, req.method ?? 'GET', path, json);
    sendJson(res, reply.status, reply.json);
    return;
  }

  const kind = requestKind(req.method, path);
  if (!kind) {
    sendText(res, 404, `Not Found: ${req.method} ${path}`);
    return;
  }
  replica.countRequest(kind);

  const drop = replica.faults.takeDrop();
  if (drop === 'before-execution') {
    req.socket.destroy();
    return;
  }

  let reply: HttpReply;
  try {
    const body = await readBody(req);
    reply = await dispatch(replica, kind, path, body);
  } catch (error) {
    if (!(error instanceof HttpProtocolError)) throw error;
    reply = { status: error.status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(error.message, 'utf8') };
  }

  if (drop === 'after-execution') {
    req.socket.destroy();
    return;
  }
  res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': reply.body.length });
  res.end(reply.body);
}

function requestKind(method: string | undefined, path: string): RequestKind | undefined {
  if (method === 'GET' && path === '/api/v2/status') return 'status';
  const match = CANISTER_ROUTE.exec(path);
  if (method !== 'POST' || !match) return undefined;
  const [, version, , endpoint] = match;
  if (endpoint === 'call') return version === 'v3' ? 'call-v3' : 'call-v2';
  // read_state and query exist as v2 only in the interface @dfinity/agent 3.x speaks.
  if (version !== 'v2') return undefined;
  return endpoint === 'query' ? 'query' : 'read_state';
}

function dispatch(replica: Replica, kind: RequestKind, path: string, body: Uint8Array): Promise<HttpReply> {
  const effectiveCanisterId = decodeURIComponent(CANISTER_ROUTE.exec(path)?.[2] ?? '');
  switch (kind) {
    case 'status':
      return replica.status();
    case 'call-v3':
      return replica.call(effectiveCanisterId, body, 'v3');
    case 'call-v2':
      return replica.call(effectiveCanisterId, body, 'v2');
    case 'read_state':
      return replica.readState(effectiveCanisterId, body);
    case 'query':
      return replica.query(effectiveCanisterId, body);
    case 'control':
      throw new Error('control requests are routed separately');
  }
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) throw new HttpProtocolError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, length);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function sendText(res: ServerResponse, status: number, message: string): void {
  const body = Buffer.from(message, 'utf8');
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
