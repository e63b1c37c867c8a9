// Reads an archived backup back from Arweave, trusting no gateway:
//
//   manifest tx   header signature checked (its id is the hash of the signature, which covers
//                 data_root), the body checked against data_root, tags checked, body decoded
//   packs         each pack's bytes checked against its record in the (sealed, so authenticated)
//                 pack list: size, trailer, entries, every chunk's xxh64 — then restore checks
//                 every chunk again (AEAD, decompression, keyed id)
//
// A gateway that fails or serves bytes that do not check out is skipped for the next one.
import { Readable } from 'node:stream';
import { decodeArchiveBody, openPackList, type ArchiveBody, type ArchivedPack } from '../arweave/archive-format.js';
import type { GatewayClient, TransactionHeader } from '../arweave/client.js';
import { isTransactionId } from '../arweave/client.js';
import { withFallback } from '../arweave/gateways.js';
import { verifyPackBytes } from '../arweave/pack-check.js';
import { APP_NAME, decodeTags, TAG, tagValue, type Tag } from '../arweave/tags.js';
import { dataRoot, ownerAddress, verifyHeader } from '../arweave/transaction.js';
import { AgentvaultError, UsageError } from '../errors.js';
import { parseConfig, type RepositoryConfig } from '../repository/config.js';
import { decodeManifest, type Manifest } from '../repository/manifest.js';
import type { PackRecord } from '../types.js';

export interface OpenedArchive {
  readonly manifest: Manifest;
  readonly packs: readonly ArchivedPack[];
}

export class ArweaveArchive {
  private constructor(
    readonly tx: string,
    readonly header: TransactionHeader,
    readonly tags: readonly Tag[],
    readonly body: ArchiveBody,
    readonly config: RepositoryConfig,
    /** The gateway the manifest came from. */
    readonly gateway: string,
    readonly clients: readonly GatewayClient[],
  ) {}

  /** The wallet that signed the archive. */
  get owner(): string {
    return ownerAddress(this.header.owner);
  }

  get backupId(): string {
    return this.body.backupId;
  }

  /** Fetches and checks the manifest transaction, trying `clients` in order. */
  static async fetch(clients: readonly GatewayClient[], tx: string, signal?: AbortSignal): Promise<ArweaveArchive> {
    if (!isTransactionId(tx)) throw new UsageError(`${JSON.stringify(tx)} is not an Arweave transaction id (43 characters of base64url)`);
    const { header, body, client } = await withFallback(
      clients,
      `reading archive manifest ${tx}`,
      async (client) => {
        const header = await client.transaction(tx, signal);
        if (!header) throw new AgentvaultError('NOT_FOUND', `${client.url} does not know transaction ${tx} (wrong id, or not mined yet)`);
        if (header.id !== tx || !(await verifyHeader(header))) throw new AgentvaultError('CORRUPT', `${client.url} served a header for transaction ${tx} whose signature does not verify`);
        const body = await client.data(tx, signal);
        if (String(body.length) !== header.data_size || (await dataRoot(body)) !== header.data_root) {
          throw new AgentvaultError('CORRUPT', `${client.url} served data for transaction ${tx} that does not match its signed data_root`);
        }
        return { header, body, client };
      },
      signal,
    );
    const tags = decodeTags(header);
    if (tagValue(tags, TAG.app) !== APP_NAME || tagValue(tags, TAG.type) !== 'manifest') {
      throw new AgentvaultError('INPUT', `transaction ${tx} is not an agentvault archive manifest (its tags say ${tagValue(tags, TAG.app) ?? 'nothing'} / ${tagValue(tags, TAG.type) ?? 'nothing'})`);
    }
    const archive = decodeArchiveBody(body, `archive manifest ${tx}`);
    const taggedBackup = tagValue(tags, TAG.backup);
    if (taggedBackup !== undefined && taggedBackup !== archive.backupId) throw new AgentvaultError('CORRUPT', `archive manifest ${tx} is tagged with backup ${taggedBackup} but holds ${archive.backupId}`);
    const config = parseConfig(archive.config, `archive manifest ${tx}`);
    if ((config.encryption !== 'none') !== archive.encrypted) throw new AgentvaultError('CORRUPT', `archive manifest ${tx}: its encryption flag contradicts its config`);
    // The gateway that answered goes first for the packs.
    const ordered = [client, ...clients.filter((c) => c !== client)];
    return new ArweaveArchive(tx, header, tags, archive, config, client.url, ordered);
  }

  /** Opens the sealed records with the repository's metaKey (undefined when unencrypted). */
  open(metaKey: Buffer | undefined): OpenedArchive {
    const manifest = decodeManifest(this.body.backupId, this.body.manifest, metaKey);
    const packs = openPackList(this.body.packs, this.body.backupId, metaKey);
    return { manifest, packs };
  }

  /**
   * The packs as verified PackRecords, in the given order, `readAhead` downloads in flight.
   * Each is held in memory until consumed.
   */
  packRecords(packs: readonly ArchivedPack[], metaKey: Buffer | undefined, options: { readAhead?: number; signal?: AbortSignal } = {}): Readable {
    const readAhead = Math.max(1, options.readAhead ?? 3);
    const fetchOne = (archived: ArchivedPack): Promise<PackRecord> =>
      withFallback(
        this.clients,
        `downloading pack ${archived.pack.packId} (transaction ${archived.txId})`,
        async (client) => {
          const bytes = await client.data(archived.txId, options.signal);
          verifyPackBytes(bytes, archived.pack, metaKey, `from ${client.url} (transaction ${archived.txId})`);
          return { type: 'pack', packId: archived.pack.packId, parts: [bytes], size: bytes.length, keys: archived.pack.keys, entries: archived.pack.entries };
        },
        options.signal,
      );
    async function* generate(): AsyncGenerator<PackRecord> {
      const queue: Array<Promise<PackRecord>> = [];
      let next = 0;
      const fill = () => {
        while (queue.length < readAhead && next < packs.length) {
          const p = fetchOne(packs[next++]!);
          p.catch(() => undefined); // surfaced in order below
          queue.push(p);
        }
      };
      fill();
      while (queue.length > 0) {
        const record = await queue.shift()!;
        fill();
        yield record;
      }
    }
    return Readable.from(generate(), { objectMode: true, highWaterMark: 1 });
  }
}
