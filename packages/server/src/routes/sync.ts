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
import { awaitDecisions, MAX_WAIT_SECONDS } from '../services/hooks/wait.js';
import { z } from 'zod';

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
        // A hook's confirmation token may send its APPROVE or DECLINE here (PROTOCOL 8).
        onRequest: authenticate(auth, { confirmations: true }),
        schema: {
          summary: 'Submit actions online (integrations, online clients, hooks deciding)',
          description:
            '`wait`: seconds (at most 10) to wait for the decision of the requests the actions ' +
            'make, added to their results as `decision`.',
          tags: ['sync'],
          querystring: z.strictObject({
            wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
          }),
          body: ActionsRequestSchema,
          response: { 200: ActionsResponseSchema },
        },
      },
      async (request) => {
        const { actions } = request.body;
        const response = await submitActions(registry, callerOf(request), actions);
        observe(metrics, response.results);
        const wait = request.query.wait ?? 0;
        if (wait === 0) return response;
        const records = new Map(actions.map((a) => [a.id, String(a['recordId'])]));
        const results = await awaitDecisions(
          registry,
          response.results,
          (id) => records.get(id),
          wait,
        );
        return { results };
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
