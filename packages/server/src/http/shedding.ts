import type { FastifyInstance } from 'fastify';
import type { PoolStats } from '../db/database.js';
import { sendProblem } from './problem.js';

/**
 * Load shedding. When more requests wait for a database connection than `maxWaiting`, a new
 * request is answered 503 with Retry-After at once instead of joining the queue: under a sync
 * storm a device then backs off (the SDK retries with jitter) rather than waiting until its
 * request times out and sending it again on top of the queue. Health checks are never shed.
 */
export function shedLoad(app: FastifyInstance, pool: PoolStats, maxWaiting: number): void {
  app.addHook('onRequest', async (request, reply) => {
    if (pool.waitingCount < maxWaiting || request.url === '/api/v1/health') return;
    reply.header('retry-after', '5');
    return sendProblem(reply, 503, 'SERVICE_UNAVAILABLE', 'the server is busy; try again shortly');
  });
}
