import type { FastifyReply, FastifyRequest } from 'fastify';
import { holds } from '@registra/core';
import type { AuthService } from '../services/auth.js';
import type { Caller, Registry } from '../services/context.js';
import { forbidden } from '../services/problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/**
 * onRequest: every route that uses it needs a valid access token (PROTOCOL 1). It runs before the
 * body is read, so a caller without a token gets 401 whatever it sent, and no body of theirs is parsed.
 */
export function authenticate(auth: AuthService, options: { confirmations?: boolean } = {}) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.caller = await auth.authenticate(request.headers.authorization, options);
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error('route is missing the authenticate hook');
  return request.caller;
}

/** A permission held with national reach, or within the caller's own office's jurisdiction. */
export function requirePermission(registry: Registry, caller: Caller, permission: string): void {
  if (!holds(caller.principal, permission, caller.principal.officeId, registry.config.locations)) {
    throw forbidden(`you need the permission ${permission}`);
  }
}
