import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServerRequest } from 'srvx';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import { isDatabaseUnavailable, problemBody } from '../http/problem.js';
import type { AuthService } from '../services/auth.js';
import type { Caller, Registry } from '../services/context.js';
import { readableFile } from '../services/files/read.js';
import type { FileStorage } from '../services/files/storage.js';
import { createUploadServer, UPLOADS_PATH } from '../services/files/uploads.js';
import { ProblemError } from '../services/problem.js';

const Sha256Params = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in lowercase hex'),
});

/** Codes of tus's own error answers, by status (tus writes plain text; PROTOCOL 1 wants problems). */
const TUS_CODES: Record<number, string> = {
  400: 'INVALID_INPUT',
  403: 'INVALID_INPUT',
  404: 'NOT_FOUND',
  409: 'UPLOAD_OFFSET_CONFLICT',
  410: 'UPLOAD_EXPIRED',
  412: 'INVALID_INPUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  423: 'UPLOAD_LOCKED',
  460: 'HASH_MISMATCH',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * PROTOCOL 9 over HTTP: tus 1.0 uploads at /api/v1/files/uploads (@tus/server, behind the same
 * authentication as every protected route), and HEAD/GET /api/v1/files/{sha256} with the read
 * rule. Files are content-addressed, so an answer never changes: it is cached for good, and a
 * Range is honoured so that a download broken on a poor link resumes.
 */
export function fileRoutes(
  registry: Registry,
  auth: AuthService,
  storage: FileStorage,
): FastifyPluginAsyncZod {
  return async (app) => {
    const callers = new WeakMap<object, Caller>();
    const fileRecords = new WeakMap<FastifyRequest, string[]>();
    const tus = createUploadServer({
      registry,
      storage,
      callerOf: (request) => {
        const raw = (request as unknown as ServerRequest).runtime?.node?.req;
        const caller = raw && callers.get(raw);
        if (!caller) throw new Error('a tus request without an authenticated caller');
        return caller;
      },
      answerError: (error) => {
        if (!(error instanceof Error) || 'status_code' in error) return undefined;
        const response = problemResponse(error, app.log);
        return { status_code: response.status, body: response.body };
      },
    });

    // tus reads PATCH bodies itself, as they arrive: Fastify must leave them alone.
    app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) =>
      done(null),
    );

    const upload = {
      onRequest: authenticate(auth),
      compress: false as const,
      schema: {
        summary:
          'tus 1.0 resumable uploads (creation, Upload-Offset resume); Upload-Metadata: sha256, name, type, [recordType, field]',
        tags: ['files'],
      },
    };
    const handle = async (request: FastifyRequest, reply: FastifyReply) => {
      callers.set(request.raw, callerOf(request));
      reply.hijack();
      const web = new NodeRequest({ req: request.raw, res: reply.raw });
      let response: Response;
      try {
        response = await tus.handleWeb(web as unknown as Request);
      } catch (error) {
        const answer = problemResponse(error, request.log);
        response = new Response(answer.body, { status: answer.status });
      }
      await sendNodeResponse(reply.raw, await asProblem(response, request.log));
    };
    for (const url of [UPLOADS_PATH, `${UPLOADS_PATH}/:uploadId`]) {
      app.route({
        method: ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
        url,
        ...upload,
        handler: handle,
      });
    }

    app.head(
      '/api/v1/files/:sha256',
      {
        onRequest: authenticate(auth),
        schema: {
          summary:
            'Whether the caller may read this file (uploaded it, or sees a record naming it)',
          tags: ['files'],
          params: Sha256Params,
        },
      },
      async (request, reply) => {
        const { file } = await readableFile(registry, callerOf(request), request.params.sha256);
        fileHeaders(reply, request.params.sha256, file);
        return reply.header('content-length', String(file.size)).send();
      },
    );

    app.get(
      '/api/v1/files/:sha256',
      {
        onRequest: authenticate(auth),
        exposeHeadRoute: false,
        compress: false,
        // A file's bytes are part of the records that name it (read audit, PROTOCOL 13).
        config: {
          audit: { kind: 'read', records: (request) => fileRecords.get(request) ?? [] },
        },
        schema: {
          summary: 'The bytes of a file the caller may read (ETag: the hash; Range honoured)',
          tags: ['files'],
          params: Sha256Params,
        },
      },
      async (request, reply) => {
        const { sha256 } = request.params;
        const { file, recordIds } = await readableFile(registry, callerOf(request), sha256);
        fileRecords.set(request, recordIds);
        fileHeaders(reply, sha256, file);
        if (request.headers['if-none-match']?.includes(`"${sha256}"`))
          return reply.code(304).send();
        const range = byteRange(request.headers.range, file.size);
        if (range === 'unsatisfiable') {
          return reply
            .code(416)
            .header('content-range', `bytes */${file.size}`)
            .type('application/problem+json')
            .send(problemBody(416, 'RANGE_NOT_SATISFIABLE', 'the range is outside the file'));
        }
        const bytes = await storage.read(sha256, range ?? undefined);
        if (range) {
          reply
            .code(206)
            .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
            .header('content-length', String(range.end - range.start + 1));
        } else {
          reply.header('content-length', String(file.size));
        }
        return reply.send(bytes);
      },
    );
  };
}

function fileHeaders(reply: FastifyReply, sha256: string, file: { type: string }): void {
  reply
    .header('content-type', file.type)
    .header('etag', `"${sha256}"`)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=31536000, immutable')
    // The bytes are the uploader's: never run anything they hold, even if opened directly.
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('content-disposition', file.type.startsWith('image/') ? 'inline' : 'attachment');
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null for none or one not understood. */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const match = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

type Log = {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
};

/** tus answers an error in plain text (or our hooks' ProblemError as thrown): make it a problem. */
async function asProblem(response: Response, log: Log): Promise<Response> {
  if (response.status < 400) return response;
  const text = await response.text();
  const code =
    TUS_CODES[response.status] ?? (response.status >= 500 ? 'INTERNAL' : 'INVALID_INPUT');
  let body: string;
  try {
    const parsed = JSON.parse(text) as { code?: unknown };
    body = typeof parsed.code === 'string' ? text : '';
  } catch {
    body = '';
  }
  if (!body) {
    if (response.status >= 500) log.error({ detail: text }, 'upload failed');
    const detail =
      response.status >= 500 ? 'the upload failed on the server; try again' : text.trim();
    body = JSON.stringify(problemBody(response.status, code, detail || 'the upload was refused'));
  }
  const headers = new Headers(response.headers);
  headers.set('content-type', 'application/problem+json; charset=utf-8');
  headers.set('content-length', String(Buffer.byteLength(body)));
  return new Response(body, { status: response.status, headers });
}

/** What a hook threw, as tus passes it on: our ProblemErrors keep their status and code. */
function problemResponse(error: unknown, log: Log): { status: number; body: string } {
  if (error instanceof ProblemError) {
    const body = problemBody(error.status, error.code, error.detail, error.extra);
    return { status: error.status, body: JSON.stringify(body) };
  }
  if (isDatabaseUnavailable(error)) {
    log.warn({ err: error }, 'database unavailable');
    const detail = 'the database is unavailable; try again shortly';
    return { status: 503, body: JSON.stringify(problemBody(503, 'SERVICE_UNAVAILABLE', detail)) };
  }
  log.error({ err: error }, 'unexpected error in an upload');
  return { status: 500, body: '' };
}
