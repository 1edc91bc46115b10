/**
 * GGUF reader and validator, in pure TypeScript.
 *
 * llama.cpp aborts the whole process (GGML_ASSERT) on some malformed or hostile files instead of
 * returning an error, so every model goes through {@link readGgufHeader} (file layout) and
 * {@link validateForLlama} (what llama.cpp's loader needs) before it is handed to the native addon.
 *
 * The reader reads the file incrementally through a FileHandle: header, every metadata key/value and
 * every tensor info, never the tensor data. All lengths and counts are checked against the file size
 * before anything is allocated.
 *
 * Format (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 KV count, KVs
 * (string key, u32 value type, value), tensor infos (string name, u32 n_dims, u64 ne[n_dims],
 * u32 ggml type, u64 offset relative to the data section), padding to `general.alignment` (default 32),
 * tensor data. Strings are a u64 byte length followed by UTF-8 bytes (no terminator); arrays are
 * u32 element type, u64 count, elements.
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { MoodaxisError } from './errors.js';

// ---------------------------------------------------------------------------------------------------
// Format constants
// ---------------------------------------------------------------------------------------------------

/** GGUF metadata value types (gguf_type). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Byte size of each fixed-size value type (0 for STRING and ARRAY). */
export const GGUF_VALUE_TYPE_SIZE: Readonly<Record<GgufValueType, number>> = {
  0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 0, 9: 0, 10: 8, 11: 8, 12: 8,
};

const VALUE_TYPE_NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'str', 'arr', 'u64', 'i64', 'f64'];

/** Human-readable name of a value type, e.g. `u32`, `arr[str]`. */
export function ggufTypeName(type: GgufValueType, elementType?: GgufValueType): string {
  const base = VALUE_TYPE_NAMES[type] ?? `type ${type}`;
  return type === GgufValueType.ARRAY && elementType !== undefined ? `${base}[${ggufTypeName(elementType)}]` : base;
}

/** A ggml tensor type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

const QK_K = 256;

/**
 * ggml tensor types that GGUF files may hold (ggml_type and ggml's type_traits at the pinned
 * llama.cpp commit). Removed types (4, 5, 31–33, 36–38) are absent on purpose: llama.cpp rejects them.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 2 + 16],
      [3, 'Q4_1', 32, 2 + 2 + 16],
      [6, 'Q5_0', 32, 2 + 4 + 16],
      [7, 'Q5_1', 32, 2 + 2 + 4 + 16],
      [8, 'Q8_0', 32, 2 + 32],
      [9, 'Q8_1', 32, 4 + 4 + 32],
      [10, 'Q2_K', QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
      [11, 'Q3_K', QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
      [12, 'Q4_K', QK_K, 2 + 2 + QK_K / 2 + 12],
      [13, 'Q5_K', QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
      [14, 'Q6_K', QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
      [15, 'Q8_K', QK_K, 4 + QK_K + QK_K / 8],
      [16, 'IQ2_XXS', QK_K, 2 + QK_K / 4],
      [17, 'IQ2_XS', QK_K, 2 + QK_K / 4 + QK_K / 32],
      [18, 'IQ3_XXS', QK_K, 2 + QK_K / 4 + QK_K / 8],
      [19, 'IQ1_S', QK_K, 2 + QK_K / 8 + QK_K / 16],
      [20, 'IQ4_NL', 32, 2 + 16],
      [21, 'IQ3_S', QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
      [22, 'IQ2_S', QK_K, 2 + QK_K / 4 + QK_K / 16],
      [23, 'IQ4_XS', QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', QK_K, 2 + 4 * 13],
      [35, 'TQ2_0', QK_K, 2 + 64],
      [39, 'MXFP4', 32, 1 + 16],
      [40, 'NVFP4', 64, 4 + 32],
      [41, 'Q1_0', 128, 2 + 16],
      [42, 'Q2_0', 64, 2 + 16],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { id, name, blockSize, typeSize }]),
);

/** ggml type id by name (`'F32'`, `'Q8_0'`, ...). */
export const GgmlType = Object.fromEntries([...GGML_TYPES.values()].map((t) => [t.name, t.id])) as Record<string, number>;

