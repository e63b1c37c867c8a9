// Build your own pipeline from the standard stages: chunk, hash, compress, encrypt, and write the
// result as a backup stream straight into an HTTP upload (here to a tiny local server standing in
// for your storage), then read it back from the server and restore it. Any Node stream fits in:
// http requests, fs, zlib, child process stdio.
// Run: node --import tsx examples/custom-pipeline-http.ts
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ByteStreamSink, createBackupStream, restoreBackupStream, StdinSource } from 'agentvault';

// The "remote storage": keeps one uploaded object in memory.
let stored = Buffer.alloc(0);
const server = http.createServer((req, res) => {
  if (req.method === 'PUT') {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      stored = Buffer.concat(parts);
      res.end('ok');
    });
  } else res.end(stored);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };

const data = Buffer.from(Array.from({ length: 20000 }, (_, i) => `{"id":${i},"owner":"p-${i % 13}"}\n`).join(''));
const source = new StdinSource(Readable.from([data]), { name: 'ledger.jsonl' });

// Backup stream → gzip (Node's zlib, just to show it composes) → HTTP PUT.
const upload = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/backup' });
const gzip = zlib.createGzip();
const uploaded = pipeline(gzip, upload);
const info = await createBackupStream({ source, output: gzip, password: 'example password' });
gzip.end();
await uploaded;
await new Promise((resolve) => upload.once('response', resolve));
console.log(`uploaded backup ${info.id} of ${info.source.name}: ${stored.length} bytes`);

// HTTP GET → gunzip → restore into memory.
const download = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port, path: '/backup' }, resolve));
const restored: Buffer[] = [];
const collect = new Writable({ write: (chunk: Buffer, _e, cb) => (restored.push(chunk), cb()) });
await restoreBackupStream({ input: download.pipe(zlib.createGunzip()), credentials: { password: 'example password' }, sink: new ByteStreamSink(collect) });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
console.log(`restored: ${sha(Buffer.concat(restored)) === sha(data) ? 'identical' : 'DIFFERENT'}`);
server.close();
