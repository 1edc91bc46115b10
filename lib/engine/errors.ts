/**
 * Errors that cross the library boundary. `code` tells callers (and the CLI's exit status) what kind
 * of failure it was: bad input from the user (exit 2), not enough resources, cancelled, or internal.
 */
export type ErrorCode = 'BAD_INPUT' | 'RESOURCE' | 'CANCELLED' | 'NATIVE' | 'INTERNAL';

export class MoodaxisError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MoodaxisError';
    this.code = code;
  }
}

export const badInput = (message: string, cause?: unknown) => new MoodaxisError('BAD_INPUT', message, { cause });

/** The code of any error thrown by this package (errors of our modules carry a code; others are internal). */
export function errorCode(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'BAD_INPUT' || code === 'RESOURCE' || code === 'CANCELLED' || code === 'NATIVE') return code;
  if (typeof code === 'string' && code.length > 0 && (error as { name?: string }).name === 'GgufError') return 'BAD_INPUT';
  return 'INTERNAL';
}
