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
    app.post(
      '/dci/registry/sync/search',
      {
        schema: {
          summary: 'DCI sync search: a signed SearchRequest, answered with a signed SearchResponse',
          tags: TAGS,
          security: [],
          body: z.unknown(),
          response: { 200: Envelope },
        },
      },
      async (request) => dci.syncSearch(request.body),
    );
  };
}
