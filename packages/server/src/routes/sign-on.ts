import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sendProblem } from '../http/problem.js';
import { ProblemError } from '../services/problem.js';
import { CALLBACK_PATH, type SignOn } from '../services/sign-on.js';

/** The web app's page that takes a sign-on's outcome (packages/web, App.tsx). */
const WEB_SIGN_ON = '/#/sign-on';

/**
 * Single sign-on (services/sign-on.ts): whether it is offered, the start (a redirect to the
 * provider) and the provider's redirect back. The callback answers a browser with a redirect to
 * the web app carrying a one-time code, or the refusal's code and reason; any other caller gets
 * the refusal as problem+json.
 */
export function signOnRoutes(signOn: SignOn): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/auth/sign-on',
      {
        schema: {
          summary: 'Whether staff may sign on with an OpenID Connect provider, and its name',
          tags: ['auth'],
          response: {
            200: z.object({ enabled: z.boolean(), name: z.string(), start: z.string() }),
          },
        },
      },
      async () => ({
        enabled: true,
        name: signOn.options.name,
        start: '/api/v1/auth/sign-on/start',
      }),
    );

    app.get(
      '/api/v1/auth/sign-on/start',
      { schema: { summary: 'Starts a sign-on: a redirect to the provider', tags: ['auth'] } },
      async (_request, reply) => reply.redirect((await signOn.start()).href, 302),
    );

    app.get(
      CALLBACK_PATH,
      {
        schema: {
          summary: 'Where the provider sends the person back',
          tags: ['auth'],
          querystring: z.record(z.string(), z.string().max(4096)),
        },
      },
      async (request, reply) => {
        const browser = (request.headers.accept ?? '').includes('text/html');
        const url = new URL(request.url, signOn.redirectUri);
        try {
          const { code } = await signOn.finish(url);
          return browser
            ? reply.redirect(`${WEB_SIGN_ON}?code=${encodeURIComponent(code)}`, 302)
            : { code };
        } catch (error) {
          if (!(error instanceof ProblemError)) throw error;
          request.log.info({ code: error.code }, 'sign-on refused');
          if (!browser) return sendProblem(reply, error.status, error.code, error.detail);
          const query = new URLSearchParams({ error: error.code, detail: error.detail });
          return reply.redirect(`${WEB_SIGN_ON}?${query.toString()}`, 302);
        }
      },
    );
  };
}