/** Bytes taken by a tensor of `shape` (ne order: ne[0] first) and ggml type `type`. */
export function ggmlTensorBytes(shape: readonly number[], type: number): number {
  const t = GGML_TYPES.get(type);
  if (!t) throw new RangeError(`unknown ggml type ${type}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if ((shape[0] ?? 1) % t.blockSize !== 0) throw new RangeError(`row size ${shape[0]} is not a multiple of ${t.name} block size ${t.blockSize}`);
  return (n / t.blockSize) * t.typeSize;
}

/** Default alignment of the tensor data section and of each tensor in it. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** llama.cpp's GGML_MAX_NAME is 64 including the terminating NUL. */
export const GGUF_MAX_TENSOR_NAME = 63;
/** llama.cpp's LLAMA_MAX_LAYERS; larger block counts abort the process. */
export const LLAMA_MAX_LAYERS = 512;
/** llama.cpp's LLAMA_MAX_EXPERTS; larger expert counts abort the process. */
export const LLAMA_MAX_EXPERTS = 1024;

// Limits on every quantity whose size comes from the file (a model file is untrusted input). Generous:
// far above every real model, far below what would exhaust memory; each is also checked against the
// file's size before anything is allocated. The README's "Untrusted models" section lists them.
/** Tensors (real models: a few thousand). */
export const MAX_TENSORS = 1 << 20;
/** Metadata keys (real models: under a hundred). */
export const MAX_KVS = 1 << 20;
export const MAX_KEY_BYTES = 1 << 16;
/** One metadata string (the largest real ones, an embedded tokenizer.json, take a few tens of MB). */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** All metadata strings together, keys and array elements included (held in memory as JS strings). */
export const MAX_METADATA_STRING_BYTES = 256 * 1024 * 1024;
/** One metadata array (the largest real ones, vocabularies and BPE merges, hold under a million). */
export const MAX_ARRAY_ELEMENTS = 1 << 22;
/** All metadata arrays together (each element costs 8 to 40 bytes of JS heap). */
export const MAX_METADATA_ELEMENTS = 1 << 23;
/** One token text (or BPE merge) of the vocabulary. */
export const MAX_TOKEN_BYTES = 1 << 16;
/** tokenizer.chat_template (real templates take a few KB to a few tens of KB). */
export const MAX_CHAT_TEMPLATE_BYTES = 1 << 20;
/** `<arch>.context_length`, the context the model claims (real models: up to 10M, Llama 4 Scout). */
export const MAX_CONTEXT_LENGTH = 1 << 24;
const MIN_KV_BYTES = 8 + 1 + 4 + 1; // key length, 1-byte key, type, 1-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8; // name length, 1-byte name, n_dims, one dim, type, offset
const HEADER_BYTES = 4 + 4 + 8 + 8;

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

/** What is wrong with a GGUF file: the `reason` of its error (code BAD_INPUT), see {@link ggufError}. */
export type GgufErrorReason =
  | 'ENOENT'
  | 'EISDIR'
  | 'EACCES'
  | 'NOT_FILE'
  | 'EIO'
  | 'EMPTY'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'TRUNCATED'
  | 'BAD_METADATA'
  | 'BAD_TENSOR'
  | 'UNSUPPORTED_ARCH';

/** A GGUF file's error: its `reason`, `file` (the path as given) and `detail` (what is wrong, without the file name). */
export type GgufError = MoodaxisError & { reason: GgufErrorReason; file: string; detail: string };

/** A file that must not be handed to llama.cpp: BAD_INPUT, `message` starts with the file's name. */
export function ggufError(reason: GgufErrorReason, path: string, detail: string, options?: { cause?: unknown }): GgufError {
  return new MoodaxisError('BAD_INPUT', `${basename(path) || path}: ${detail}`, { file: path, detail, reason, cause: options?.cause }) as GgufError;
}

/** Whether `error` came from {@link ggufError}. */
export function isGgufError(error: unknown): error is GgufError {
  return error instanceof MoodaxisError && error.file !== undefined && error.detail !== undefined && error.reason !== undefined;
}

/** A metadata value. 64-bit integers are numbers when exactly representable, bigints otherwise. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufScalar[];

/** The stored type of a metadata value (`elementType` for arrays). */
export interface GgufKvType {
  type: GgufValueType;
  elementType?: GgufValueType;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: shape[0] is the row length (ne[0]). */
  shape: number[];
  /** ggml type id; see {@link GGML_TYPES}. */
  type: number;
  /** ggml type name, e.g. `'Q8_0'`. */
  typeName: string;
  /** Offset relative to {@link GgufInfo.dataOffset}. */
  offset: number;
  byteSize: number;
}

export interface GgufInfo {
  path: string;
  version: number;
  fileSize: number;
  alignment: number;
  /** Metadata in file order. Null-prototype safe: it is a Map. */
  metadata: Map<string, GgufValue>;
  /** Stored type of every metadata key. */
  metadataTypes: Map<string, GgufKvType>;
  tensors: GgufTensorInfo[];
  /** Bytes of header + metadata + tensor infos (what precedes the alignment padding). */
  headerSize: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  /** Bytes from dataOffset to the end of the last tensor. */
  dataSize: number;
  // Convenience (null when absent or of the wrong type)
  architecture: string | null;
  name: string | null;
  blockCount: number | null;
  embeddingLength: number | null;
  contextLength: number | null;
  /** Number of entries in tokenizer.ggml.tokens, else `<arch>.vocab_size`. */
  vocabSize: number | null;
  chatTemplate: string | null;
}

// ---------------------------------------------------------------------------------------------------
// Incremental file reader
// ---------------------------------------------------------------------------------------------------

const READ_CHUNK = 1 << 20;

/** Buffered forward reader over a FileHandle; every read is bounds-checked against the file size. */
class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufStart = 0;
  /** Number of valid bytes in buf. */
  private bufLen = 0;
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  get remaining(): number {
    return this.size - this.pos;
  }

  /** True when `n` bytes at `pos` are already buffered. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.bufLen;
  }

  /** Buffers `n` bytes at `pos`, or throws TRUNCATED naming `what`. */
  async fill(n: number, what: () => string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) {
      throw ggufError('TRUNCATED', this.path, `truncated: ${what()} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.size} bytes`);
    }
    const len = Math.min(Math.max(n, READ_CHUNK), this.remaining);
    if (this.buf.length < len || this.buf.length > 4 * Math.max(len, READ_CHUNK)) this.buf = Buffer.allocUnsafe(Math.max(len, Math.min(READ_CHUNK, this.size)));
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(this.buf, got, len - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bufStart = this.pos;
    this.bufLen = got;
    if (got < n) {
      throw ggufError('TRUNCATED', this.path, `truncated: ${what()} needs bytes ${this.pos}..${this.pos + n} but only ${this.pos + got} could be read (did the file shrink while being read?)`);
    }
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }
  u8(): number { return this.buf.readUInt8(this.at(1)); }
  i8(): number { return this.buf.readInt8(this.at(1)); }
  u16(): number { return this.buf.readUInt16LE(this.at(2)); }
  i16(): number { return this.buf.readInt16LE(this.at(2)); }
  u32(): number { return this.buf.readUInt32LE(this.at(4)); }
  i32(): number { return this.buf.readInt32LE(this.at(4)); }
  f32(): number { return this.buf.readFloatLE(this.at(4)); }
  f64(): number { return this.buf.readDoubleLE(this.at(8)); }
  u64(): bigint { return this.buf.readBigUInt64LE(this.at(8)); }
  /** The u64 at `pos` without consuming it (must be buffered). */
  peekU64(): bigint { return this.buf.readBigUInt64LE(this.pos - this.bufStart); }
  i64(): bigint { return this.buf.readBigInt64LE(this.at(8)); }
  utf8(n: number): string {
    const o = this.at(n);
    return this.buf.toString('utf8', o, o + n);
  }
  bytes(n: number): Buffer {
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const toNumberOrBig = (v: bigint): number | bigint => (v <= SAFE && v >= -SAFE ? Number(v) : v);

// ---------------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------------

function fsError(err: unknown, path: string): GgufError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return ggufError('ENOENT', path, 'no such file', { cause: err });
    case 'EISDIR':
      return ggufError('EISDIR', path, 'is a directory, not a GGUF file', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return ggufError('EACCES', path, 'permission denied: the file cannot be read', { cause: err });
    default:
      return ggufError('EIO', path, `cannot read the file (${e?.code ?? String(err)})`, { cause: err });
  }
}

/** Opens `path` for reading after checking it is a non-empty regular file. */
async function openModelFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fsError(err, path);
  }
  if (st.isDirectory()) throw ggufError('EISDIR', path, 'is a directory, not a GGUF file');
  if (!st.isFile()) throw ggufError('NOT_FILE', path, 'is not a regular file (device, pipe or socket)');
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fsError(err, path);
  }
  const size = st.size;
  if (size === 0) {
    await fh.close();
    throw ggufError('EMPTY', path, 'the file is empty (0 bytes)');
  }
  return { fh, size };
}

function showMagic(b: Buffer): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `"${s}"`;
}

const LEGACY_MAGIC: Record<string, string> = {
  lmgg: 'legacy GGML', fmgg: 'legacy GGMF', tjgg: 'legacy GGJT', ggml: 'legacy GGML', ggjt: 'legacy GGJT',
};

// ---------------------------------------------------------------------------------------------------
// readGgufHeader
// ---------------------------------------------------------------------------------------------------

/**
 * Reads and validates the header, all metadata and all tensor infos of a GGUF file.
 *
 * Checks: regular non-empty readable file; magic `GGUF`; version 2 or 3; counts that the file size
 * can hold; known value types; string and array lengths within the file (and below the reader's
 * limits); unique, non-empty keys; `general.alignment` a u32 power of two; tensor names unique,
 * 1..63 bytes; 1..4 dims, each > 0, element count representable; known ggml type with the row size
 * a multiple of its block size; tensor offsets aligned and laid out the way llama.cpp requires (in
 * order, each at the previous end padded to the alignment, hence non-overlapping); every tensor's
 * data inside the file.
 *
 * @throws a GgufError (see ggufError) with reason ENOENT, EISDIR, EACCES, NOT_FILE, EIO, EMPTY, BAD_MAGIC, BAD_VERSION,
 *   TRUNCATED, BAD_METADATA or BAD_TENSOR.
 */
export async function readGgufHeader(path: string): Promise<GgufInfo> {
  const { fh, size } = await openModelFile(path);
  try {
    return await parse(new Cursor(fh, size, path), path);
  } catch (err) {
    if (isGgufError(err)) throw err;
    throw fsError(err, path);
  } finally {
    await fh.close();
  }
}

async function parse(c: Cursor, path: string): Promise<GgufInfo> {
  const fail = (code: GgufErrorReason, detail: string): never => {
    throw ggufError(code, path, detail);
  };

  // Magic
  const magicLen = Math.min(4, c.size);
  await c.fill(magicLen, () => 'magic');
  const magic = c.bytes(magicLen);
  if (magicLen < 4 || magic.toString('latin1') !== 'GGUF') {
    if (magicLen < 4 && 'GGUF'.startsWith(magic.toString('latin1'))) {
      fail('TRUNCATED', `truncated: the file has only ${c.size} bytes, less than a GGUF header`);
    }
    const legacy = LEGACY_MAGIC[magic.toString('latin1')];
    fail('BAD_MAGIC', `not a GGUF file (magic ${showMagic(magic)}, expected "GGUF")${legacy ? `: this is a ${legacy} file, convert it to GGUF` : ''}`);
  }

  // Version and counts
  await c.fill(4, () => 'the version number');
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    if (version !== 0 && (version & 0xffff) === 0) {
      fail('BAD_VERSION', `GGUF version field is 0x${version.toString(16)}: a big-endian GGUF file, which is not supported`);
    }
    fail('BAD_VERSION', `unsupported GGUF version ${version} (supported: 2 and 3)${version === 1 ? '; version 1 files must be re-converted' : ''}`);
  }
  await c.fill(16, () => 'the tensor and metadata counts');
  const nTensorsBig = c.u64();
  const nKvBig = c.u64();
  if (nTensorsBig > BigInt(MAX_TENSORS)) fail('BAD_TENSOR', `absurd tensor count ${nTensorsBig} (this reader accepts at most ${MAX_TENSORS})`);
  if (nKvBig > BigInt(MAX_KVS)) fail('BAD_METADATA', `absurd metadata key count ${nKvBig} (this reader accepts at most ${MAX_KVS})`);
  const nTensors = Number(nTensorsBig);
  const nKv = Number(nKvBig);
  const minBytes = HEADER_BYTES + nKv * MIN_KV_BYTES + nTensors * MIN_TENSOR_INFO_BYTES;
  if (minBytes > c.size) {
    fail('TRUNCATED', `truncated: the header declares ${nTensors} tensors and ${nKv} metadata keys, which need at least ${minBytes} bytes, but the file has ${c.size} bytes`);
  }

  // Metadata
  const metadata = new Map<string, GgufValue>();
  const metadataTypes = new Map<string, GgufKvType>();
  let elementBudget = MAX_METADATA_ELEMENTS;
  let stringBudget = MAX_METADATA_STRING_BYTES;
  const spendStringBytes = (n: number) => {
    stringBudget -= n;
    if (stringBudget < 0) fail('BAD_METADATA', `the metadata holds more than ${MAX_METADATA_STRING_BYTES} bytes of strings in all`);
  };

  /** Reads a length-prefixed string, checking the length before reading the bytes. */
  const readString = async (what: () => string, maxBytes: number, code: GgufErrorReason): Promise<string> => {
    if (!c.has(8)) await c.fill(8, () => `the length of ${what()}`);
    const lenBig = c.u64();
    if (lenBig > BigInt(maxBytes)) {
      if (lenBig > BigInt(c.remaining)) fail(code, `${what()} has an absurd length of ${lenBig} bytes (the file has ${c.size} bytes)`);
      fail(code, `${what()} is ${lenBig} bytes long; at most ${maxBytes} are allowed`);
    }
    const len = Number(lenBig);
    if (len > c.remaining) fail('TRUNCATED', `truncated: ${what()} (${len} bytes at byte ${c.pos}) runs past the end of the file (${c.size} bytes)`);
    if (code === 'BAD_METADATA') spendStringBytes(len);
    if (!c.has(len)) await c.fill(len, what);
    return c.utf8(len);
  };

  const readScalar = async (type: GgufValueType, what: () => string): Promise<GgufScalar> => {
    if (type === GgufValueType.STRING) return readString(what, MAX_STRING_BYTES, 'BAD_METADATA');
    const n = GGUF_VALUE_TYPE_SIZE[type];
    if (!c.has(n)) await c.fill(n, what);
    return decodeFixed(type, what);
  };

  /** Decodes a buffered fixed-size value. */
  const decodeFixed = (type: GgufValueType, what: () => string): GgufScalar => {
    switch (type) {
      case GgufValueType.UINT8: return c.u8();
      case GgufValueType.INT8: return c.i8();
      case GgufValueType.UINT16: return c.u16();
      case GgufValueType.INT16: return c.i16();
      case GgufValueType.UINT32: return c.u32();
      case GgufValueType.INT32: return c.i32();
      case GgufValueType.FLOAT32: return c.f32();
      case GgufValueType.BOOL: return c.u8() !== 0; // like ggml: any non-zero byte is true
      case GgufValueType.UINT64: return toNumberOrBig(c.u64());
      case GgufValueType.INT64: return toNumberOrBig(c.i64());
      case GgufValueType.FLOAT64: return c.f64();
      default: return fail('BAD_METADATA', `${what()} has unknown value type ${type}`);
    }
  };

  const isKnownType = (t: number): t is GgufValueType => Number.isInteger(t) && t >= 0 && t <= 12;

  for (let i = 0; i < nKv; i++) {
    const key = await readString(() => `metadata key #${i}`, MAX_KEY_BYTES, 'BAD_METADATA');
    if (key.length === 0) fail('BAD_METADATA', `metadata key #${i} is empty`);
    if (metadata.has(key)) fail('BAD_METADATA', `duplicate metadata key '${key}'`);
    const what = () => `metadata key '${key}'`;
    if (!c.has(4)) await c.fill(4, () => `the value type of ${what()}`);
    const type = c.u32();
    if (!isKnownType(type)) fail('BAD_METADATA', `${what()} has unknown value type ${type}`);
    if (type !== GgufValueType.ARRAY) {
      metadata.set(key, await readScalar(type as GgufValueType, what));
      metadataTypes.set(key, { type: type as GgufValueType });
      continue;
    }
    await c.fill(12, () => `the array header of ${what()}`);
    const elementType = c.u32();
    const nBig = c.u64();
    if (!isKnownType(elementType) || elementType === GgufValueType.ARRAY) {
      fail('BAD_METADATA', `${what()} is an array of unknown or nested type ${elementType}`);
    }
    const et = elementType as GgufValueType;
    const minElem = et === GgufValueType.STRING ? 8 : GGUF_VALUE_TYPE_SIZE[et];
    if (nBig > BigInt(MAX_ARRAY_ELEMENTS)) fail('BAD_METADATA', `${what()} claims an absurd array length of ${nBig} (this reader accepts at most ${MAX_ARRAY_ELEMENTS})`);
    if (nBig * BigInt(minElem) > BigInt(c.remaining)) {
      fail('TRUNCATED', `truncated: ${what()} holds ${nBig} elements of type ${ggufTypeName(et)} that run past the end of the file (${c.size} bytes)`);
    }
    const n = Number(nBig);
    elementBudget -= n;
    if (elementBudget < 0) fail('BAD_METADATA', `the metadata holds more than ${MAX_METADATA_ELEMENTS} array elements in all`);
    const arr: GgufScalar[] = new Array(n);
    const elemSize = GGUF_VALUE_TYPE_SIZE[et];
    const maxLen = BigInt(MAX_STRING_BYTES);
    for (let j = 0; j < n; j++) {
      // Synchronous fast path while the element is buffered (token lists have 100k+ entries).
      if (et === GgufValueType.STRING) {
        if (c.has(8)) {
          const len = c.peekU64();
          if (len <= maxLen && c.has(8 + Number(len))) {
            spendStringBytes(Number(len));
            c.pos += 8;
            arr[j] = c.utf8(Number(len));
            continue;
          }
        }
      } else if (c.has(elemSize)) {
        arr[j] = decodeFixed(et, what);
        continue;
      }
      arr[j] = await readScalar(et, () => `element ${j} of ${what()}`);
    }
    metadata.set(key, arr);
    metadataTypes.set(key, { type: GgufValueType.ARRAY, elementType: et });
  }

  // Alignment
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignType = metadataTypes.get('general.alignment');
  if (alignType) {
    if (alignType.type !== GgufValueType.UINT32) fail('BAD_METADATA', `metadata key 'general.alignment' must be of type u32 but is ${ggufTypeName(alignType.type, alignType.elementType)}`);
    alignment = metadata.get('general.alignment') as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) fail('BAD_METADATA', `general.alignment ${alignment} is not a power of 2`);
  }

  // Tensor infos
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  const INT64_MAX = (1n << 63n) - 1n;
  for (let i = 0; i < nTensors; i++) {
    const name = await readString(() => `the name of tensor #${i}`, GGUF_MAX_TENSOR_NAME, 'BAD_TENSOR');
    if (name.length === 0) fail('BAD_TENSOR', `tensor #${i} has an empty name`);
    if (names.has(name)) fail('BAD_TENSOR', `duplicate tensor name '${name}'`);
    names.add(name);
    const what = () => `tensor '${name}'`;
    if (!c.has(4)) await c.fill(4, () => `the dimension count of ${what()}`);
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) fail('BAD_TENSOR', `${what()} has ${nDims} dimensions (expected 1 to 4)`);
    await c.fill(8 * nDims + 4 + 8, () => `the shape, type and offset of ${what()}`);
    let elements = 1n;
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64();
      if (ne === 0n) fail('BAD_TENSOR', `${what()} has size 0 in dimension ${d}`);
      if (ne > INT64_MAX) fail('BAD_TENSOR', `${what()} has an absurd size ${ne} in dimension ${d}`);
      elements *= ne;
      if (elements > INT64_MAX) fail('BAD_TENSOR', `${what()} has more elements than a 64-bit count can hold (dimensions ${[...shape, ne].join(' x ')}...)`);
      shape.push(Number(ne));
    }
    const type = c.u32();
    const t = GGML_TYPES.get(type);
    if (!t) fail('BAD_TENSOR', `${what()} has unknown or unsupported ggml type ${type}`);
    const tt = t as GgmlTypeInfo;
    if (BigInt(shape[0]!) % BigInt(tt.blockSize) !== 0n) {
      fail('BAD_TENSOR', `${what()} of type ${tt.name} has rows of ${shape[0]} elements, not a multiple of the block size ${tt.blockSize}`);
    }
    const bytes = (elements / BigInt(tt.blockSize)) * BigInt(tt.typeSize);
    const offsetBig = c.u64();
    if (offsetBig % BigInt(alignment) !== 0n) fail('BAD_TENSOR', `${what()} has data offset ${offsetBig}, not a multiple of the alignment ${alignment}`);
    // Sizes that fit in the file are checked against it below; these cannot be real whatever the file.
    if (offsetBig > BigInt(Number.MAX_SAFE_INTEGER) || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail('BAD_TENSOR', `${what()} (${shape.join(' x ')} ${tt.name}, ${bytes} bytes at offset ${offsetBig}) is absurdly large`);
    }
    tensors.push({ name, shape, type, typeName: tt.name, offset: Number(offsetBig), byteSize: Number(bytes) });
  }
  const headerSize = c.pos;

  // Data section: llama.cpp requires tensor i at the padded end of tensor i-1, starting at 0.
  const pad = (x: number) => Math.ceil(x / alignment) * alignment;
  const dataOffset = nTensors > 0 ? pad(headerSize) : headerSize;
  let expected = 0;
  let dataEnd = 0;
  for (const t of tensors) {
    if (t.offset !== expected) {
      fail('BAD_TENSOR', `tensor '${t.name}' has data offset ${t.offset}, expected ${expected} (tensor data must be stored in order, each tensor starting at the previous end padded to ${alignment} bytes; other layouts overlap or leave gaps)`);
    }
    const end = dataOffset + t.offset + t.byteSize;
    if (end > c.size) {
      fail('TRUNCATED', `truncated: tensor '${t.name}' data ends at byte ${end} but the file has ${c.size} bytes`);
    }
    dataEnd = t.offset + t.byteSize;
    expected = pad(dataEnd);
  }

  return {
    path,
    version,
    fileSize: c.size,
    alignment,
    metadata,
    metadataTypes,
    tensors,
    headerSize,
    dataOffset,
    dataSize: dataEnd,
    ...convenience(metadata),
  };
}

