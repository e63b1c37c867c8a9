// A chunk out of place is an error in every sink, never wrong bytes written quietly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { FileSink } from '../src/sinks/files.js';
import { ByteStreamSink } from '../src/sinks/stream.js';
import type { PipelineRecord } from '../src/types.js';
import { tempDir } from './helpers/tmp.js';

const swapped: PipelineRecord[] = [
  { type: 'entry', entry: { index: 0, name: 'a', kind: 'file', size: 6 } },
  { type: 'chunk', entry: 0, offset: 3, size: 3, data: Buffer.from('def') },
  { type: 'chunk', entry: 0, offset: 0, size: 3, data: Buffer.from('abc') },
  { type: 'entry-end', entry: 0, size: 6 },
];

test('FileSink refuses chunks out of order and leaves no target', async (t) => {
  const target = path.join(tempDir(t), 'out.bin');
  await assert.rejects(pipeline(Readable.from(swapped), new FileSink(target)), /arrived where entry #0 offset 0 was due/);
  assert.ok(!fs.existsSync(target));
});

test('ByteStreamSink refuses chunks out of order and a short entry', async () => {
  const sink = () => new ByteStreamSink(new Writable({ write: (_c, _e, cb) => cb() }));
  await assert.rejects(pipeline(Readable.from(swapped), sink()), /arrived where/);
  const short: PipelineRecord[] = [swapped[0]!, { ...swapped[2]!, type: 'chunk' } as PipelineRecord, { type: 'entry-end', entry: 0, size: 6 }];
  await assert.rejects(pipeline(Readable.from(short), sink()), /ended after 3 bytes of chunks, but its size is 6/);
});

test('restore sinks refuse a chunk without its bytes or with the wrong number of them', async (t) => {
  const entry: PipelineRecord = { type: 'entry', entry: { index: 0, name: 'a', kind: 'file', size: 6 } };
  const end: PipelineRecord = { type: 'entry-end', entry: 0, size: 6 };
  const first: PipelineRecord = { type: 'chunk', entry: 0, offset: 0, size: 3, data: Buffer.from('abc') };
  const empty: PipelineRecord = { type: 'chunk', entry: 0, offset: 3, size: 3, data: null };
  const short: PipelineRecord = { type: 'chunk', entry: 0, offset: 3, size: 3, data: Buffer.from('de') };
  const written: Buffer[] = [];
  const sink = () => new ByteStreamSink(new Writable({ write: (c: Buffer, _e, cb) => (written.push(c), cb()) }));
  await assert.rejects(pipeline(Readable.from([entry, first, empty, end]), sink()), /offset 3 carries no bytes instead of 3/);
  await assert.rejects(pipeline(Readable.from([entry, first, short, end]), sink()), /offset 3 carries 2 bytes instead of 3/);
  const target = path.join(tempDir(t), 'out.bin');
  await assert.rejects(pipeline(Readable.from([entry, first, empty, end]), new FileSink(target)), /carries no bytes/);
  assert.ok(!fs.existsSync(target));
  assert.equal(Buffer.concat(written).toString(), 'abcabc', 'only the whole chunks before the bad one reached the stream');
});

test('a chunk marked as written in place is refused by a sink that takes no positional writes', async () => {
  const records: PipelineRecord[] = [
    { type: 'entry', entry: { index: 0, name: 'a', kind: 'file', size: 3 } },
    { type: 'chunk', entry: 0, offset: 0, size: 3, data: null, written: true },
    { type: 'entry-end', entry: 0, size: 3 },
  ];
  const sink = new ByteStreamSink(new Writable({ write: (_c, _e, cb) => cb() }));
  await assert.rejects(pipeline(Readable.from(records), sink), /marked as written in place, but this sink takes no positional writes/);
});

test('FileSink steps over a range written in place and writes the next chunks after it', async (t) => {
  const target = path.join(tempDir(t), 'out.bin');
  const sink = new FileSink(target);
  async function* records(): AsyncGenerator<PipelineRecord> {
    yield { type: 'entry', entry: { index: 0, name: 'a', kind: 'file', size: 9 } };
    yield { type: 'chunk', entry: 0, offset: 0, size: 3, data: Buffer.from('abc') };
    // Another thread writes the middle range into the sink's file, as restore's workers do.
    const fd = fs.openSync(await sink.entryPath(0), 'r+');
    fs.writeSync(fd, Buffer.from('DEF'), 0, 3, 3);
    fs.closeSync(fd);
    yield { type: 'chunk', entry: 0, offset: 3, size: 3, data: null, written: true };
    yield { type: 'chunk', entry: 0, offset: 6, size: 3, data: Buffer.from('ghi') };
    yield { type: 'entry-end', entry: 0, size: 9 };
  }
  await pipeline(Readable.from(records()), sink);
  assert.equal(fs.readFileSync(target, 'utf8'), 'abcDEFghi');
});
