// A repository source into process.stdout, through the restore stages, with typed progress
// events and an AbortSignal: the building blocks restore() uses, assembled by hand.
// Run: node --import tsx examples/repository-to-stdout.ts > out.txt
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backup, ByteStreamSink, LocalBackend, ProgressStage, Repository, RepositorySource, restoreStages, StdinSource } from 'agentvault';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvault-example-'));
const repository = await Repository.init(new LocalBackend(dir), { encryption: 'aes-256-gcm', password: 'example password' });
const text = 'hello from a canister\n'.repeat(10000);
const { manifest } = await backup({ repository, source: new StdinSource(Readable.from([Buffer.from(text)]), { name: 'greeting.txt' }) });

const progress = new ProgressStage(undefined, { totalBytes: manifest.stats.logicalSize, intervalMs: 0 });
let last = 0;
progress.on('progress', (p) => (last = p.bytes));
const controller = new AbortController();
const source = new RepositorySource(repository, manifest, await repository.loadIndex());
await pipeline([source.records(), ...restoreStages(repository), progress, new ByteStreamSink(process.stdout)], { signal: controller.signal });
process.stderr.write(`restored ${last} of ${manifest.stats.logicalSize} bytes to stdout\n`);
fs.rmSync(dir, { recursive: true });