function convenience(m: Map<string, GgufValue>) {
  const str = (k: string) => {
    const v = m.get(k);
    return typeof v === 'string' ? v : null;
  };
  const int = (k: string) => {
    const v = m.get(k);
    return typeof v === 'number' && Number.isInteger(v) ? v : null;
  };
  const architecture = str('general.architecture');
  const tokens = m.get('tokenizer.ggml.tokens');
  return {
    architecture,
    name: str('general.name'),
    blockCount: architecture ? int(`${architecture}.block_count`) : null,
    embeddingLength: architecture ? int(`${architecture}.embedding_length`) : null,
    contextLength: architecture ? int(`${architecture}.context_length`) : null,
    vocabSize: Array.isArray(tokens) ? tokens.length : architecture ? int(`${architecture}.vocab_size`) : null,
    chatTemplate: str('tokenizer.chat_template'),
  };
}

// ---------------------------------------------------------------------------------------------------
// validateForLlama
// ---------------------------------------------------------------------------------------------------

/** Architectures known to llama.cpp at the pinned commit (LLM_ARCH_NAMES in src/llama-arch.cpp). */
export const LLAMA_CPP_ARCHITECTURES: readonly string[] = [
  'clip', 'llama', 'llama4', 'deci', 'falcon', 'grok', 'gpt2', 'gptj', 'gptneox', 'mpt', 'baichuan',
  'starcoder', 'refact', 'bert', 'modern-bert', 'nomic-bert', 'nomic-bert-moe', 'neo-bert',
  'jina-bert-v2', 'jina-bert-v3', 'eurobert', 'bloom', 'stablelm', 'qwen', 'qwen2', 'qwen2moe',
  'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3next', 'qwen3vl', 'qwen3vlmoe', 'qwen35', 'qwen35moe',
  'qwen4exp', 'phi2', 'phi3', 'phimoe', 'plamo', 'plamo2', 'plamo3', 'codeshell', 'orion', 'internlm2',
  'minicpm', 'minicpm3', 'gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4', 'gemma4-assistant',
  'gemma-embedding', 'starcoder2', 'mamba', 'mamba2', 'jamba', 'falcon-h1', 'xverse', 'command-r',
  'cohere2', 'cohere2moe', 'dbrx', 'olmo', 'olmo2', 'olmoe', 'muse-glimmer', 'openelm', 'arctic',
  'deepseek', 'deepseek2', 'deepseek2-ocr', 'deepseek32', 'deepseek4', 'chatglm', 'glm4', 'glm4moe',
  'glm-dsa', 'bitnet', 't5', 't5encoder', 'jais', 'jais2', 'nemotron', 'nemotron_h', 'nemotron_h_moe',
  'exaone', 'exaone4', 'exaone-moe', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'granite', 'granitemoe',
  'granitehybrid', 'graniteswitch', 'granite_swa', 'chameleon', 'wavtokenizer-dec', 'plm', 'bailingmoe',
  'bailingmoe2', 'bailingmoe3', 'dots1', 'dots3note', 'arcee', 'afmoe', 'laguna', 'ernie4_5',
  'ernie4_5-moe', 'hunyuan-moe', 'hunyuan-dense', 'hunyuan_vl', 'hy_v3', 'smollm3', 'gpt-oss', 'lfm2',
  'lfm2moe', 'dream', 'smallthinker', 'llada', 'llada-moe', 'seed_oss', 'grovemoe', 'apertus',
  'minimax-01', 'minimax-m2', 'minimax-m3', 'cogvlm', 'rnd1', 'pangu-embedded', 'mistral3', 'eagle3',
  'dflash', 'mistral4', 'paddleocr', 'mimo2', 'step35', 'llama-embed', 'maincoder', 'kimi-linear',
  'kimi-k3', 'talkie', 'mellum', 'nanbeige', 'qwen3tts', 'pockettts',
];
const KNOWN_ARCHS = new Set(LLAMA_CPP_ARCHITECTURES);

