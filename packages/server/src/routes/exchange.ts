import { CONSENT_STATUSES } from '@registra/core';
import type { Authenticated } from '@registra/exchange';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Exchange } from '../services/exchange.js';
import { ProblemError } from '../services/problem.js';

/**
 * PROTOCOL 12: consents (asked by consumers, decided at the open portal with a one-time code),
 * the exchange's audit, the citizen's own access history, and the federated GraphQL endpoint.
 */

const ConsentSchema = z.object({
  id: z.string(),
  status: z.enum(CONSENT_STATUSES),
  consumer: z.string(),
  consumerLabel: z.string(),
  subjectId: z.string(),
  purpose: z.string(),
  purposeLabel: z.string(),
  fields: z.array(z.string()),
  fieldLabels: z.array(z.object({ field: z.string(), label: z.string() })),
  expiresAt: z.string(),
  requestedAt: z.string(),
  decidedAt: z.string().nullable(),
  portalUrl: z.string(),
});
const SessionSchema = z.object({ token: z.string(), expiresAt: z.string() });
const Params = z.object({ id: z.string().min(1).max(64) });
const AuditResultSchema = z.object({
  at: z.string(),
  consumer: z.string(),
  subjectId: z.string(),
  purpose: z.string().nullable(),
  consentId: z.string().nullable(),
  fields: z.array(
    z.object({
      field: z.string(),
      outcome: z.enum(['given', 'withheld']),
      code: z.string().nullable(),
      /** Why it was withheld, where more than the code says (a policy's or provider's words). */
      reason: z.string().optional(),
    }),
  ),
  latencies: z.record(z.string(), z.number()),
});

/** The citizen's session token (Bearer cs_...), or null when the caller sent another kind. */
function citizenToken(request: FastifyRequest): string | null {
  const match = /^Bearer (cs_[A-Za-z0-9_-]{20,100})$/.exec(request.headers.authorization ?? '');
  return match ? (match[1] as string) : null;
}

const TAGS = ['exchange'];

