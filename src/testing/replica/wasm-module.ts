// Just enough WebAssembly to make snapshots behave as on the IC: the emulator reads a module's
// exported globals (loading an uploaded snapshot requires the snapshot's globals to match them)
// and its initial memory size, and can build small valid modules for tests and the demo.
// Nothing is executed.
import { gunzipSync } from 'node:zlib';
import { SeededRandom } from './content.js';

/** A global's value, shaped like the Candid variant in snapshot metadata. */
export type WasmGlobal = { i32: number } | { i64: bigint } | { f32: number } | { f64: number } | { v128: bigint };
export type WasmGlobalType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

export interface WasmModuleInfo {
  /** Exported globals in export order, with their initial values. */
  readonly exportedGlobals: readonly WasmGlobal[];
  /** Minimum size of memory 0 in 64 KiB pages (0 without a memory). */
  readonly memoryMinPages: number;
}

export class InvalidWasmError extends Error {
  override readonly name = 'InvalidWasmError';
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const WASM_VERSION = [0x01, 0x00, 0x00, 0x00];
const VALUE_TYPE_CODES: Record<WasmGlobalType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };
const SECTION = { custom: 0, import: 2, memory: 5, global: 6, export: 7 } as const;
const EXPORT_KIND = { memory: 0x02, global: 0x03 } as const;

export function globalType(global: WasmGlobal): WasmGlobalType {
  return Object.keys(global)[0] as WasmGlobalType;
}

/** The IC's rule for uploaded snapshots: same number of exported globals, same types, in order. */
export function globalsMatch(moduleGlobals: readonly WasmGlobal[], snapshotGlobals: readonly WasmGlobal[]): boolean {
  return (
    moduleGlobals.length === snapshotGlobals.length &&
    moduleGlobals.every((global, i) => globalType(global) === globalType(snapshotGlobals[i]!))
  );
}

export interface BuildWasmModuleOptions {
  /** Exported mutable globals and their initial values (exported as `g0`, `g1`, ...). */
  readonly globals?: readonly WasmGlobal[];
  /** Initial pages of the exported memory. */
  readonly memoryPages?: number;
  /** Pads the module with a custom section of pseudo-random bytes up to this total size. */
  readonly sizeBytes?: number;
  readonly seed?: string | number;
}

/** A valid, code-free module: memory, exported globals, optional padding. */
export function buildWasmModule(options: BuildWasmModuleOptions = {}): Uint8Array {
  const globals = options.globals ?? [];
  const memoryPages = options.memoryPages ?? 1;
  const sections: number[][] = [];

  sections.push(section(SECTION.memory, [...u32(1), 0x00, ...u32(memoryPages)]));
  if (globals.length > 0) {
    const body = [...u32(globals.length)];
    for (const global of globals) body.push(VALUE_TYPE_CODES[globalType(global)], 0x01, ...constantExpression(global));
    sections.push(section(SECTION.global, body));
  }
  const exports: number[][] = [[...name('memory'), EXPORT_KIND.memory, ...u32(0)]];
  globals.forEach((_, i) => exports.push([...name(`g${i}`), EXPORT_KIND.global, ...u32(i)]));
  sections.push(section(SECTION.export, [...u32(exports.length), ...exports.flat()]));

  const header = [...WASM_MAGIC, ...WASM_VERSION];
  const unpadded = header.length + sections.reduce((sum, s) => sum + s.length, 0);
  const target = options.sizeBytes ?? 0;
  if (target <= unpadded) return Uint8Array.from([...header, ...sections.flat()]);

  // The padding section's size field is written as a fixed 5-byte LEB128 (the spec allows
  // non-minimal encodings), so the payload length follows directly from the target size.
  const sectionName = name('agentvault:padding');
  const payload = target - unpadded - 1 - 5 - sectionName.length;
  if (payload < 0) return Uint8Array.from([...header, ...sections.flat()]);
  const module = new Uint8Array(target);
  let offset = 0;
  for (const part of [header, ...sections, [SECTION.custom, ...fixedWidthU32(sectionName.length + payload), ...sectionName]]) {
    module.set(part, offset);
    offset += part.length;
  }
  new SeededRandom(`wasm-padding:${options.seed ?? 0}`).fill(module.subarray(offset));
  return module;
}

/** Reads exported globals and memory size; accepts gzipped modules as the IC does. */
export function inspectWasmModule(bytes: Uint8Array): WasmModuleInfo {
  let module = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      module = gunzipSync(bytes);
    } catch (error) {
      throw new InvalidWasmError(`Failed to decompress wasm module: ${(error as Error).message}`);
    }
  }
  const reader = new ByteReader(module);
  const header = reader.bytes(8);
  if (![...WASM_MAGIC, ...WASM_VERSION].every((byte, i) => header[i] === byte)) {
    throw new InvalidWasmError('Failed to decode wasm module: bad magic number or version');
  }

  const globalTypes: WasmGlobalType[] = [];
  const globalValues: WasmGlobal[] = [];
  const exportedGlobalIndexes: number[] = [];
  let memoryMinPages = 0;

  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const body = new ByteReader(reader.bytes(size));
    switch (id) {
      case SECTION.import:
        for (let n = body.u32(); n > 0; n--) {
          body.bytes(body.u32());
          body.bytes(body.u32());
          const kind = body.byte();
          if (kind === 0x00) body.u32();
          else if (kind === 0x01) {
            body.byte();
            skipLimits(body);
          } else if (kind === 0x02) memoryMinPages = skipLimits(body);
          else if (kind === 0x03) {
            const type = valueType(body.byte());
            body.byte();
            globalTypes.push(type);
            globalValues.push(zeroGlobal(type));
          } else throw new InvalidWasmError(`Failed to decode wasm module: unknown import kind ${kind}`);
        }
        break;
      case SECTION.memory:
        if (body.u32() > 0) memoryMinPages = skipLimits(body);
        break;
      case SECTION.global:
        for (let n = body.u32(); n > 0; n--) {
          const type = valueType(body.byte());
          body.byte();
          globalTypes.push(type);
          globalValues.push(readConstantExpression(body, type));
        }
        break;
      case SECTION.export:
        for (let n = body.u32(); n > 0; n--) {
          body.bytes(body.u32());
          const kind = body.byte();
          const index = body.u32();
          if (kind === EXPORT_KIND.global) exportedGlobalIndexes.push(index);
        }
        break;
      default:
        break;
    }
  }

  const exportedGlobals = exportedGlobalIndexes.map((index) => {
    const value = globalValues[index];
    if (!value) throw new InvalidWasmError(`Failed to decode wasm module: export of unknown global ${index}`);
    return value;
  });
  return { exportedGlobals, memoryMinPages };
}

