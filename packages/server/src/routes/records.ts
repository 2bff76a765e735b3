import {
  EntrySchema,
  normaliseTrackingId,
  RecordStateSchema,
  RecordStatusSchema,
  RecordTypeIdSchema,
} from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { getRecord, searchRecords } from '../services/records.js';

export const ListQuerySchema = z.strictObject({
  type: RecordTypeIdSchema.optional(),
  status: RecordStatusSchema.optional(),
  flag: z.string().min(1).max(64).optional(),
  q: z.string().trim().min(1).max(100).optional(),
  trackingId: z.string().min(1).max(32).transform(normaliseTrackingId).optional(),
  registrationNumber: z.string().min(1).max(64).optional(),
  location: z.string().min(1).max(64).optional(),
  assignedTo: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().min(1).max(200).optional(),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

export function recordRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/records/:id',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'A record: its folded state and its log, in pages of at most 4 MiB',
          tags: ['records'],
          params: z.strictObject({ id: z.uuid() }),
          querystring: z.strictObject({
            entriesAfter: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
          }),
          response: {
            200: z.object({
              record: RecordStateSchema,
              entries: z.array(EntrySchema),
              hasMoreEntries: z.boolean(),
            }),
          },
        },
      },
      (request) =>
        getRecord(registry, callerOf(request), request.params.id, request.query.entriesAfter),
    );

    app.get(
      '/api/v1/records',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'Search and work queues, in keyset pages',
          tags: ['records'],
          querystring: ListQuerySchema,
          response: {
            200: z.object({ results: z.array(RecordStateSchema), next: z.string().nullable() }),
          },
        },
      },
      (request) => searchRecords(registry, callerOf(request), request.query),
    );
  };
}
