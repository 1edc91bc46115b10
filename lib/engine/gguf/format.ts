/**
 * GGUF format constants: metadata value types, ggml tensor types and their block sizes, alignment,
 * and the llama.cpp limits that abort the process when a file exceeds them.
 *
 * Format (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 KV count, KVs
 * (string key, u32 value type, value), tensor infos (string name, u32 n_dims, u64 ne[n_dims],
 * u32 ggml type, u64 offset relative to the data section), padding to `general.alignment` (default 32),
 * tensor data. Strings are a u64 byte length followed by UTF-8 bytes (no terminator); arrays are
 * u32 element type, u64 count, elements.
 */

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
