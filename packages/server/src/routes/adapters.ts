import { AdapterStatusSchema } from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf, requirePermission } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { adapterStatuses, MANAGE_ADAPTERS, runAdapterNow } from '../services/adapters/index.js';

/** Issue 16: the adapters in and out, their status, last run, lag and errors, for administrators. */
export function adapterRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', authenticate(auth));
    app.addHook('onRequest', async (request) =>
      requirePermission(registry, callerOf(request), MANAGE_ADAPTERS),
    );

    app.get(
      '/api/v1/adapters',
      {
        schema: {
          summary: 'The adapters in and out, each with its status, last run, lag and errors',
          tags: ['adapters'],
          response: { 200: z.object({ results: z.array(AdapterStatusSchema) }) },
        },
      },
      async () => ({ results: await adapterStatuses(registry) }),
    );

    app.post(
      '/api/v1/adapters/:id/run',
      {
        schema: {
          summary: 'Run an adapter in now, from its checkpoint',
          tags: ['adapters'],
          params: z.strictObject({ id: z.string().max(64) }),
          response: { 202: z.object({ id: z.string() }) },
        },
      },
      async (request, reply) => {
        await runAdapterNow(registry, request.params.id);
        return reply.code(202).send({ id: request.params.id });
      },
    );
  };
}
