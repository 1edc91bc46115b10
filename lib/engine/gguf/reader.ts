/**
 * GGUF reader, in pure TypeScript.
 *
 * llama.cpp aborts the whole process (GGML_ASSERT) on some malformed or hostile files instead of
 * returning an error, so every model goes through {@link readGgufHeader} (file layout) and
 * validateForLlama (validate.ts: what llama.cpp's loader needs) before it is handed to the native addon.
 *
 * The reader reads the file incrementally through a FileHandle: header, every metadata key/value and
 * every tensor info, never the tensor data. All lengths and counts are checked against the file size
 * before anything is allocated. The layout is described in format.ts.
 */
import { ggufError, isGgufError, type GgufErrorReason } from './error.js';
import { Cursor, fsError, openModelFile, toNumberOrBig } from './file.js';
import { GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_TENSOR_NAME, GGUF_VALUE_TYPE_SIZE, GgufValueType, ggufTypeName, type GgmlTypeInfo } from './format.js';
import {
  MAX_ARRAY_ELEMENTS,
  MAX_KEY_BYTES,
  MAX_KVS,
  MAX_METADATA_ELEMENTS,
  MAX_METADATA_STRING_BYTES,
  MAX_STRING_BYTES,
  MAX_TENSORS,
} from './limits.js';
import type { GgufInfo, GgufKvType, GgufScalar, GgufTensorInfo, GgufValue } from './types.js';

const MIN_KV_BYTES = 8 + 1 + 4 + 1; // key length, 1-byte key, type, 1-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8; // name length, 1-byte name, n_dims, one dim, type, offset
const HEADER_BYTES = 4 + 4 + 8 + 8;

function showMagic(b: Buffer): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `"${s}"`;
}

const LEGACY_MAGIC: Record<string, string> = {
  lmgg: 'legacy GGML', fmgg: 'legacy GGMF', tjgg: 'legacy GGJT', ggml: 'legacy GGML', ggjt: 'legacy GGJT',
};

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
