// Little-endian byte writer and bounds-checked reader for the formats in docs/FORMAT.md.
import { AgentvaultError } from '../errors.js';
import { largeBuffer } from '../large-buffer.js';

export class ByteWriter {
  #buf: Buffer;
  #at = 0;

  constructor(initial = 1024) {
    this.#buf = largeBuffer(initial);
  }

  #reserve(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    // Grown buffers are freed as the next replaces them: large ones from outside malloc (large-buffer.ts).
    const next = largeBuffer(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#reserve(1);
    this.#buf.writeUInt8(v, this.#at);
    this.#at += 1;
    return this;
  }
  u16(v: number): this {
    this.#reserve(2);
    this.#buf.writeUInt16LE(v, this.#at);
    this.#at += 2;
    return this;
  }
  u32(v: number): this {
    this.#reserve(4);
    this.#buf.writeUInt32LE(v, this.#at);
    this.#at += 4;
    return this;
  }
  u64(v: bigint | number): this {
    this.#reserve(8);
    this.#buf.writeBigUInt64LE(BigInt(v), this.#at);
    this.#at += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#reserve(b.byteLength);
    this.#buf.set(b, this.#at);
    this.#at += b.byteLength;
    return this;
  }
  ascii(s: string): this {
    return this.bytes(Buffer.from(s, 'latin1'));
  }

  get length(): number {
    return this.#at;
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

export class ByteReader {
  #at = 0;
  constructor(
    readonly buf: Buffer,
    /** Names the file in errors: "pack 3fa2…". */
    readonly what: string,
  ) {}

  #need(n: number): void {
    if (this.#at + n > this.buf.length) {
      throw new AgentvaultError('CORRUPT', `${this.what} is corrupt: it ends at byte ${this.buf.length} inside a record`);
    }
  }
  u8(): number {
    this.#need(1);
    return this.buf.readUInt8(this.#at++);
  }
  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16LE(this.#at);
    this.#at += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.buf.readBigUInt64LE(this.#at);
    this.#at += 8;
    return v;
  }
  /** A u64 that must fit a JS number (sizes, offsets). */
  u64n(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new AgentvaultError('CORRUPT', `${this.what} is corrupt: size out of range`);
    return Number(v);
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  get remaining(): number {
    return this.buf.length - this.#at;
  }
  get offset(): number {
    return this.#at;
  }
  expectEnd(): void {
    if (this.remaining !== 0) throw new AgentvaultError('CORRUPT', `${this.what} is corrupt: ${this.remaining} unexpected trailing bytes`);
  }
}

/** Magic + u16 version + u16 flags, shared by index and manifest files. */
export interface FileHeader {
  readonly version: number;
  readonly flags: number;
}

export function writeHeader(w: ByteWriter, magic: string, version: number, flags: number): void {
  w.ascii(magic).u16(version).u16(flags);
}

export function readHeader(r: ByteReader, magic: string, maxVersion: number, kind: string): FileHeader {
  const got = r.bytes(4).toString('latin1');
  if (got !== magic) throw new AgentvaultError('CORRUPT', `${r.what} is not an agentvault ${kind} (bad magic)`);
  const version = r.u16();
  const flags = r.u16();
  if (version > maxVersion) {
    throw new AgentvaultError(
      'NEWER_FORMAT',
      `${r.what} was written by a newer agentvault (${kind} format ${version}; this version reads up to ${maxVersion}); upgrade agentvault to read it`,
    );
  }
  if (version < 1) throw new AgentvaultError('CORRUPT', `${r.what} has invalid ${kind} format version ${version}`);
  return { version, flags };
}
