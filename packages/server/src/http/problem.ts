import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ProblemError } from '../services/problem.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  423: 'Locked',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem+json body (RFC 9457) with Registra's `code`. */
export function problemBody(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  return {
    type: `https://registra.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send(problemBody(status, code, detail, extra));
}

/** URLs the router cannot take (bad percent-encoding, an overlong path parameter). */
export function handleFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  sendProblem(reply, error.statusCode === 414 ? 414 : 400, 'INVALID_INPUT', error.message);
}

/** Connections answered 408 by handleClientError: their request, if Fastify had one, timed out. */
const timedOut = new WeakSet<Socket>();

/** Whether the request on this connection was cut off by the request timeout. */
export const wasTimedOut = (socket: Socket): boolean => timedOut.has(socket);

/**
 * Requests the HTTP parser refuses before Fastify sees them (oversized headers, malformed HTTP):
 * answered as problem+json too, then the connection is closed, as Node itself does.
 */
export function handleClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than allowed']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time']
        : [400, 'INVALID_INPUT', 'the request is not valid HTTP'];
  const body = JSON.stringify(problemBody(status, code, detail));
  if (status === 408) timedOut.add(socket);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n' +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * The caller hung up (or was cut off by the request timeout) before its body arrived in full:
 * reading the body failed with the request stream's own error. Its code, ECONNRESET, is also what
 * a lost database connection says, so this must be asked first.
 */
function isClientHangUp(error: unknown, request: FastifyRequest): boolean {
  const raw = request.raw;
  return error === raw.errored || (raw.readableAborted && !raw.complete);
}

/** Connection-level failures of PostgreSQL: the server's trouble, not the caller's. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = 'code' in error ? String(error.code) : '';
  const message = 'message' in error ? String(error.message) : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code) ||
    // SQLSTATE classes: 08 connection, 53 insufficient resources (disk full, out of memory, too
    // many connections), 57 operator intervention (shutdown), 40 rollbacks that retries did not cure.
    /^(08|53|57|40)[0-9A-Z]{3}$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/**
 * SQLSTATE class 22, data exception: a value from the request that PostgreSQL cannot take or
 * compare (a NUL character, a number or time out of range). The caller's mistake, not a defect.
 */
function isDataException(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    /^22[0-9A-Z]{3}$/.test(String(error.code))
  );
}

/**
 * Every error becomes problem+json: the caller's mistakes a 4xx saying what and where, a database
 * outage 503, and only a real defect 500 (logged with its stack, never shown).
 */
export function handleError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof ProblemError) {
    if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
    return sendProblem(reply, error.status, error.code, error.detail, error.extra);
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    const errors = error.validation.map((v) => ({
      path: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message,
    }));
    return sendProblem(reply, 400, 'INVALID_INPUT', `the ${where} is not valid`, { errors });
  }
  if (isClientHangUp(error, request)) {
    // Nobody is left to answer (a timed-out request was already answered 408 on its socket).
    // The metrics count both in onRequestAbort (app.ts); this is what the log says.
    if (timedOut.has(request.raw.socket)) {
      request.log.info('the request did not arrive in time: answered 408 and closed');
      return sendProblem(reply, 408, 'REQUEST_TIMEOUT', 'the request did not arrive in time');
    }
    request.log.info('the client closed the connection before its request arrived in full');
    return sendProblem(
      reply,
      499,
      'CLIENT_CLOSED_REQUEST',
      'the connection was closed before the request arrived in full',
    );
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: { message: error.message, code: error.code } }, 'database unavailable');
    reply.header('retry-after', '5');
    return sendProblem(
      reply,
      503,
      'SERVICE_UNAVAILABLE',
      'the database is unavailable; try again shortly',
    );
  }
  if (isDataException(error)) {
    return sendProblem(
      reply,
      400,
      'INVALID_INPUT',
      'the request holds a value that cannot be stored or compared (a NUL character, a number or time out of range)',
    );
  }
  // Fastify's own errors (a body over the limit: 413) are RangeErrors with a status: keep it.
  if ((error instanceof RangeError || error instanceof SyntaxError) && !error.statusCode) {
    return sendProblem(reply, 400, 'INVALID_INPUT', 'the body could not be read');
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code =
      status === 413
        ? 'PAYLOAD_TOO_LARGE'
        : status === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : status === 404
            ? 'NOT_FOUND'
            : 'INVALID_INPUT';
    return sendProblem(reply, status, code, error.message);
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(reply, 500, 'INTERNAL', 'the server failed; the failure was logged');
}
