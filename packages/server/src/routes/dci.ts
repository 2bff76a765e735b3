import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DciService } from '../services/dci/index.js';

/**
 * The DCI / SPDCI registry API (issue 16), at the paths of the standard under `/dci`. Partners are
 * authenticated by the signature of each request, not by a token; the body is read by the
 * service (the standard's envelope), and every answer is signed by the registry.
 */

const TAGS = ['dci'];
const Envelope = z.object({
  signature: z.string(),
  header: z.record(z.string(), z.unknown()),
  message: z.unknown(),
});

export function dciRoutes(dci: DciService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/dci/.well-known/jwks.json',
      {
        schema: {
          summary:
            "The registry's DCI signing key, public parts only (a JWKS): what partners verify its answers and callbacks with",
          tags: TAGS,
          security: [],
          response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return dci.jwks();
      },
    );
    const post = (
      path: string,
      summary: string,
      handle: (body: unknown) => Promise<z.infer<typeof Envelope>>,
    ) =>
      app.post(
        path,
        {
          schema: {
            summary,
            tags: TAGS,
            security: [],
            body: z.unknown(),
            response: { 200: Envelope },
          },
        },
        async (request) => handle(request.body),
      );
    post(
      '/dci/registry/sync/search',
      'DCI sync search: a signed SearchRequest, answered with a signed SearchResponse',
      (body) => dci.syncSearch(body),
    );
    post(
      '/dci/registry/search',
      "DCI async search: acknowledged, answered by a signed POST to the partner's /registry/on-search",
      (body) => dci.asyncSearch(body),
    );
    post(
      '/dci/registry/subscribe',
      'DCI subscription to life events: acknowledged; codes by /registry/on-subscribe, events by /registry/notify',
      (body) => dci.subscribe(body),
    );
    post(
      '/dci/registry/unsubscribe',
      'Ends subscriptions: acknowledged; the outcome by /registry/on-unsubscribe',
      (body) => dci.unsubscribe(body),
    );
    post(
      '/dci/registry/txn/status',
      "What became of one of the partner's transactions: acknowledged, answered by a signed POST to its /registry/txn/on-status",
      (body) => dci.asyncTxnStatus(body),
    );
    post(
      '/dci/registry/sync/txn/status',
      "What became of one of the partner's transactions (search, subscribe, unsubscribe)",
      (body) => dci.syncTxnStatus(body),
    );
  };
}
