// The pieces for reading Candid messages of one known shape without @dfinity/candid's decoder,
// whose signed-LEB128 reader copies the whole rest of the message for every type code in the
// type table: snapshot replies (blob-reply.ts) and, in the emulator, snapshot uploads
// (testing/replica/upload-args.ts). Only the type constructors those shapes use are read; a
// message that needs anything else is "not this shape", and its caller hands it to
// @dfinity/candid, which decodes it or says why not.

export const MAGIC = [0x44, 0x49, 0x44, 0x4c]; // "DIDL"
export const NULL = -1;
export const NAT8 = -5;
export const NAT64 = -8;
export const VEC = -19;
export const RECORD = -20;
export const VARIANT = -21;
export const PRINCIPAL = -24;

/** Thrown by the reader when the message is not the shape it reads; callers fall back. */
export class NotThisShape extends Error {}

/** Candid's field id: the label's bytes folded as h = h * 223 + byte, mod 2^32. */
export function candidFieldId(label: string): number {
  let h = 0;
  for (const byte of new TextEncoder().encode(label)) h = (Math.imul(h, 223) + byte) >>> 0;
  return h;
}

export class CandidReader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new NotThisShape();
    return this.bytes[this.at++]!;
  }

  /** Unsigned LEB128, up to 2^53 (larger is not a length anything here can have). */
  uleb(): number {
    let value = 0;
    for (let scale = 1; scale <= 2 ** 49; scale *= 128) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
    throw new NotThisShape();
  }

  /** Signed LEB128 (type codes and type-table indices), small values only. */
  sleb(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.byte();
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return byte & 0x40 ? value - 2 ** (shift + 7) : value;
    }
    throw new NotThisShape();
  }

  /** The next `length` bytes, as a view. */
  take(length: number): Uint8Array {
    if (this.at + length > this.bytes.length) throw new NotThisShape();
    this.at += length;
    return this.bytes.subarray(this.at - length, this.at);
  }
}

export type TypeEntry = { op: typeof VEC; of: number } | { op: typeof RECORD | typeof VARIANT; fields: Array<{ id: number; type: number }> };

/**
 * Checks the magic and reads the type table, with at most `limit` entries (and fields per
 * entry) built only from `constructors`; the reader is left at the argument count.
 */
export function readHeader(bytes: Uint8Array, constructors: ReadonlyArray<TypeEntry['op']>, limit: number): { reader: CandidReader; table: TypeEntry[] } {
  if (bytes.length < 4 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NotThisShape();
  const reader = new CandidReader(bytes);
  reader.at = 4;
  const count = reader.uleb();
  if (count > limit) throw new NotThisShape();
  const table: TypeEntry[] = [];
  for (let i = 0; i < count; i++) {
    const op = reader.sleb();
    if (!constructors.includes(op as TypeEntry['op'])) throw new NotThisShape();
    if (op === VEC) table.push({ op, of: reader.sleb() });
    else {
      const n = reader.uleb();
      if (n > limit) throw new NotThisShape();
      const fields = Array.from({ length: n }, () => ({ id: reader.uleb(), type: reader.sleb() }));
      table.push({ op: op as typeof RECORD | typeof VARIANT, fields });
    }
  }
  return { reader, table };
}
