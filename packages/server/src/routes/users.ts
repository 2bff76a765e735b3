import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf, requirePermission } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Registry } from '../services/context.js';
import { addUser, deactivateUser, MANAGE_USERS, NewUserSchema, users } from '../services/users.js';

const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  role: z.string(),
  officeId: z.string(),
  kind: z.enum(['user', 'client']),
  active: z.boolean(),
});

export function userRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    // Both before the body is read: no token is 401 and no permission is 403, whatever was sent.
    app.addHook('onRequest', authenticate(auth));
    app.addHook('onRequest', async (request) =>
      requirePermission(registry, callerOf(request), MANAGE_USERS),
    );

    app.get(
      '/api/v1/users',
      {
        schema: {
          summary: 'Users and machine clients',
          tags: ['users'],
          response: { 200: z.object({ users: z.array(UserSchema) }) },
        },
      },
      async () => ({ users: await users(registry) }),
    );

    app.post(
      '/api/v1/users',
      {
        schema: {
          summary: 'Create a user or a machine client',
          tags: ['users'],
          body: NewUserSchema,
          response: { 201: UserSchema },
        },
      },
      async (request, reply) => reply.code(201).send(await addUser(registry, request.body)),
    );

    app.post(
      '/api/v1/users/:username/deactivate',
      {
        schema: {
          summary: 'Deactivate a user: their tokens stop working at once',
          tags: ['users'],
          params: z.strictObject({ username: z.string().min(1).max(64) }),
          response: { 200: UserSchema },
        },
      },
      (request) => deactivateUser(registry, request.params.username),
    );
  };
}
