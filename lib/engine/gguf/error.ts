/** The one error the GGUF reader and validator throw: a MoodaxisError (BAD_INPUT) with the file and reason. */
import { basename } from 'node:path';
import { MoodaxisError } from '../errors.js';

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
