/** What the reader returns: metadata values with their stored types, tensor infos, the file layout. */
import type { GgufValueType } from './format.js';

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