function section(id: number, body: number[]): number[] {
  return [id, ...u32(body.length), ...body];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...u32(bytes.length), ...bytes];
}

function u32(value: number): number[] {
  const out: number[] = [];
  let remaining = value >>> 0;
  do {
    let byte = remaining & 0x7f;
    remaining >>>= 7;
    if (remaining !== 0) byte |= 0x80;
    out.push(byte);
  } while (remaining !== 0);
  return out;
}

function fixedWidthU32(value: number): number[] {
  return [0, 7, 14, 21, 28].map((shift, i) => ((value >>> shift) & 0x7f) | (i < 4 ? 0x80 : 0));
}

function signedLeb(value: bigint): number[] {
  const out: number[] = [];
  let remaining = value;
  for (;;) {
    const byte = Number(remaining & 0x7fn);
    remaining >>= 7n;
    const signBitClear = (byte & 0x40) === 0;
    if ((remaining === 0n && signBitClear) || (remaining === -1n && !signBitClear)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function constantExpression(global: WasmGlobal): number[] {
  const bytes: number[] = [];
  if ('i32' in global) bytes.push(0x41, ...signedLeb(BigInt(global.i32 | 0)));
  else if ('i64' in global) bytes.push(0x42, ...signedLeb(BigInt.asIntN(64, global.i64)));
  else if ('f32' in global) {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(global.f32);
    bytes.push(0x43, ...buffer);
  } else if ('f64' in global) {
    const buffer = Buffer.alloc(8);
    buffer.writeDoubleLE(global.f64);
    bytes.push(0x44, ...buffer);
  } else {
    const buffer = Buffer.alloc(16);
    buffer.writeBigUInt64LE(BigInt.asUintN(64, global.v128));
    buffer.writeBigUInt64LE(BigInt.asUintN(64, global.v128 >> 64n), 8);
    bytes.push(0xfd, ...u32(12), ...buffer);
  }
  bytes.push(0x0b);
  return bytes;
}

function readConstantExpression(reader: ByteReader, type: WasmGlobalType): WasmGlobal {
  let value: WasmGlobal = zeroGlobal(type);
  for (;;) {
    const opcode = reader.byte();
    if (opcode === 0x0b) return value;
    if (opcode === 0x41) value = { i32: Number(BigInt.asIntN(32, reader.signed())) };
    else if (opcode === 0x42) value = { i64: BigInt.asIntN(64, reader.signed()) };
    else if (opcode === 0x43) value = { f32: Buffer.from(reader.bytes(4)).readFloatLE(0) };
    else if (opcode === 0x44) value = { f64: Buffer.from(reader.bytes(8)).readDoubleLE(0) };
    else if (opcode === 0xfd && reader.u32() === 12) {
      const raw = Buffer.from(reader.bytes(16));
      value = { v128: raw.readBigUInt64LE(0) | (raw.readBigUInt64LE(8) << 64n) };
    } else if (opcode === 0x23 || opcode === 0xd2) reader.u32();
    else if (opcode === 0xd0) reader.byte();
    else throw new InvalidWasmError(`Failed to decode wasm module: unsupported constant opcode 0x${opcode.toString(16)}`);
  }
}

function zeroGlobal(type: WasmGlobalType): WasmGlobal {
  switch (type) {
    case 'i32':
      return { i32: 0 };
    case 'i64':
      return { i64: 0n };
    case 'f32':
      return { f32: 0 };
    case 'f64':
      return { f64: 0 };
    case 'v128':
      return { v128: 0n };
  }
}

function valueType(code: number): WasmGlobalType {
  const entry = Object.entries(VALUE_TYPE_CODES).find(([, value]) => value === code);
  if (!entry) throw new InvalidWasmError(`Failed to decode wasm module: unsupported global type 0x${code.toString(16)}`);
  return entry[0] as WasmGlobalType;
}

function skipLimits(reader: ByteReader): number {
  const flags = reader.byte();
  const min = reader.u32();
  if (flags & 0x01) reader.u32();
  return min;
}

class ByteReader {
  #offset = 0;
  constructor(private readonly data: Uint8Array) {}

  get done(): boolean {
    return this.#offset >= this.data.length;
  }

  byte(): number {
    if (this.#offset >= this.data.length) throw new InvalidWasmError('Failed to decode wasm module: unexpected end');
    return this.data[this.#offset++]!;
  }

  bytes(length: number): Uint8Array {
    if (this.#offset + length > this.data.length) throw new InvalidWasmError('Failed to decode wasm module: unexpected end');
    const out = this.data.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new InvalidWasmError('Failed to decode wasm module: integer too long');
  }

  signed(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.byte();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (byte & 0x40) result -= 1n << shift;
        return result;
      }
      if (shift > 70n) throw new InvalidWasmError('Failed to decode wasm module: integer too long');
    }
  }
}
