import { RecordTypeIdSchema } from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Caller, Registry } from '../services/context.js';
import {
  approveImport,
  importErrorsCsv,
  importStatus,
  prepareImport,
  storedImport,
  runImport,
  type ImportStatus,
} from '../services/imports/index.js';
import {
  forbidden,
  importRunning,
  notFound,
  payloadTooLarge,
  unsupportedMediaType,
} from '../services/problem.js';

const StatusSchema = z.object({
  id: z.string(),
  recordType: z.string(),
  source: z.string(),
  format: z.enum(['csv', 'jsonl']),
  state: z.enum(['waiting', 'running', 'done', 'failed']),
  createdBy: z.string(),
  occurredAt: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  bytesTotal: z.number().nullable(),
  bytesDone: z.number(),
  rowsDone: z.number(),
  rowsImported: z.number(),
  rowsRequested: z.number(),
  rowsAlready: z.number(),
  rowsFailed: z.number(),
  rowsPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  message: z.string().nullable(),
});

/** The media types of an import's rows, by format. */
const MEDIA_TYPES = { csv: 'text/csv', jsonl: 'application/x-ndjson' } as const;

/**
 * Bulk import over HTTP: create the import (record type, source name, format, mapping), then PUT
 * its rows as the body (streamed to a temporary file, never held in memory), then follow its
 * progress and download its errors by row. It runs as the caller, through the same append path as
 * a device's sync; an import of the same source again is a re-run that lands nothing twice.
 */
/** The most an upload of rows may hold; larger sources go through `registra import`. */
const MAX_UPLOAD_BYTES = 1024 ** 3;
const tooLarge = () =>
  payloadTooLarge(
    `an import's rows sent over HTTP hold at most ${MAX_UPLOAD_BYTES} bytes; import larger files with registra import`,
  );

export function importRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', authenticate(auth));
    // The rows are read as a stream by the route itself.
    app.addContentTypeParser(
      [MEDIA_TYPES.csv, MEDIA_TYPES.jsonl, 'application/jsonl'],
      (_request, payload, done) => done(null, payload),
    );

    /** An import the caller may see: the one who made it, or anyone who reads its record type. */
    const visible = async (caller: Caller, id: string) => {
      const row = await storedImport(registry, id);
      if (!row) throw notFound('no such import');
      const read = registry.config.recordTypes.get(row.recordType)?.readPermission;
      const reads = read !== undefined && caller.principal.grants[read] !== undefined;
      if (row.createdBy !== caller.user.id && !reads) throw notFound('no such import');
      return row;
    };

    app.post(
      '/api/v1/imports',
      {
        schema: {
          summary:
            'Create a bulk import: its record type, source, format and mapping; then PUT its rows',
          tags: ['imports'],
          body: z.strictObject({
            recordType: RecordTypeIdSchema,
            source: z.string().trim().min(1).max(200),
            format: z.enum(['csv', 'jsonl']),
            mapping: z.record(z.string(), z.unknown()),
          }),
          response: { 201: StatusSchema },
        },
      },
      async (request, reply) => {
        const prepared = await prepareImport(registry, callerOf(request), request.body, 'waiting');
        return reply.code(201).send(await importStatus(registry, prepared.row.id));
      },
    );

    app.put(
      '/api/v1/imports/:id/rows',
      {
        schema: {
          summary:
            'The rows of an import (text/csv or application/x-ndjson), streamed; runs it and answers 202',
          tags: ['imports'],
          params: z.strictObject({ id: z.uuid() }),
          response: { 202: StatusSchema },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const row = await visible(caller, request.params.id);
        if (row.createdBy !== caller.user.id) {
          throw forbidden('only the one who created the import sends its rows');
        }
        if (row.state === 'running') throw importRunning();
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim();
        const expected = MEDIA_TYPES[row.format];
        if (type !== expected && !(row.format === 'jsonl' && type === 'application/jsonl')) {
          throw unsupportedMediaType(`send the rows as ${expected}`);
        }
        const dir = await mkdtemp(path.join(tmpdir(), 'registra-import-'));
        const file = path.join(dir, 'rows');
        let bytes = 0;
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, next) {
            bytes += chunk.length;
            next(bytes > MAX_UPLOAD_BYTES ? tooLarge() : null, chunk);
          },
        });
        try {
          await pipeline(request.body as Readable, counted, createWriteStream(file));
        } catch (error) {
          await rm(dir, { recursive: true, force: true });
          throw error;
        }
        const prepared = await prepareImport(registry, caller, {
          recordType: row.recordType,
          source: row.source,
          format: row.format,
          mapping: row.mapping,
          bytesTotal: bytes,
        });
        void runImport(registry, caller, prepared, createReadStream(file))
          .catch((error: unknown) =>
            request.log.warn({ err: error, importId: row.id }, 'import stopped'),
          )
          .finally(() => rm(dir, { recursive: true, force: true }));
        return reply.code(202).send(await importStatus(registry, row.id));
      },
    );

    app.get(
      '/api/v1/imports/:id',
      {
        schema: {
          summary: 'An import: its state, counts, rate (rows/s) and ETA',
          tags: ['imports'],
          params: z.strictObject({ id: z.uuid() }),
          response: { 200: StatusSchema },
        },
      },
      async (request): Promise<ImportStatus> => {
        await visible(callerOf(request), request.params.id);
        return importStatus(registry, request.params.id);
      },
    );

    app.get(
      '/api/v1/imports/:id/errors',
      {
        schema: {
          summary: 'The rows of an import that did not land, as CSV: row, key, field, message',
          tags: ['imports'],
          params: z.strictObject({ id: z.uuid() }),
        },
      },
      async (request, reply) => {
        await visible(callerOf(request), request.params.id);
        return reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="import-${request.params.id}-errors.csv"`,
          )
          .send(Readable.from(importErrorsCsv(registry, request.params.id)));
      },
    );

    app.post(
      '/api/v1/imports/:id/approve',
      {
        schema: {
          summary:
            'Approve every row of an import waiting for approval (maker-checker, PROTOCOL 3.4)',
          tags: ['imports'],
          params: z.strictObject({ id: z.uuid() }),
          response: {
            200: z.object({
              approved: z.number(),
              notApproved: z.array(
                z.object({
                  id: z.string(),
                  code: z.string().nullable(),
                  message: z.string().nullable(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        await visible(caller, request.params.id);
        const { approved, rejected } = await approveImport(registry, caller, request.params.id);
        return {
          approved,
          notApproved: rejected.map((r) => ({ id: r.id, code: r.code, message: r.message })),
        };
      },
    );
  };
}
