// Reads a backup stream back into verified plaintext records: opens the preamble (config, keys,
// backup info), unlocks the keys, then turns chunks into plaintext — checking each chunk's
// authentication tag and id — and, at the end, the manifest against everything that was seen.
import { Readable, pipeline as pipelineCb } from 'node:stream';
import { CodecSet } from '../codecs/index.js';
import { AuthenticationError, open } from '../crypto/aead.js';
import { createChunkIdHasher, type ChunkIdHasher } from '../crypto/chunk-id.js';
import { unwrapWithIdentity } from '../crypto/age-keys.js';
import { AgentvaultError } from '../errors.js';
import type { RepositoryConfig } from '../repository/config.js';
import { unlockKeys, type Credentials, type KeyFile, type RepositoryKeys } from '../repository/keys.js';
import { ChunkTableBuilder, decodeManifest, type Manifest } from '../repository/manifest.js';
import { chunkAad } from '../stages/encrypt.js';
import type { EntryInfo, PipelineRecord } from '../types.js';
import { BackupStreamDecoder, type RawStreamRecord } from './decoder.js';
import { decodeBackupInfo, decodeEntry, type StreamBackupInfo } from './format.js';

/** Plaintext of `length` bytes at `offset` of the parent backup's entry `parentEntry`. */
export type CopyResolver = (parentEntry: number, offset: number, length: number) => Promise<Buffer>;

export class BackupStreamReader {
  #manifest: Manifest | undefined;

  private constructor(
    readonly config: RepositoryConfig,
    readonly keyFiles: readonly KeyFile[],
    readonly keys: RepositoryKeys,
    readonly info: StreamBackupInfo,
    readonly incremental: boolean,
    readonly iterator: AsyncIterator<RawStreamRecord>,
  ) {}

  get metaKey(): Buffer | undefined {
    return this.config.encryption === 'none' ? undefined : this.keys.write.metaKey;
  }

  /** The stream's manifest, once records() has been read to the end. */
  get manifest(): Manifest | undefined {
    return this.#manifest;
  }

  static async open(input: NodeJS.ReadableStream, credentials: Credentials): Promise<BackupStreamReader> {
    const decoder = new BackupStreamDecoder();
    pipelineCb(input, decoder, () => undefined); // errors surface through the decoder
    const iterator = decoder[Symbol.asyncIterator]() as AsyncIterator<RawStreamRecord>;
    const next = async (): Promise<RawStreamRecord> => {
      const r = await iterator.next();
      if (r.done) throw new AgentvaultError('CORRUPT', 'the backup stream ended before its data');
      return r.value;
    };
    const config = await next();
    const keys = await next();
    const backup = await next();
    if (config.type !== 'config' || keys.type !== 'keys' || backup.type !== 'backup') throw new AgentvaultError('CORRUPT', 'the backup stream does not start with its config, keys and backup records');
    const unlocked = await unlockKeys(keys.keyFiles, credentials, config.config.id);
    const metaKey = config.config.encryption === 'none' ? undefined : unlocked.write.metaKey;
    let info: StreamBackupInfo;
    try {
      info = decodeBackupInfo(backup.payload, metaKey);
    } catch (err) {
      throw new AgentvaultError('CORRUPT', `backup stream is corrupt at byte ${backup.at}: ${(err as Error).message}`);
    }
    return new BackupStreamReader(config.config, keys.keyFiles, unlocked, info, decoder.incremental, iterator);
  }

