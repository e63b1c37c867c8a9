// The repository config file (docs/FORMAT.md §1.1): how this repository chunks, names, checks
// and encrypts, so that any later version knows how to read it.
import { randomBytes } from 'node:crypto';
import { isChunkIdAlgorithm, type ChunkIdAlgorithm } from '../crypto/chunk-id.js';
import { AgentvaultError } from '../errors.js';

export const REPOSITORY_FORMAT_VERSION = 1;

export interface ChunkerConfig {
  readonly algorithm: 'fastcdc-2020';
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly normalization: number;
}

export interface RepositoryConfig {
  readonly format: 'agentvault-repository';
  readonly version: number;
  readonly id: string;
  readonly created: string;
  readonly chunker: ChunkerConfig;
  readonly chunkId: ChunkIdAlgorithm;
  readonly checksum: 'xxh64';
  readonly encryption: 'aes-256-gcm' | 'none';
  /** b64 X25519 public key that per-pack data keys are wrapped to; absent when unencrypted. */
  readonly repositoryPublicKey?: string;
  readonly packSize: number;
}

/** Chosen by measurement: see docs/chunking.md. */
export const DEFAULT_CHUNKER: ChunkerConfig = { algorithm: 'fastcdc-2020', min: 2048, avg: 8192, max: 65536, normalization: 2 };
export const DEFAULT_PACK_SIZE = 16 << 20;

export interface NewConfigOptions {
  readonly chunker?: Partial<Omit<ChunkerConfig, 'algorithm'>>;
  readonly chunkId?: ChunkIdAlgorithm;
  readonly encryption: 'aes-256-gcm' | 'none';
  readonly repositoryPublicKey?: Buffer;
  readonly packSize?: number;
}

export function newConfig(options: NewConfigOptions): RepositoryConfig {
  const config: RepositoryConfig = {
    format: 'agentvault-repository',
    version: REPOSITORY_FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: new Date().toISOString(),
    chunker: { ...DEFAULT_CHUNKER, ...options.chunker, algorithm: 'fastcdc-2020' },
    chunkId: options.chunkId ?? 'blake3-keyed',
    checksum: 'xxh64',
    encryption: options.encryption,
    ...(options.repositoryPublicKey ? { repositoryPublicKey: options.repositoryPublicKey.toString('base64') } : {}),
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
  };
  validateConfig(config, 'new repository config');
  return config;
}

export function parseConfig(bytes: Buffer, where: string): RepositoryConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AgentvaultError('CORRUPT', `${where}/config is not valid JSON`);
  }
  const config = parsed as RepositoryConfig;
  if (typeof config !== 'object' || config === null || config.format !== 'agentvault-repository') {
    throw new AgentvaultError('NO_REPOSITORY', `${where} is not an agentvault repository`);
  }
  if (typeof config.version === 'number' && config.version > REPOSITORY_FORMAT_VERSION) {
    throw new AgentvaultError(
      'NEWER_FORMAT',
      `${where} was written by a newer agentvault (repository format ${config.version}; this version reads up to ${REPOSITORY_FORMAT_VERSION})`,
    );
  }
  validateConfig(config, `${where}/config`);
  return config;
}

function validateConfig(c: RepositoryConfig, what: string): void {
  const bad = (why: string): never => {
    throw new AgentvaultError('CORRUPT', `${what} is invalid: ${why}`);
  };
  if (c.version !== 1) bad(`unknown version ${String(c.version)}`);
  if (typeof c.id !== 'string' || !/^[0-9a-f]{32}$/.test(c.id)) bad('bad id');
  const k = c.chunker;
  if (!k || k.algorithm !== 'fastcdc-2020') bad(`unknown chunker ${String(k?.algorithm)}`);
  if (![k.min, k.avg, k.max, k.normalization].every(Number.isInteger) || !(64 <= k.min && k.min < k.avg && k.avg < k.max && k.max <= 16 << 20)) {
    bad('chunk sizes must satisfy 64 <= min < avg < max <= 16 MiB');
  }
  if (!isChunkIdAlgorithm(String(c.chunkId))) bad(`unknown chunk id algorithm ${String(c.chunkId)}`);
  if (c.checksum !== 'xxh64') bad(`unknown checksum ${String(c.checksum)}`);
  if (c.encryption !== 'aes-256-gcm' && c.encryption !== 'none') bad(`unknown encryption ${String(c.encryption)}`);
  if (c.encryption !== 'none' && (typeof c.repositoryPublicKey !== 'string' || Buffer.from(c.repositoryPublicKey, 'base64').length !== 32)) {
    bad('missing repository public key');
  }
  if (!Number.isInteger(c.packSize) || c.packSize < 1 << 20 || c.packSize > 1 << 30) bad('pack size must be 1 MiB..1 GiB');
}
