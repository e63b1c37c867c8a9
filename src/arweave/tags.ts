// Transaction tags (docs/FORMAT.md §10): what lets GraphQL find agentvault's transactions again.
// Layer-1 nodes reject transactions whose tag names and values exceed 2048 bytes together, but
// neither arweave-js nor arlocal checks it, so it is checked here before anything is signed.
import { AgentvaultError } from '../errors.js';
import type { TransactionHeader } from './client.js';

export interface Tag {
  readonly name: string;
  readonly value: string;
}

export const APP_NAME = 'agentvault';
export const ARCHIVE_FORMAT_VERSION = 1;
export const MAX_TAG_BYTES = 2048;

export const TAG = {
  app: 'App-Name',
  format: 'Agentvault-Format',
  type: 'Agentvault-Type',
  repository: 'Agentvault-Repository',
  backup: 'Agentvault-Backup',
  pack: 'Agentvault-Pack',
  canister: 'Agentvault-Canister',
  contentType: 'Content-Type',
} as const;

export interface TagContext {
  readonly repositoryId: string;
  readonly backupId: string;
  /** Canister backups only: canister ids are public; file and project names stay sealed. */
  readonly canisterId?: string;
}

function common(type: 'pack' | 'manifest', context: TagContext): Tag[] {
  return [
    { name: TAG.app, value: APP_NAME },
    { name: TAG.format, value: String(ARCHIVE_FORMAT_VERSION) },
    { name: TAG.type, value: type },
    { name: TAG.repository, value: context.repositoryId },
    { name: TAG.backup, value: context.backupId },
    ...(context.canisterId !== undefined ? [{ name: TAG.canister, value: context.canisterId }] : []),
  ];
}

export function packTags(context: TagContext, packId: string): Tag[] {
  return checkTags([...common('pack', context), { name: TAG.pack, value: packId }, { name: TAG.contentType, value: 'application/octet-stream' }]);
}

export function manifestTags(context: TagContext): Tag[] {
  return checkTags([...common('manifest', context), { name: TAG.contentType, value: 'application/octet-stream' }]);
}

/** Throws when the tags would be refused by layer-1 nodes. */
export function checkTags(tags: Tag[]): Tag[] {
  let bytes = 0;
  for (const tag of tags) {
    if (tag.name.length === 0 || tag.value.length === 0) throw new AgentvaultError('INPUT', `tag ${JSON.stringify(tag.name)} is empty`);
    bytes += Buffer.byteLength(tag.name) + Buffer.byteLength(tag.value);
  }
  if (bytes > MAX_TAG_BYTES) throw new AgentvaultError('INPUT', `transaction tags take ${bytes} bytes; Arweave allows ${MAX_TAG_BYTES}`);
  return tags;
}

/** A header's tags, decoded from base64url. */
export function decodeTags(header: Pick<TransactionHeader, 'tags'>): Tag[] {
  return header.tags.map((t) => ({ name: Buffer.from(t.name, 'base64url').toString('utf8'), value: Buffer.from(t.value, 'base64url').toString('utf8') }));
}

export function tagValue(tags: readonly Tag[], name: string): string | undefined {
  return tags.find((t) => t.name === name)?.value;
}
