import {
  EntrySchema,
  normaliseTrackingId,
  RecordStateSchema,
  RecordStatusSchema,
  RecordTypeIdSchema,
} from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf, requirePermission } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { getChain, getRecord, queryForAudit, searchRecords } from '../services/records.js';
import { eraseRecord } from '../services/vault/erasure.js';
import { recordReads } from '../services/read-audit.js';
import type { AuditSpec } from '../http/read-audit.js';
import { readsFor } from '../http/replica-reads.js';
import { MANAGE_USERS } from '../services/users.js';

/** `field.<id>` query keys: an identifier field's exact value (PROTOCOL 10). */
const FIELD_KEY = /^field\.([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*)$/;

const LIST_SHAPE = {
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
};

export const ListQuerySchema = z
  .object(LIST_SHAPE)
  .catchall(z.string().trim().min(1).max(200))
  .superRefine((query, ctx) => {
    for (const key of Object.keys(query)) {
      if (!Object.hasOwn(LIST_SHAPE, key) && !FIELD_KEY.test(key)) {
        ctx.addIssue({ code: 'custom', path: [], message: `"${key}" is not a search parameter` });
      }
    }
  });
export type ListQuery = z.infer<typeof ListQuerySchema>;

/** The `field.<id>` parameters of a list query, by field id. */
export function identifierFields(query: Record<string, unknown>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const match = FIELD_KEY.exec(key);
    if (match && typeof value === 'string') fields[match[1] as string] = value;
  }
  return fields;
}
/** Reads of one record, by the id in the path. */
const READ: AuditSpec = {
  kind: 'read',
  records: (request) => [(request.params as { id: string }).id],
};

/**
 * A search: every record of the page it answered, and what was asked, a sensitive identifier by
 * its blind index (PROTOCOL 13).
 */
const searchAudit = (registry: Registry): AuditSpec => ({
  kind: 'search',
  records: (_request, payload) =>
    ((payload as { results?: { id: string }[] } | undefined)?.results ?? []).map((r) => r.id),
  query: (request) => queryForAudit(registry, request.query as Record<string, unknown>),
});

/** A page of a record's log: the entries after this seq. */
const EntriesPageSchema = z.strictObject({
  entriesAfter: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
});

export function recordRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/records/:id',
      {
        onRequest: authenticate(auth),
        config: { audit: READ },
        schema: {
          summary: 'A record: its folded state and its log, in pages of at most 4 MiB',
          tags: ['records'],
          params: z.strictObject({ id: z.uuid() }),
          querystring: EntriesPageSchema,
          response: {
            200: z.object({
              record: RecordStateSchema,
              entries: z.array(EntrySchema),
              hasMoreEntries: z.boolean(),
            }),
          },
        },
      },
      async (request) =>
        getRecord(
          await readsFor(registry, request),
          callerOf(request),
          request.params.id,
          request.query.entriesAfter,
        ),
    );

    app.get(
      '/api/v1/records/:id/chain',
      {
        config: { audit: READ },
        onRequest: [
          authenticate(auth),
          async (request) => requirePermission(registry, callerOf(request), MANAGE_USERS),
        ],
        schema: {
          summary: 'A record’s log exactly as stored, with its hash chain (administrators)',
          tags: ['records'],
          params: z.strictObject({ id: z.uuid() }),
          querystring: EntriesPageSchema,
          response: {
            200: z.object({
              entries: z.array(
                EntrySchema.extend({
                  hash: z.string().nullable(),
                  prevHash: z.string().nullable(),
                }),
              ),
              hasMoreEntries: z.boolean(),
            }),
          },
        },
      },
      (request) => getChain(registry, request.params.id, request.query.entriesAfter),
    );

    app.post(
      '/api/v1/records/:id/erase',
      {
        onRequest: [
          authenticate(auth),
          async (request) => requirePermission(registry, callerOf(request), MANAGE_USERS),
        ],
        schema: {
          summary:
            'Erase a record’s sensitive fields by destroying its data key (administrators; recorded with who and when)',
          tags: ['records'],
          params: z.strictObject({ id: z.uuid() }),
          response: {
            200: z.object({
              recordId: z.uuid(),
              erasedAt: z.string(),
              erasedBy: z.string(),
              erasedNow: z.boolean(),
            }),
          },
        },
      },
      (request) => eraseRecord(registry, request.params.id, callerOf(request).user.id),
    );

    app.get(
      '/api/v1/records/:id/audit',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'Who read a record (administrators; registrars in jurisdiction)',
          tags: ['records'],
          params: z.strictObject({ id: z.uuid() }),
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(200).default(50),
            after: z
              .string()
              .regex(/^[0-9]{1,19}$/)
              .optional(),
          }),
          response: {
            200: z.object({
              results: z.array(
                z.object({
                  at: z.string(),
                  userId: z.string(),
                  role: z.string(),
                  route: z.string(),
                  kind: z.enum(['read', 'search', 'export']),
                }),
              ),
              next: z.string().nullable(),
            }),
          },
        },
      },
      (request) =>
        recordReads(
          registry,
          callerOf(request),
          request.params.id,
          request.query.limit,
          request.query.after,
        ),
    );

    app.get(
      '/api/v1/records',
      {
        onRequest: authenticate(auth),
        config: { audit: searchAudit(registry) },
        schema: {
          summary: 'Search and work queues, in keyset pages',
          tags: ['records'],
          querystring: ListQuerySchema,
          response: {
            200: z.object({ results: z.array(RecordStateSchema), next: z.string().nullable() }),
          },
        },
      },
      async (request) =>
        searchRecords(await readsFor(registry, request), callerOf(request), {
          ...request.query,
          fields: identifierFields(request.query),
        }),
    );
  };
}
