import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.js';

/** How long requests in flight may take to finish on shutdown before their connections are cut. */
export const DRAIN_GRACE_MS = 30_000;

/**
 * Draining, for rolling restarts behind a load balancer (ARCHITECTURE, Scale). On `close` the
 * node stops listening (new connections are refused, so the balancer sends them to another node),
 * closes its idle kept-alive connections, answers a request that still arrives on a kept-alive
 * connection 503 SERVICE_UNAVAILABLE with Retry-After and `Connection: close` (the health check
 * says `draining`), lets the requests it holds finish, and only then returns. Requests still
 * running after `graceMs` have their connections cut.
 */
export class Drain {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** First among the request hooks that answer, so that nothing new starts while draining. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (!this.#draining) return;
      reply.header('retry-after', '1').header('connection', 'close');
      const detail = 'this node is shutting down (draining); try again';
      return sendProblem(reply, 503, 'SERVICE_UNAVAILABLE', detail, {
        ...(request.url === '/api/v1/health' ? { status: 'draining' } : {}),
      });
    });
    // A request that was already running when the drain began is answered, then its connection
    // closed: the caller's next request opens a connection to a node that is not leaving.
    app.addHook('onSend', async (_request, reply) => {
      if (this.#draining) reply.header('connection', 'close');
    });
  }

  /** Drains, then closes the app (its onClose hooks included). Safe to call twice. */
  async close(app: FastifyInstance, graceMs = DRAIN_GRACE_MS): Promise<void> {
    this.#draining = true;
    const cut = setTimeout(() => app.server.closeAllConnections(), graceMs);
    try {
      // Stops listening and closes idle connections; resolves once every request has been answered.
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  }
}
