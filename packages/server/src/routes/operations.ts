import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { authenticate } from '../http/authenticate.js';
import type { Metrics } from '../http/metrics.js';
import { sendProblem } from '../http/problem.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';

export function operationRoutes(
  registry: Registry,
  auth: AuthService,
  metrics: Metrics,
): FastifyPluginAsyncZod {
  // Devices get the configuration as it behaves here, without the hooks (PROTOCOL 8).
  const configBody = JSON.stringify(registry.config.clientDocument);
  const etag = `"${createHash('sha256').update(configBody).digest('base64url').slice(0, 27)}"`;

  return async (app) => {
    app.get(
      '/api/v1/health',
      {
        schema: {
          summary: 'Whether the API and its database answer',
          tags: ['operations'],
          response: { 200: z.object({ status: z.literal('ok'), version: z.string() }) },
        },
      },
      async (_request, reply) => {
        try {
          await sql`SELECT 1`.execute(registry.db);
        } catch {
          return sendProblem(reply, 503, 'SERVICE_UNAVAILABLE', 'the database does not answer');
        }
        return { status: 'ok' as const, version: registry.config.version };
      },
    );

    app.get(
      '/api/v1/config',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'The configuration a client needs offline (ETag: revalidate cheaply)',
          tags: ['operations'],
        },
      },
      async (request, reply) => {
        reply.header('etag', etag).header('cache-control', 'private, no-cache');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send();
        return reply.type('application/json').send(configBody);
      },
    );

    // PROTOCOL 1: only auth, health and the JWKS are open; a scraper uses a machine client's token.
    app.get(
      '/metrics',
      { onRequest: authenticate(auth), schema: { hide: true } },
      async (_request, reply) => {
        reply.type(metrics.registry.contentType);
        return metrics.text();
      },
    );

    app.get('/api/v1/openapi.json', { onRequest: authenticate(auth), schema: { hide: true } }, () =>
      app.swagger(),
    );
  };
}
