// The body of an archive manifest transaction (docs/FORMAT.md §10): everything needed to restore
// a backup from Arweave with only the transaction id and the password or key file.
//
//   "AVAR" ‖ u16 version ‖ u16 flags (bit 0 encrypted) ‖ u32 n ‖ n × (u8 type ‖ u32 length ‖ payload)
//
// Records: BACKUP (the backup id, so the sealed records open without trusting tags), CONFIG,
// KEYS, MANIFEST (the manifest file as the repository holds it) and PACKS (every pack the backup
// needs, with the transaction that holds it).
import { Compressor } from 'zstd-napi';
import { seal } from '../crypto/aead.js';
import { AgentvaultError } from '../errors.js';
import { ByteReader, ByteWriter, readHeader, writeHeader } from '../repository/binary.js';
import type { IndexedPack } from '../repository/index-format.js';
import { BACKUP_ID_PATTERN } from '../repository/ids.js';
import { parseKeyFile, type KeyFile } from '../repository/keys.js';
import { readPackContents, writePackContents } from '../repository/pack-format.js';
import { openSealedZstd } from '../repository/sealed.js';

export const ARCHIVE_VERSION = 1;
const MAGIC = 'AVAR';

export const RECORD = { config: 1, keys: 2, manifest: 8, packs: 9, backup: 10 } as const;

export interface ArchiveBody {
  readonly backupId: string;
  readonly encrypted: boolean;
  /** The repository config file (§1.1), as bytes. */
  readonly config: Buffer;
  readonly keyFiles: readonly KeyFile[];
  /** The manifest file (§6), sealed with metaKey when encrypted. */
  readonly manifest: Buffer;
  /** The PACKS payload; open it with openPackList once metaKey is known. */
  readonly packs: Buffer;
}

/** A pack and the Arweave transaction whose data is that pack file. */
export interface ArchivedPack {
  readonly txId: string;
  readonly pack: IndexedPack;
}

function packsAad(backupId: string): Buffer {
  return Buffer.concat([Buffer.from('AVAR1'), Buffer.from(backupId, 'utf8')]);
}

export function sealPackList(packs: readonly ArchivedPack[], backupId: string, metaKey: Buffer | undefined): Buffer {
  const w = new ByteWriter(1 << 16);
  w.u32(packs.length);
  for (const { txId, pack } of packs) {
    const id = Buffer.from(txId, 'base64url');
    if (id.length !== 32) throw new Error(`bad transaction id ${txId}`);
    w.bytes(id).bytes(Buffer.from(pack.packId, 'hex')).u64(pack.size);
    writePackContents(w, pack);
  }
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: 3 });
  const compressed = compressor.compress(w.finish());
  return metaKey ? seal(metaKey, compressed, packsAad(backupId)) : compressed;
}

export function openPackList(payload: Buffer, backupId: string, metaKey: Buffer | undefined): ArchivedPack[] {
  const what = `the pack list of archived backup ${backupId}`;
  const plain = openSealedZstd(payload, metaKey, packsAad(backupId), what, "fails authentication (corrupt, or another repository's archive)");
  const r = new ByteReader(plain, what);
  const packs: ArchivedPack[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const txId = r.bytes(32).toString('base64url');
    const packId = r.bytes(16).toString('hex');
    const size = r.u64n();
    packs.push({ txId, pack: { packId, size, ...readPackContents(r) } });
  }
  r.expectEnd();
  return packs;
}

export function encodeArchiveBody(body: ArchiveBody): Buffer {
  const records: Array<[number, Buffer]> = [
    [RECORD.backup, Buffer.from(body.backupId, 'utf8')],
    [RECORD.config, body.config],
    [RECORD.keys, Buffer.from(JSON.stringify(body.keyFiles), 'utf8')],
    [RECORD.manifest, body.manifest],
    [RECORD.packs, body.packs],
  ];
  const w = new ByteWriter(64 + records.reduce((n, [, p]) => n + 5 + p.length, 0));
  writeHeader(w, MAGIC, ARCHIVE_VERSION, body.encrypted ? 1 : 0);
  w.u32(records.length);
  for (const [type, payload] of records) w.u8(type).u32(payload.length).bytes(payload);
  return Buffer.from(w.finish());
}

export function decodeArchiveBody(bytes: Buffer, what: string): ArchiveBody {
  const r = new ByteReader(bytes, what);
  const { flags } = readHeader(r, MAGIC, ARCHIVE_VERSION, 'archive manifest');
  const found = new Map<number, Buffer>();
  for (let n = r.u32(); n > 0; n--) {
    const type = r.u8();
    const payload = r.bytes(r.u32());
    if (!Object.values(RECORD).includes(type as (typeof RECORD)[keyof typeof RECORD])) throw new AgentvaultError('CORRUPT', `${what} has a record of unknown type ${type}`);
    if (found.has(type)) throw new AgentvaultError('CORRUPT', `${what} has record type ${type} twice`);
    found.set(type, payload);
  }
  r.expectEnd();
  const need = (type: number, name: string): Buffer => {
    const payload = found.get(type);
    if (!payload) throw new AgentvaultError('CORRUPT', `${what} has no ${name} record`);
    return payload;
  };
  const backupId = need(RECORD.backup, 'BACKUP').toString('utf8');
  if (!BACKUP_ID_PATTERN.test(backupId)) throw new AgentvaultError('CORRUPT', `${what} names an invalid backup id`);
  let keyJson: unknown;
  try {
    keyJson = JSON.parse(need(RECORD.keys, 'KEYS').toString('utf8'));
  } catch {
    throw new AgentvaultError('CORRUPT', `${what} has an unreadable KEYS record`);
  }
  if (!Array.isArray(keyJson) || keyJson.length === 0) throw new AgentvaultError('CORRUPT', `${what} has no key files`);
  const keyFiles = keyJson.map((k, i) => parseKeyFile(Buffer.from(JSON.stringify(k)), `${i} of ${what}`));
  return {
    backupId,
    encrypted: (flags & 1) === 1,
    config: need(RECORD.config, 'CONFIG'),
    keyFiles,
    manifest: need(RECORD.manifest, 'MANIFEST'),
    packs: need(RECORD.packs, 'PACKS'),
  };
}
