import { RecordStateSchema, RecordTypeIdSchema } from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import { readsFor } from '../http/replica-reads.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { queueCounts, queuePage } from '../services/workqueues.js';

export function workqueueRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/workqueues',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: "The caller's work queues (configured per role) with their counts",
          tags: ['records'],
          response: {
            200: z.object({
              queues: z.array(z.object({ id: z.string(), count: z.int(), more: z.boolean() })),
            }),
          },
        },
      },
      async (request) => ({
        queues: await queueCounts(await readsFor(registry, request), callerOf(request)),
      }),
    );

    app.get(
      '/api/v1/workqueues/:id',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'One work queue, in keyset pages',
          tags: ['records'],
          params: z.strictObject({ id: z.string().min(1).max(64) }),
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(200).default(50),
            after: z.string().min(1).max(200).optional(),
            sort: z.enum(['-updatedAt', 'updatedAt']).optional(),
            type: RecordTypeIdSchema.optional(),
          }),
          response: {
            200: z.object({ results: z.array(RecordStateSchema), next: z.string().nullable() }),
          },
        },
      },
      async (request) =>
        queuePage(
          await readsFor(registry, request),
          callerOf(request),
          request.params.id,
          request.query,
        ),
    );
  };
}
