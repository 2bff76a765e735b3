import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { directoryFor } from '../services/directory.js';

const DirectoryEntrySchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  roleLabel: z.string(),
  officeId: z.string(),
  officeName: z.string(),
  active: z.boolean(),
});

export function directoryRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/users/directory',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'The people the caller may see by name (any signed-in user)',
          tags: ['users'],
          response: { 200: z.object({ users: z.array(DirectoryEntrySchema) }) },
        },
      },
      async (request) => ({ users: await directoryFor(registry, callerOf(request)) }),
    );
  };
}
