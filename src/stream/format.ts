// The backup stream format (docs/FORMAT.md §9): framing constants and the small codecs for its
// records. The encoder and decoder build on these.
import { AgentvaultError } from '../errors.js';
import { open, seal, AuthenticationError } from '../crypto/aead.js';
import type { Manifest } from '../repository/manifest.js';
import type { EntryInfo } from '../types.js';

export const STREAM_MAGIC = 'AVST';
export const STREAM_VERSION = 1;
export const STREAM_HEADER_LENGTH = 8;
export const RECORD_HEADER_LENGTH = 5;
export const FLAG_ENCRYPTED = 1;
export const FLAG_INCREMENTAL = 2;

export const RecordType = {
  CONFIG: 1,
  KEYS: 2,
  DATAKEY: 3,
  ENTRY: 4,
  CHUNK: 5,
  COPY: 6,
  ENTRY_END: 7,
  MANIFEST: 8,
  BACKUP: 10,
  TRAILER: 0xff,
} as const;

/** CHUNK payload before the stored bytes: id ‖ plainLength ‖ codec ‖ flags ‖ dataKey ‖ checksum. */
export const CHUNK_HEADER_LENGTH = 32 + 4 + 1 + 1 + 2 + 8;
export const COPY_LENGTH = 4 + 8 + 8;
export const TRAILER_LENGTH = 16;

/** What the manifest will say, sent before the data (the BACKUP record). */
export type StreamBackupInfo = Pick<Manifest, 'id' | 'created' | 'type' | 'parent' | 'source' | 'metadata' | 'compression'>;

/** In an incremental stream: plaintext taken from the parent backup. */
export interface CopyRecord {
  readonly type: 'copy';
  readonly entry: number;
  readonly parentEntry: number;
  readonly offset: number;
  readonly length: number;
}

const AAD_ENTRY = Buffer.from('AVSE1');
const AAD_BACKUP = Buffer.from('AVSB1');

function sealJson(value: unknown, metaKey: Buffer | undefined, aad: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  return metaKey ? seal(metaKey, json, aad) : json;
}

function openJson(payload: Buffer, metaKey: Buffer | undefined, aad: Buffer, what: string): unknown {
  let json = payload;
  if (metaKey) {
    try {
      json = open(metaKey, payload, aad);
    } catch (err) {
      if (err instanceof AuthenticationError) throw new AgentvaultError('CORRUPT', `${what} fails authentication`);
      throw err;
    }
  }
  try {
    return JSON.parse(json.toString('utf8'));
  } catch {
    throw new AgentvaultError('CORRUPT', `${what} is not valid JSON`);
  }
}

export const encodeEntry = (entry: EntryInfo, metaKey: Buffer | undefined): Buffer => sealJson(entry, metaKey, AAD_ENTRY);
export const decodeEntry = (payload: Buffer, metaKey: Buffer | undefined): EntryInfo => openJson(payload, metaKey, AAD_ENTRY, 'an entry record') as EntryInfo;
export const encodeBackupInfo = (info: StreamBackupInfo, metaKey: Buffer | undefined): Buffer => sealJson(info, metaKey, AAD_BACKUP);
export const decodeBackupInfo = (payload: Buffer, metaKey: Buffer | undefined): StreamBackupInfo =>
  openJson(payload, metaKey, AAD_BACKUP, 'the backup record') as StreamBackupInfo;

export function recordHeader(type: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(RECORD_HEADER_LENGTH);
  b[0] = type;
  b.writeUInt32LE(length, 1);
  return b;
}