/** Architectures whose loader expects exactly the llama tensor set checked by {@link validateForLlama}. */
const LLAMA_LAYOUT_ARCHS = new Set(['llama', 'llama-embed']);

/** tokenizer.ggml.model values llama.cpp's vocab loader accepts. */
const TOKENIZER_MODELS = new Set(['llama', 'bert', 'gpt2', 'hybriddna', 'whitespace', 't5', 'rwkv', 'plamo2', 'gemma4', 'none', 'no_vocab']);

export interface ValidateOptions {
  /** The file will be loaded with vocab_only: hyperparameters and tensors are not needed. */
  vocabOnly?: boolean;
}

/**
 * Checks that llama.cpp can load the model described by `info` (from {@link readGgufHeader}) without
 * failing or, worse, aborting: a known architecture (not the `clip` projector), the required
 * hyperparameters with sane values (block count 1..512, expert counts — llama.cpp asserts on them), a tokenizer it knows
 * with a token list whose entries are unique (duplicates abort llama.cpp) and scores / token types
 * covering it, and for the llama layout every tensor with the shape llama.cpp's loader will ask for.
 * Also the caps on sizes the file claims: token texts and merges ({@link MAX_TOKEN_BYTES}), the chat
 * template ({@link MAX_CHAT_TEMPLATE_BYTES}) and the context length ({@link MAX_CONTEXT_LENGTH}).
 *
 * @throws a GgufError (see ggufError) with reason UNSUPPORTED_ARCH, BAD_METADATA or BAD_TENSOR.
 */