export function exchangeRoutes(exchange: Exchange): FastifyPluginAsyncZod {
  const { consents, host, query } = exchange;
  const consumers = new WeakMap<FastifyRequest, Authenticated>();
  return async (app) => {
    app.post(
      '/api/v1/consents',
      {
        schema: {
          summary: 'A consumer asks the subject for consent (PROTOCOL 12)',
          tags: TAGS,
          body: z.strictObject({
            subjectId: z.string().min(1).max(100),
            purpose: z.string().min(1).max(64),
            fields: z.array(z.string().min(1).max(130)).min(1).max(100),
            expiresAt: z.iso.datetime(),
          }),
          response: { 201: ConsentSchema },
        },
        onRequest: async (request) => {
          const caller = await host.authenticate(request.headers.authorization);
          consents.consumerOf(caller);
          consumers.set(request, caller);
        },
      },
      async (request, reply) => {
        const caller = consumers.get(request);
        if (!caller) throw new Error('route is missing its onRequest hook');
        return reply.code(201).send(await consents.request(caller, request.body));
      },
    );

    app.get(
      '/api/v1/consents/:id',
      {
        schema: {
          summary: 'A consent: what is asked, by whom, why, until when (open: the portal shows it)',
          tags: TAGS,
          security: [],
          params: Params,
          response: { 200: ConsentSchema },
        },
      },
      async (request) => consents.get(request.params.id),
    );

    app.post(
      '/api/v1/consents/:id/code',
      {
        schema: {
          summary:
            'Sends a one-time code to the contact the registry holds for the subject (at most 3 per consent in 15 minutes, 30 per address in a minute: else 429)',
          tags: TAGS,
          security: [],
          params: Params,
          response: { 202: z.object({ sent: z.literal(true), expiresAt: z.string() }) },
        },
      },
      async (request, reply) => {
        const sent = await exchange.codes.spend(
          {
            scope: 'consent-code',
            key: request.params.id,
            ip: request.ip,
            refusal: 'too many one-time codes asked for this consent or from this address',
          },
          () => consents.sendCode(request.params.id),
        );
        return reply.code(202).send(sent);
      },
    );

    app.post(
      '/api/v1/consents/:id/session',
      {
        schema: {
          summary:
            "Signs the citizen in with a one-time code: a session for the subject's consents",
          tags: TAGS,
          security: [],
          params: Params,
          body: z.strictObject({ code: z.string().regex(/^[0-9]{6}$/) }),
          response: { 200: z.object({ consent: ConsentSchema, session: SessionSchema }) },
        },
      },
      async (request) => {
        const { consent, session } = await consents.signIn(request.params.id, request.body.code);
        return { consent: consents.view(consent), session };
      },
    );

    app.post(
      '/api/v1/consents/:id/decision',
      {
        schema: {
          summary: 'The citizen approves or rejects, with a one-time code or their session',
          tags: TAGS,
          security: [],
          params: Params,
          body: z.strictObject({
            code: z
              .string()
              .regex(/^[0-9]{6}$/)
              .optional(),
            decision: z.enum(['approve', 'reject']),
          }),
          response: {
            200: z.object({ consent: ConsentSchema, session: SessionSchema.nullable() }),
          },
        },
      },
      async (request) => {
        const session = citizenToken(request);
        const { code, decision } = request.body;
        if (code === undefined && !session) {
          throw new ProblemError(401, 'UNAUTHENTICATED', 'send the one-time code, or sign in');
        }
        return consents.decide(
          request.params.id,
          decision,
          code !== undefined ? { code } : { session: session as string },
        );
      },
    );

    app.post(
      '/api/v1/consents/:id/revoke',
      {
        schema: {
          summary: 'The citizen (their session) or an admin revokes a consent; at once, for good',
          tags: TAGS,
          params: Params,
          body: z.strictObject({ reason: z.string().max(1000).optional() }).optional(),
          response: { 200: ConsentSchema },
        },
      },
      async (request) => {
        const session = citizenToken(request);
        const by = session
          ? { session }
          : { admin: await host.authenticate(request.headers.authorization) };
        return consents.revoke(request.params.id, by, request.body?.reason);
      },
    );

    app.get(
      '/api/v1/exchange/audit',
      {
        schema: {
          summary: 'Every exchange, newest first (admins)',
          tags: TAGS,
          querystring: z.strictObject({
            subjectId: z.string().min(1).max(100).optional(),
            consumer: z.string().min(1).max(64).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
            after: z
              .string()
              .regex(/^[0-9]{1,19}$/)
              .optional(),
          }),
          response: {
            200: z.object({ results: z.array(AuditResultSchema), next: z.string().nullable() }),
          },
        },
      },
      async (request) => {
        const caller = await host.authenticate(request.headers.authorization);
        if (!caller.admin)
          throw new ProblemError(403, 'FORBIDDEN', 'the exchange audit is for admins');
        return host.store.audit(request.query);
      },
    );

    app.get(
      '/api/v1/exchange/my-access',
      {
        schema: {
          summary: 'Who read what about the signed-in citizen, and their consents',
          tags: TAGS,
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(200).default(50),
            after: z
              .string()
              .regex(/^[0-9]{1,19}$/)
              .optional(),
          }),
          response: {
            200: z.object({
              results: z.array(AuditResultSchema),
              next: z.string().nullable(),
              consents: z.array(ConsentSchema),
            }),
          },
        },
      },
      async (request) => {
        const session = citizenToken(request);
        if (!session)
          throw new ProblemError(401, 'UNAUTHENTICATED', 'sign in with a one-time code');
        const subjectId = await consents.citizen(session);
        const page = await host.store.audit({ ...request.query, subjectId });
        return { ...page, consents: await consents.ofCitizen(session) };
      },
    );

    const { registerExchangeGraphql } = await import('@registra/exchange');
    await registerExchangeGraphql(app, host, consents, query);
  };
}
