// Back up a file into a new repository and restore it: the two helpers, backup() and restore().
// Run: node --import tsx examples/backup-and-restore.ts
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backup, FileSink, FileSource, LocalBackend, Repository, restore } from 'agentvault';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-example-'));
const input = path.join(dir, 'state.bin');
fs.writeFileSync(input, Buffer.alloc(1 << 20, 'canister state '));

const repository = await Repository.init(new LocalBackend(path.join(dir, 'repo')), { encryption: 'aes-256-gcm', password: 'example password' });
const { manifest } = await backup({ repository, source: await FileSource.open(input) });
console.log(`backup ${manifest.id}: ${manifest.stats.logicalSize} bytes, ${manifest.stats.storedSize} stored`);

const output = path.join(dir, 'restored.bin');
await restore({ repository, manifest, sink: new FileSink(output) });
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
console.log(`restored: ${sha(output) === sha(input) ? 'identical' : 'DIFFERENT'}`);
fs.rmSync(dir, { recursive: true });
