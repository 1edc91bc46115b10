/** The one error the GGUF reader and validator throw. */
import { basename } from 'node:path';

/** Error codes of {@link GgufError}. */
export type GgufErrorCode =
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

/** A file that must not be handed to llama.cpp. `message` starts with the file's name. */
export class GgufError extends Error {
  override readonly name = 'GgufError';
  /** The path as given by the caller. */
  readonly path: string;
  /** What is wrong, without the file name. */
  readonly detail: string;

  constructor(
    readonly code: GgufErrorCode,
    path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${basename(path) || path}: ${detail}`, options);
    this.path = path;
    this.detail = detail;
  }
}