  /** Verified plaintext entry / chunk / entry-end records. */
  records(options: { resolveCopy?: CopyResolver } = {}): Readable {
    if (this.incremental && !options.resolveCopy) {
      throw new AgentvaultError('USAGE', `this is an incremental stream (backup ${this.info.id} since ${this.info.parent}): import it into a repository that has the parent backup`);
    }
    return Readable.from(this.#generate(options.resolveCopy), { objectMode: true, highWaterMark: 16 });
  }

  async *#generate(resolveCopy: CopyResolver | undefined): AsyncGenerator<PipelineRecord> {
    const metaKey = this.metaKey;
    const hasher: ChunkIdHasher = createChunkIdHasher(this.config.chunkId, this.keys.write.idKey);
    const codecs = new CodecSet();
    const dataKeys: Buffer[] = [];
    const seen: Array<{ info: EntryInfo; size: number; table: Buffer }> = [];
    let current: { info: EntryInfo; table: ChunkTableBuilder; offset: number } | undefined;
    const fail = (at: number, why: string) => new AgentvaultError('CORRUPT', `backup stream is corrupt at byte ${at}: ${why}`);
    const where = (offset: number) => `the chunk at offset ${offset} of entry ${JSON.stringify(current?.info.name)}`;

    for (;;) {
      const r = await this.iterator.next();
      if (r.done) break;
      const rec = r.value;
      switch (rec.type) {
        case 'datakey': {
          const identity = this.keys.identity;
          if (!identity) throw new AgentvaultError('READ_ONLY_KEY', 'reading backup data needs the age identity file or the password; the public key only allows writing');
          const key = unwrapWithIdentity({ ephemeralShare: rec.wrapped.subarray(0, 32), body: rec.wrapped.subarray(32) }, identity);
          if (!key) throw fail(rec.at, 'a data key does not open with the stream key');
          dataKeys[rec.index] = key;
          break;
        }
        case 'entry': {
          if (current) throw fail(rec.at, 'an entry starts inside another');
          let info: EntryInfo;
          try {
            info = decodeEntry(rec.payload, metaKey);
          } catch (err) {
            throw fail(rec.at, (err as Error).message);
          }
          current = { info, table: new ChunkTableBuilder(), offset: 0 };
          yield { type: 'entry', entry: info };
          break;
        }
        case 'chunk': {
          if (!current) throw fail(rec.at, 'a chunk outside an entry');
          let plain: Buffer;
          try {
            const compressed = rec.sealed ? open(dataKeys[rec.dataKey]!, rec.stored, chunkAad(rec.id, rec.codec)) : rec.stored;
            plain = codecs.get(rec.codec).decompress(compressed, rec.plainLength);
          } catch (err) {
            throw fail(rec.at, `${where(current.offset)} ${err instanceof AuthenticationError ? 'fails authentication' : 'does not decode'}`);
          }
          if (plain.length !== rec.plainLength || !hasher.id(plain).equals(rec.id)) throw fail(rec.at, `${where(current.offset)} does not match its id`);
          yield* this.#emitChunk(current, rec.id, plain);
          break;
        }
        case 'copy': {
          if (!current) throw fail(rec.at, 'a copy outside an entry');
          const plain = await resolveCopy!(rec.parentEntry, rec.offset, rec.length);
          if (plain.length !== rec.length) throw fail(rec.at, `${where(current.offset)}: the parent backup has only ${plain.length} of ${rec.length} bytes there`);
          yield* this.#emitChunk(current, hasher.id(plain), plain);
          break;
        }
        case 'entry-end': {
          if (!current) throw fail(rec.at, 'an entry end outside an entry');
          if (rec.size !== current.offset) throw fail(rec.at, `entry ${JSON.stringify(current.info.name)} ends at ${current.offset} bytes but says ${rec.size}`);
          seen.push({ info: current.info, size: rec.size, table: current.table.finish() });
          yield { type: 'entry-end', entry: current.info.index, size: rec.size };
          current = undefined;
          break;
        }
        case 'manifest': {
          let manifest: Manifest;
          try {
            manifest = decodeManifest(this.info.id, rec.bytes, metaKey);
          } catch (err) {
            throw fail(rec.at, (err as Error).message);
          }
          checkManifest(manifest, seen, (why) => fail(rec.at, why));
          this.#manifest = manifest;
          break;
        }
        default:
          throw fail(rec.at, `unexpected ${rec.type} record`);
      }
    }
    if (!this.#manifest) throw new AgentvaultError('CORRUPT', 'the backup stream has no manifest');
  }

  *#emitChunk(current: { info: EntryInfo; table: ChunkTableBuilder; offset: number }, id: Buffer, plain: Buffer): Generator<PipelineRecord> {
    current.table.add(id, plain.length);
    yield { type: 'chunk', entry: current.info.index, offset: current.offset, size: plain.length, id, data: plain };
    current.offset += plain.length;
  }
}

function checkManifest(m: Manifest, seen: ReadonlyArray<{ info: EntryInfo; size: number; table: Buffer }>, fail: (why: string) => Error): void {
  if (m.entries.length !== seen.length) throw fail(`the manifest lists ${m.entries.length} entries, the stream carried ${seen.length}`);
  m.entries.forEach((e, i) => {
    const s = seen[i]!;
    if (e.name !== s.info.name || e.kind !== s.info.kind || e.size !== s.size || !e.chunks.equals(s.table)) {
      throw fail(`entry ${JSON.stringify(e.name)} in the manifest does not match the data the stream carried`);
    }
  });
}
