import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TranslationsSchema } from '@registra/core';
import { z } from 'zod';
import { authenticate, callerOf, requirePermission } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { deliveries, MANAGE_HOOKS, retryDelivery } from '../services/hooks/deliveries.js';

const DeliverySchema = z.object({
  id: z.string(),
  hook: z.string(),
  /** The hook's name as people read it, and its translations by language. */
  hookLabel: z.string(),
  hookTranslations: TranslationsSchema.nullable(),
  recordId: z.string(),
  /** The record's tracking id and type, so that a person can tell which record it is. */
  trackingId: z.string().nullable(),
  recordType: z.string().nullable(),
  entryId: z.string(),
  state: z.enum(['pending', 'failing', 'done']),
  outcome: z.string().nullable(),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
});

/** PROTOCOL 8: the deliveries to hooks, for administrators. */
export function hookRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', authenticate(auth));
    app.addHook('onRequest', async (request) =>
      requirePermission(registry, callerOf(request), MANAGE_HOOKS),
    );

    app.get(
      '/api/v1/hooks/deliveries',
      {
        schema: {
          summary: 'Deliveries to hooks, newest first; `failing`: not done, at least one failure',
          tags: ['hooks'],
          querystring: z.strictObject({
            hook: z.string().max(64).optional(),
            state: z.enum(['pending', 'failing', 'done']).optional(),
            recordId: z.uuid().optional(),
            after: z.uuid().optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
          }),
          response: {
            200: z.object({ results: z.array(DeliverySchema), next: z.string().nullable() }),
          },
        },
      },
      (request) => deliveries(registry, request.query),
    );

    app.post(
      '/api/v1/hooks/deliveries/:id/retry',
      {
        schema: {
          summary: 'Retry a pending delivery now',
          tags: ['hooks'],
          params: z.strictObject({ id: z.uuid() }),
          response: { 202: z.object({ id: z.string() }) },
        },
      },
      async (request, reply) => {
        await retryDelivery(registry, request.params.id);
        return reply.code(202).send({ id: request.params.id });
      },
    );
  };
}
