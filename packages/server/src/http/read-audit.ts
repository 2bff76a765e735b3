import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from '../services/context.js';
import type { ReadAudit } from '../services/read-audit.js';

/**
 * The read audit's side of HTTP (PROTOCOL 13): a route that reads records says so in its config,
 * `config: { audit: { kind, records } }`, and every successful answer to a signed-in caller is
 * recorded with who, role, when, route and the records it answered with.
 */
export interface AuditSpec {
  kind: 'read' | 'search' | 'export';
  /** The records the answer holds: from the answer (before serialisation) or the request. */
  records(request: FastifyRequest, payload: unknown): string[];
  /** What was asked (a search's filters), kept with the read. */
  query?(request: FastifyRequest): Record<string, unknown> | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
}

const recorded = Symbol('read audit recorded');

export function auditReads(app: FastifyInstance, registry: Registry, audit: ReadAudit): void {
  const record = (request: FastifyRequest, statusCode: number, payload: unknown) => {
    const spec = request.routeOptions.config.audit;
    const caller = request.caller;
    const marked = request as FastifyRequest & { [recorded]?: true };
    if (!spec || !caller || statusCode !== 200 || marked[recorded]) return;
    marked[recorded] = true;
    audit.record({
      at: registry.now().toISOString(),
      userId: caller.user.id,
      role: caller.user.role,
      route: request.routeOptions.url ?? request.url,
      kind: spec.kind,
      recordIds: spec.records(request, payload),
      query: spec.query?.(request) ?? null,
    });
  };
  // JSON answers are seen before they are serialised; files (exports) as they are sent.
  app.addHook('preSerialization', async (request, reply, payload) => {
    record(request, reply.statusCode, payload);
    return payload;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    record(request, reply.statusCode, undefined);
    return payload;
  });
}
