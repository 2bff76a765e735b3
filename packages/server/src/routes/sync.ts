import {
  ActionsRequestSchema,
  ActionsResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
} from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { Metrics } from '../http/metrics.js';
import { readsFor } from '../http/replica-reads.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { submitActions, sync } from '../services/sync.js';

export function syncRoutes(
  registry: Registry,
  auth: AuthService,
  metrics: Metrics,
): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/v1/sync',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'Push the outbox head and pull changes in one exchange',
          tags: ['sync'],
          body: SyncRequestSchema,
          response: { 200: SyncResponseSchema },
        },
      },
      async (request) => {
        // A pull alone may be served by the replica; a push and the pull after it, by the primary.
        const reads =
          request.body.actions.length === 0 ? await readsFor(registry, request) : registry;
        const response = await sync(registry, callerOf(request), request.body, reads);
        metrics.syncBatchSize.observe(request.body.actions.length);
        observe(metrics, response.results);
        const now = registry.now().getTime();
        for (const change of response.changes)
          metrics.pullLag.observe((now - Date.parse(change.recordedAt)) / 1000);
        return response;
      },
    );

    app.post(
      '/api/v1/actions',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'Submit actions online (integrations, online clients)',
          tags: ['sync'],
          body: ActionsRequestSchema,
          response: { 200: ActionsResponseSchema },
        },
      },
      async (request) => {
        const response = await submitActions(registry, callerOf(request), request.body.actions);
        observe(metrics, response.results);
        return response;
      },
    );
  };
}

function observe(
  metrics: Metrics,
  results: { outcome: string; duplicate?: boolean; seq: number | null }[],
): void {
  for (const result of results) {
    if (!result.duplicate && result.seq !== null) metrics.appended.inc({ status: result.outcome });
  }
}
