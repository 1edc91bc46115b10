/**
 * The one error class of moodaxis. `code` tells callers (and the CLI's exit status) what kind of
 * failure it was: bad input from the user (exit 2), not enough resources, cancelled, a native failure,
 * or internal. Errors about a file name it first in `message` and carry it in `file`; the optional
 * fields say more where a caller can use it (which field of a document, every problem of an axis-set
 * file, what is wrong with a GGUF file and how).
 */
export type ErrorCode = 'BAD_INPUT' | 'RESOURCE' | 'CANCELLED' | 'NATIVE' | 'INTERNAL';

export interface ErrorDetails {
  cause?: unknown;
  /** The file (or other source name) the problem is in. */
  file?: string;
  /** The offending field of a document, e.g. `axes[2].scores` ('' for the whole document). */
  field?: string;
  /** One line per problem (`file: field: message`), when there are several (axis-set and scenario files). */
  issues?: string[];
  /** What is wrong, without the file name. */
  detail?: string;
  /** A finer kind of the failure, e.g. a GGUF file's problem: 'ENOENT', 'BAD_MAGIC', 'TRUNCATED', … */
  reason?: string;
}

export class MoodaxisError extends Error {
  readonly code: ErrorCode;
  declare readonly file?: string;
  declare readonly field?: string;
  declare readonly issues?: string[];
  declare readonly detail?: string;
  declare readonly reason?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MoodaxisError';
    this.code = code;
    for (const key of ['file', 'field', 'issues', 'detail', 'reason'] as const) if (details[key] !== undefined) Object.defineProperty(this, key, { value: details[key], enumerable: true });
  }
}

/** A BAD_INPUT error: input from the user that cannot be used (the CLI exits 2). */
export const badInput = (message: string, details?: ErrorDetails) => new MoodaxisError('BAD_INPUT', message, details);

/** The code of any error thrown by this package (errors of our modules carry a code; others are internal). */
export function errorCode(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'BAD_INPUT' || code === 'RESOURCE' || code === 'CANCELLED' || code === 'NATIVE') return code;
  return 'INTERNAL';
}
