import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LSN } from '../db/replica.js';
import type { Registry } from '../services/context.js';
import { invalidInput } from '../services/problem.js';

/** The header a write's answer carries: the primary's WAL position after the write. */
export const WRITE_LSN_HEADER = 'registra-lsn';
/** The header a caller's read carries: the position of its latest write it must see. */
export const READ_AFTER_HEADER = 'registra-read-after';

/**
 * The registry a read runs on: with a replica, one whose database is the replica when it has
 * replayed the caller's latest write (Registra-Read-After), else the primary's. Reads only: the
 * read audit and everything else that writes keep the primary (they hold the original registry).
 */
export async function readsFor(registry: Registry, request: FastifyRequest): Promise<Registry> {
  const replica = registry.replica;
  if (!replica) return registry;
  const header = request.headers[READ_AFTER_HEADER];
  const after = typeof header === 'string' && header !== '' ? header : null;
  if (after !== null && !LSN.test(after)) {
    throw invalidInput(`${READ_AFTER_HEADER} must be a WAL position as the server gave it`, [
      { path: READ_AFTER_HEADER, message: 'like 16/B374D848' },
    ]);
  }
  const db = await replica.forRead(after);
  return db === registry.db ? registry : { ...registry, db };
}

/**
 * Whether a request changed anything its caller reads back: not a login or token refresh, nor a
 * pull alone (which only notes that the device was seen).
 */
function changesWhatCallerReads(request: FastifyRequest): boolean {
  const route = request.routeOptions.url ?? '';
  if (route.startsWith('/api/v1/auth/')) return false;
  if (route === '/api/v1/sync') {
    const actions = (request.body as { actions?: unknown[] } | undefined)?.actions;
    return Array.isArray(actions) && actions.length > 0;
  }
  return true;
}

/**
 * With a replica, every successful write's answer (any method but GET, HEAD and OPTIONS) names
 * the primary's WAL position after it, for the caller's next reads (the SDK sends it back).
 */
export function announceWritePositions(app: FastifyInstance, registry: Registry): void {
  const replica = registry.replica;
  if (!replica) return;
  app.addHook('onSend', async (request, reply, payload) => {
    if (
      ['GET', 'HEAD', 'OPTIONS'].includes(request.method) ||
      reply.statusCode >= 400 ||
      !changesWhatCallerReads(request)
    ) {
      return payload;
    }
    try {
      reply.header(WRITE_LSN_HEADER, await replica.writePosition());
    } catch {
      // The primary went away after the write: the caller's next reads go to it, or fail there.
    }
    return payload;
  });
}
