import { KEY_PURPOSE } from '@registra/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Issuer } from '../services/issuer.js';
import type { SignOn } from '../services/sign-on.js';
import { signOnRoutes } from './sign-on.js';

const secret = z.string().min(1).max(1024);

export const TokenRequestSchema = z.discriminatedUnion('grant_type', [
  z.strictObject({
    grant_type: z.literal('password'),
    username: z.string().min(1).max(200),
    password: secret,
  }),
  z.strictObject({ grant_type: z.literal('refresh_token'), refreshToken: secret }),
  z.strictObject({
    grant_type: z.literal('client_credentials'),
    client_id: z.string().min(1).max(200),
    client_secret: secret,
  }),
  z.strictObject({ grant_type: z.literal('sign_on_code'), code: secret }),
]);

export const PublicUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  role: z.string(),
  scopes: z.array(z.string()),
  officeId: z.string(),
});

const TokenResponseSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.int(),
  user: PublicUserSchema,
});

export function authRoutes(
  auth: AuthService,
  issuer: Issuer,
  signOn?: SignOn,
): FastifyPluginAsyncZod {
  return async (app) => {
    if (signOn) await app.register(signOnRoutes(signOn));
    else {
      app.get(
        '/api/v1/auth/sign-on',
        { schema: { summary: 'Whether staff may sign on elsewhere', tags: ['auth'] } },
        async () => ({ enabled: false }),
      );
    }

    app.post(
      '/api/v1/auth/token',
      {
        schema: {
          summary: 'Log in, refresh (rotating), or authenticate a machine client',
          tags: ['auth'],
          body: TokenRequestSchema,
          response: { 200: TokenResponseSchema },
        },
      },
      (request) => auth.token(request.body, request.ip),
    );

    app.get(
      '/api/v1/me',
      {
        onRequest: authenticate(auth),
        schema: {
          summary: 'The authenticated user',
          tags: ['auth'],
          response: { 200: PublicUserSchema },
        },
      },
      (request) => auth.publicUser(callerOf(request).user),
    );

    // Both key sets, each key saying what it is for: access tokens, or credentials (with the
    // retired credential keys, which still verify what they signed).
    app.get('/.well-known/jwks.json', { schema: { hide: true } }, async () => ({
      keys: [
        ...auth.signer.jwks.keys.map((key) => ({ ...key, [KEY_PURPOSE]: 'access-token' })),
        ...(await issuer.published()),
      ],
    }));
  };
}
