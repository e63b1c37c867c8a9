// Compression codecs, registered by the name stored in manifests and the byte stored per chunk.
// A Codec instance keeps its native context between calls: a fresh zstd context per chunk costs
// about 20% (notes/performance.md), so stages create one codec per thread and reuse it.
//
// The `…Into` forms write into the caller's buffer: the workers compress into one scratch buffer and
// decompress straight into a batch's output, so there is no native allocation per chunk (millions
// of them fragmented the heap by ~100 MiB at 4 GiB) and no copy.
import zlib from 'node:zlib';
import { Compressor, Decompressor } from 'zstd-napi';
import type { CodecName } from '../types.js';
import { zstd } from './zstd-binding.js';

export interface Codec {
  readonly name: CodecName;
  readonly level: number;
  compress(plain: Uint8Array): Buffer;
  /** `plainLength` is known from the index; codecs use it to size the output exactly. */
  decompress(stored: Uint8Array, plainLength: number): Buffer;
  /** Largest compressed size of `plainLength` bytes: the room compressInto needs. */
  compressBound(plainLength: number): number;
  /** Compresses into `dest` (at least compressBound bytes long); returns the length written. */
  compressInto(plain: Uint8Array, dest: Uint8Array): number;
  /** Decompresses into `dest`, exactly the plain length long; returns the length written (≠ dest.length: corrupt). */
  decompressInto(stored: Uint8Array, dest: Uint8Array): number;
}

/** compressBound/compressInto/decompressInto for codecs without native into-buffer calls. */
function copying(codec: Pick<Codec, 'name' | 'level' | 'compress' | 'decompress'>): Codec {
  return {
    ...codec,
    compressBound: (n) => 2 * n + 1024,
    compressInto: (plain, dest) => {
      const out = codec.compress(plain);
      dest.set(out);
      return out.length;
    },
    decompressInto: (stored, dest) => {
      const out = codec.decompress(stored, dest.length);
      if (out.length !== dest.length) return out.length;
      dest.set(out);
      return out.length;
    },
  };
}

interface CodecSpec {
  readonly byte: number;
  readonly defaultLevel: number;
  readonly minLevel: number;
  readonly maxLevel: number;
  create(level: number): Codec;
}

const CODECS: Readonly<Record<CodecName, CodecSpec>> = {
  none: {
    byte: 0,
    defaultLevel: 0,
    minLevel: 0,
    maxLevel: 0,
    create: () =>
      copying({
        name: 'none',
        level: 0,
        compress: (plain) => toBuffer(plain),
        decompress: (stored) => toBuffer(stored),
      }),
  },
  zstd: {
    byte: 1,
    defaultLevel: 3,
    minLevel: 1,
    maxLevel: 19,
    create: (level) => {
      const compressor = new Compressor();
      compressor.setParameters({ compressionLevel: level });
      const decompressor = new Decompressor();
      const cctx = new zstd.CCtx();
      cctx.setParameter(zstd.CParameter.compressionLevel, level);
      const dctx = new zstd.DCtx();
      return {
        name: 'zstd',
        level,
        compress: (plain) => compressor.compress(plain),
        decompress: (stored) => decompressor.decompress(stored),
        compressBound: (n) => zstd.compressBound(n),
        compressInto: (plain, dest) => cctx.compress2(dest, plain),
        // A frame that would write more than dest holds fails in zstd (dstSize_tooSmall): corrupt.
        decompressInto: (stored, dest) => dctx.decompress(dest, stored),
      };
    },
  },
  // node:zlib's brotli, not iltorb: measured here at 169 vs 95 MB/s (q1, 8 KiB chunks) and
  // 2x faster to decompress (docs/compression.md).
  brotli: {
    byte: 2,
    defaultLevel: 4,
    minLevel: 0,
    maxLevel: 11,
    create: (level) => copying({
      name: 'brotli',
      level,
      compress: (plain) =>
        zlib.brotliCompressSync(plain, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: level,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: plain.byteLength,
          },
        }),
      decompress: (stored, plainLength) =>
        zlib.brotliDecompressSync(stored, { maxOutputLength: Math.max(plainLength, 1) }),
    }),
  },
  gzip: {
    byte: 3,
    defaultLevel: 6,
    minLevel: 1,
    maxLevel: 9,
    create: (level) => copying({
      name: 'gzip',
      level,
      compress: (plain) => zlib.gzipSync(plain, { level }),
      decompress: (stored, plainLength) =>
        zlib.gunzipSync(stored, { maxOutputLength: Math.max(plainLength, 1) }),
    }),
  },
};

export const CODEC_NAMES = Object.keys(CODECS) as CodecName[];

export function isCodecName(name: string): name is CodecName {
  return Object.hasOwn(CODECS, name);
}

export function codecByte(name: CodecName): number {
  return CODECS[name].byte;
}

export function codecFromByte(byte: number): CodecName {
  for (const name of CODEC_NAMES) if (CODECS[name].byte === byte) return name;
  throw new Error(`unknown compression codec ${byte} (written by a newer agentvault?)`);
}

export function defaultLevel(name: CodecName): number {
  return CODECS[name].defaultLevel;
}

/** Validates the level range and creates a codec with its own native context. */
export function createCodec(name: CodecName, level?: number): Codec {
  const spec = CODECS[name];
  const chosen = level ?? spec.defaultLevel;
  if (!Number.isInteger(chosen) || chosen < spec.minLevel || chosen > spec.maxLevel) {
    throw new RangeError(
      `compression level ${level} is out of range for ${name} (${spec.minLevel}..${spec.maxLevel})`,
    );
  }
  return spec.create(chosen);
}

/**
 * A set of codecs keyed by name, created on first use: restore meets whatever codec each chunk
 * was stored with.
 */
export class CodecSet {
  readonly #codecs = new Map<CodecName, Codec>();

  get(name: CodecName): Codec {
    let codec = this.#codecs.get(name);
    if (!codec) {
      codec = createCodec(name);
      this.#codecs.set(name, codec);
    }
    return codec;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