export function validateForLlama(info: GgufInfo, path: string = info.path, options: ValidateOptions = {}): void {
  const m = info.metadata;
  const types = info.metadataTypes;
  const fail = (code: GgufErrorReason, detail: string): never => {
    throw ggufError(code, path, detail);
  };
  const describeType = (k: string) => {
    const t = types.get(k)!;
    return ggufTypeName(t.type, t.elementType);
  };
  const requireUint = (k: string, min: number, max = 0xffffffff): number => {
    if (!m.has(k)) fail('BAD_METADATA', `missing required metadata key '${k}'`);
    const v = m.get(k);
    if (typeof v !== 'number' || !Number.isInteger(v)) fail('BAD_METADATA', `metadata key '${k}' must be an integer but is ${describeType(k)}`);
    const n = v as number;
    if (n < min || n > max) fail('BAD_METADATA', `metadata key '${k}' is ${n}, expected ${min}..${max}`);
    return n;
  };
  const optionalUint = (k: string, min: number, max = 0xffffffff): number | null => (m.has(k) ? requireUint(k, min, max) : null);

  // Architecture
  if (!m.has('general.architecture')) fail('BAD_METADATA', `missing required metadata key 'general.architecture'`);
  const arch = m.get('general.architecture');
  if (typeof arch !== 'string') fail('BAD_METADATA', `metadata key 'general.architecture' must be a string but is ${describeType('general.architecture')}`);
  const a = arch as string;
  if (a === 'clip') fail('UNSUPPORTED_ARCH', `architecture 'clip' is a vision projector (mmproj), not a language model`);
  if (!KNOWN_ARCHS.has(a)) fail('UNSUPPORTED_ARCH', `unsupported architecture '${a}': the llama.cpp in this build does not know it`);

  // Tokenizer
  checkTokenizer(info, fail, describeType);
  const chat = types.get('tokenizer.chat_template');
  if (chat && chat.type !== GgufValueType.STRING) fail('BAD_METADATA', `metadata key 'tokenizer.chat_template' must be a string but is ${describeType('tokenizer.chat_template')}`);
  const templateBytes = chat ? Buffer.byteLength(m.get('tokenizer.chat_template') as string) : 0;
  if (templateBytes > MAX_CHAT_TEMPLATE_BYTES) fail('BAD_METADATA', `tokenizer.chat_template is ${templateBytes} bytes long; at most ${MAX_CHAT_TEMPLATE_BYTES} are allowed`);
  if (options.vocabOnly) return;

  // Hyperparameters
  const nLayer = requireUint(`${a}.block_count`, 1, LLAMA_MAX_LAYERS);
  const nEmbd = requireUint(`${a}.embedding_length`, 1);
  requireUint(`${a}.context_length`, 1, MAX_CONTEXT_LENGTH);
  // Checks that llama.cpp's generic hparams loader asserts (aborts) on, for every architecture.
  optionalUint(`${a}.nextn_predict_layers`, 0, nLayer);
  const nExpert = optionalUint(`${a}.expert_count`, 0, LLAMA_MAX_EXPERTS) ?? 0;
  const usedKey = `${a}.expert_used_count`;
  const usedValue = m.get(usedKey);
  const used = usedValue === undefined ? [0] : Array.isArray(usedValue) ? usedValue : [usedValue];
  if (!used.every((u) => typeof u === 'number' && Number.isInteger(u) && u >= 0)) fail('BAD_METADATA', `metadata key '${usedKey}' must hold non-negative integers`);
  const usedMax = Math.max(0, ...(used as number[]));
  const groups = optionalUint(`${a}.expert_group_count`, 0) ?? 0;
  const groupsUsed = optionalUint(`${a}.expert_group_used_count`, 0) ?? 0;
  if (usedMax > nExpert) fail('BAD_METADATA', `${usedKey} is ${usedMax} but expert_count is ${nExpert}`);
  if (nExpert > 0) {
    if (usedMax === 0) fail('BAD_METADATA', `expert_count is ${nExpert} but ${usedKey} is missing or 0`);
    if (groups >= nExpert) fail('BAD_METADATA', `expert_group_count ${groups} must be less than expert_count ${nExpert}`);
    if (groups > 1 && (nExpert % groups !== 0 || groupsUsed === 0 || groupsUsed >= groups)) {
      fail('BAD_METADATA', `expert groups are inconsistent (expert_count ${nExpert}, expert_group_count ${groups}, expert_group_used_count ${groupsUsed})`);
    }
  } else if (groups !== 0) {
    fail('BAD_METADATA', `expert_group_count is ${groups} but the model has no experts`);
  }
  // ggml asserts eps >= 0 in its norm ops (a NaN fails it too): the process would abort at the first decode.
  for (const key of [`${a}.attention.layer_norm_rms_epsilon`, `${a}.attention.layer_norm_epsilon`]) {
    const e = m.get(key);
    if (typeof e === 'number' && !(Number.isFinite(e) && e >= 0)) fail('BAD_METADATA', `metadata key '${key}' is ${e}, expected a finite number ≥ 0 (llama.cpp would abort on it)`);
  }
  if (!LLAMA_LAYOUT_ARCHS.has(a)) return;

  const nHead = requireUint(`${a}.attention.head_count`, 1);
  const nHeadKv = optionalUint(`${a}.attention.head_count_kv`, 1) ?? nHead;
  if (nHead % nHeadKv !== 0) fail('BAD_METADATA', `attention.head_count ${nHead} is not a multiple of attention.head_count_kv ${nHeadKv}`);
  const nFf = requireUint(`${a}.feed_forward_length`, 1);
  const headK = optionalUint(`${a}.attention.key_length`, 1) ?? nEmbd / nHead;
  const headV = optionalUint(`${a}.attention.value_length`, 1) ?? nEmbd / nHead;
  if (!Number.isInteger(headK) || !Number.isInteger(headV)) fail('BAD_METADATA', `embedding_length ${nEmbd} is not a multiple of attention.head_count ${nHead}`);
  const nRot = optionalUint(`${a}.rope.dimension_count`, 1);
  if (nRot !== null && nRot !== headK) fail('BAD_METADATA', `rope.dimension_count is ${nRot} but the head size is ${headK}`);
  const eps = `${a}.attention.layer_norm_rms_epsilon`;
  if (!m.has(eps)) fail('BAD_METADATA', `missing required metadata key '${eps}'`);
  if (types.get(eps)!.type !== GgufValueType.FLOAT32) fail('BAD_METADATA', `metadata key '${eps}' must be f32 but is ${describeType(eps)}`);

  const nVocab = info.vocabSize ?? 0;
  const tensors = new Map(info.tensors.map((t) => [t.name, t]));
  const expect = (name: string, shape: number[], required = true) => {
    const t = tensors.get(name);
    if (!t) {
      if (required) fail('BAD_TENSOR', `missing tensor '${name}' (the ${a} architecture needs it)`);
      return false;
    }
    const same = t.shape.length >= shape.length && t.shape.every((d, i) => d === (shape[i] ?? 1));
    if (!same) fail('BAD_TENSOR', `tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    return true;
  };
  expect('token_embd.weight', [nEmbd, nVocab]);
  expect('output_norm.weight', [nEmbd]);
  expect('output.weight', [nEmbd, nVocab], false);
  const nQ = headK * nHead;
  const nKv = headK * nHeadKv;
  const nV = headV * nHeadKv;
  for (let i = 0; i < nLayer; i++) {
    const b = `blk.${i}`;
    expect(`${b}.attn_norm.weight`, [nEmbd]);
    if (!expect(`${b}.attn_qkv.weight`, [nEmbd, nQ + nKv + nV], false)) {
      expect(`${b}.attn_q.weight`, [nEmbd, nQ]);
      expect(`${b}.attn_k.weight`, [nEmbd, nKv]);
      expect(`${b}.attn_v.weight`, [nEmbd, nV]);
    }
    expect(`${b}.attn_output.weight`, [nQ, nEmbd]);
    expect(`${b}.ffn_norm.weight`, [nEmbd]);
    if (nExpert === 0) {
      expect(`${b}.ffn_gate.weight`, [nEmbd, nFf]);
      expect(`${b}.ffn_down.weight`, [nFf, nEmbd]);
      expect(`${b}.ffn_up.weight`, [nEmbd, nFf]);
    } else {
      expect(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert]);
      expect(`${b}.ffn_down_exps.weight`, [nFf, nEmbd, nExpert]);
      expect(`${b}.ffn_up_exps.weight`, [nEmbd, nFf, nExpert]);
    }
  }
  for (const t of info.tensors) {
    const blk = /^blk\.(\d+)\./.exec(t.name);
    if (blk && Number(blk[1]) >= nLayer) fail('BAD_TENSOR', `tensor '${t.name}' belongs to block ${blk[1]} but block_count is ${nLayer}`);
  }
}

function checkTokenizer(info: GgufInfo, fail: (code: GgufErrorReason, detail: string) => never, describeType: (k: string) => string): void {
  const m = info.metadata;
  const model = m.get('tokenizer.ggml.model');
  if (model === undefined) fail('BAD_METADATA', `missing required metadata key 'tokenizer.ggml.model' (the file has no tokenizer)`);
  if (typeof model !== 'string') fail('BAD_METADATA', `metadata key 'tokenizer.ggml.model' must be a string but is ${describeType('tokenizer.ggml.model')}`);
  if (!TOKENIZER_MODELS.has(model as string)) fail('BAD_METADATA', `unknown tokenizer model '${model}'`);
  if (model === 'none' || model === 'no_vocab') return;

  const tokens = m.get('tokenizer.ggml.tokens');
  if (tokens === undefined) fail('BAD_METADATA', `missing required metadata key 'tokenizer.ggml.tokens'`);
  const tt = info.metadataTypes.get('tokenizer.ggml.tokens')!;
  if (!Array.isArray(tokens) || tt.elementType !== GgufValueType.STRING) fail('BAD_METADATA', `metadata key 'tokenizer.ggml.tokens' must be an array of strings but is ${describeType('tokenizer.ggml.tokens')}`);
  const list = tokens as string[];
  if (list.length === 0) fail('BAD_METADATA', `tokenizer.ggml.tokens is empty`);
  if (list.length > 0x7fffffff) fail('BAD_METADATA', `tokenizer.ggml.tokens has too many entries`);
  // llama.cpp asserts that token texts are unique (empty ones become "[EMPTY_<id>]"); it would abort.
  const seen = new Map<string, number>();
  const tooLong = (s: string) => s.length > MAX_TOKEN_BYTES / 3 && Buffer.byteLength(s) > MAX_TOKEN_BYTES;
  for (let i = 0; i < list.length; i++) {
    if (tooLong(list[i]!)) fail('BAD_METADATA', `tokenizer.ggml.tokens: token ${i} is ${Buffer.byteLength(list[i]!)} bytes long; at most ${MAX_TOKEN_BYTES} are allowed`);
    const text = list[i] === '' ? `[EMPTY_${i}]` : list[i]!;
    if (text.includes('\ufffd')) continue; // not valid UTF-8: cannot compare the raw bytes here
    const prev = seen.get(text);
    if (prev !== undefined) fail('BAD_METADATA', `tokenizer.ggml.tokens has the token ${JSON.stringify(text)} twice (ids ${prev} and ${i}); llama.cpp would abort`);
    seen.set(text, i);
  }
  const covering = (key: string, allowed: GgufValueType[]) => {
    const t = info.metadataTypes.get(key);
    if (!t) return;
    if (t.type !== GgufValueType.ARRAY || !allowed.includes(t.elementType!)) {
      fail('BAD_METADATA', `metadata key '${key}' must be an array of ${allowed.map((x) => ggufTypeName(x)).join(' or ')} but is ${describeType(key)}`);
    }
    const n = (m.get(key) as unknown[]).length;
    if (n < list.length) fail('BAD_METADATA', `${key} has ${n} entries but there are ${list.length} tokens`);
  };
  covering('tokenizer.ggml.scores', [GgufValueType.FLOAT32, GgufValueType.INT32]);
  covering('tokenizer.ggml.token_type', [GgufValueType.INT32]);
  if (model === 'gpt2' || model === 'gemma4') {
    const t = info.metadataTypes.get('tokenizer.ggml.merges');
    if (!t && !(model === 'gpt2' && m.get('tokenizer.ggml.pre') === 'kimi-k2')) fail('BAD_METADATA', `missing metadata key 'tokenizer.ggml.merges' (a ${model} tokenizer needs its BPE merges)`);
    if (t && (t.type !== GgufValueType.ARRAY || t.elementType !== GgufValueType.STRING)) fail('BAD_METADATA', `metadata key 'tokenizer.ggml.merges' must be an array of strings but is ${describeType('tokenizer.ggml.merges')}`);
    const merges = (t ? m.get('tokenizer.ggml.merges') : []) as string[];
    const long = merges.findIndex(tooLong);
    if (long >= 0) fail('BAD_METADATA', `tokenizer.ggml.merges: merge ${long} is ${Buffer.byteLength(merges[long]!)} bytes long; at most ${MAX_TOKEN_BYTES} are allowed`);
  }
}


// ---------------------------------------------------------------------------------------------------
// modelIdentity
// ---------------------------------------------------------------------------------------------------

/** Size of each sampled tensor-data chunk in {@link modelIdentity}. */
export const IDENTITY_CHUNK = 64 * 1024;
/** Number of sampled chunks in {@link modelIdentity}. */
export const IDENTITY_SAMPLES = 16;

/**
 * A cheap content identity of a GGUF file: `'sha256:<hex>'`, computed without reading the whole file.
 *
 * Recipe (version 1; changing it changes every identity):
 *   sha256( "moodaxis-gguf-identity-v1\0"
 *         ‖ bytes [0, headerSize)                  header, all metadata, all tensor infos
 *         ‖ samples of the data section [dataOffset, fileSize):
 *             if it is at most 16 × 64 KiB long: all of it;
 *             else 16 chunks of 64 KiB starting at dataOffset + floor(i × (len − 64 KiB) / 15), i = 0..15
 *         ‖ fileSize as u64 little-endian )
 *
 * Two files with the same identity have the same metadata, tensor layout, size and sampled weights;
 * edits to weights between the samples go unnoticed (use a full sha256 for that). The file is validated
 * with {@link readGgufHeader} first, so the function throws a GgufError for anything that is not a GGUF.
 */
export async function modelIdentity(path: string, info?: GgufInfo): Promise<string> {
  const meta = info ?? (await readGgufHeader(path));
  const { fh, size } = await openModelFile(path);
  try {
    if (size !== meta.fileSize) throw ggufError('EIO', path, `the file changed size while being read (${meta.fileSize} → ${size} bytes)`);
    const hash = createHash('sha256');
    hash.update('moodaxis-gguf-identity-v1\0');
    const readRange = async (start: number, len: number) => {
      const buf = Buffer.allocUnsafe(Math.min(len, 4 << 20));
      for (let done = 0; done < len; ) {
        const want = Math.min(buf.length, len - done);
        const { bytesRead } = await fh.read(buf, 0, want, start + done);
        if (bytesRead === 0) throw ggufError('TRUNCATED', path, `truncated: could not read bytes ${start + done}..${start + len}`);
        hash.update(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    };
    await readRange(0, meta.headerSize);
    const dataLen = size - meta.dataOffset;
    if (dataLen <= IDENTITY_SAMPLES * IDENTITY_CHUNK) {
      await readRange(meta.dataOffset, dataLen);
    } else {
      for (let i = 0; i < IDENTITY_SAMPLES; i++) {
        const start = meta.dataOffset + Math.floor((i * (dataLen - IDENTITY_CHUNK)) / (IDENTITY_SAMPLES - 1));
        await readRange(start, IDENTITY_CHUNK);
      }
    }
    const sizeBuf = Buffer.alloc(8);
    sizeBuf.writeBigUInt64LE(BigInt(size));
    hash.update(sizeBuf);
    return `sha256:${hash.digest('hex')}`;
  } catch (err) {
    if (isGgufError(err)) throw err;
    throw fsError(err, path);
  } finally {
    await fh.close();
  }
}
