import type { FieldError } from '@registra/core';

/**
 * An error that is the caller's to fix, answered as RFC 9457 problem+json. Services throw it; the
 * HTTP layer turns it into the response. Anything else thrown is the server's own failure.
 * `retryAfter` (seconds) becomes the Retry-After header of a 429 or 503.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[] } & Record<string, unknown> = {},
    readonly retryAfter?: number,
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

export const invalidInput = (detail: string, errors?: FieldError[]) =>
  new ProblemError(400, 'INVALID_INPUT', detail, errors ? { errors } : {});
export const notFound = (detail = 'not found') => new ProblemError(404, 'NOT_FOUND', detail);
export const forbidden = (detail: string) => new ProblemError(403, 'FORBIDDEN', detail);
export const unauthorized = (code: string, detail: string) => new ProblemError(401, code, detail);
export const tooManyAttempts = (
  retryAfter: number,
  what = 'too many failed logins for this username or from this address',
) => new ProblemError(429, 'TOO_MANY_ATTEMPTS', `${what}; try again later`, {}, retryAfter);
export const payloadTooLarge = (detail: string) =>
  new ProblemError(413, 'PAYLOAD_TOO_LARGE', detail);
export const unsupportedMediaType = (detail: string) =>
  new ProblemError(415, 'UNSUPPORTED_MEDIA_TYPE', detail);
/** PROTOCOL 9: an upload whose bytes do not hash to the SHA-256 it declared. */
export const hashMismatch = (detail: string) => new ProblemError(400, 'HASH_MISMATCH', detail);
/** Issue 16: an adapter that cannot be run now (an adapter out, or one whose address is unset). */
export const adapterNotRunnable = (detail: string) =>
  new ProblemError(409, 'ADAPTER_NOT_RUNNABLE', detail);
/** A bulk import's rows sent again while it still runs (services/imports). */
export const importRunning = () =>
  new ProblemError(
    409,
    'IMPORT_RUNNING',
    'this import is running; wait until it is done or failed',
  );

/**
 * A DCI request refused before its message is read (issue 16): the problem+json, whose `errors`
 * also carry the standard's error code (`err.signature.invalid`, …) so that it reads as the
 * standard's HttpErrorResponse too.
 */
export function dciProblem(
  status: number,
  code: string,
  dciCode: string,
  path: string,
  detail: string,
): ProblemError {
  const errors = [{ path, message: detail, code: dciCode }];
  return new ProblemError(status, code, detail, { errors });
}
