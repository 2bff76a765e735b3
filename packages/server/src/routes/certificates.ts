import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditSpec } from '../http/read-audit.js';
import { authenticate, callerOf } from '../http/authenticate.js';
import type { AuthService } from '../services/auth.js';
import type { Certificates } from '../services/certificates.js';
import { notFound } from '../services/problem.js';

const VerificationSchema = z.object({
  valid: z.boolean(),
  status: z.enum(['active', 'revoked', 'superseded']).nullable(),
  claims: z.record(z.string(), z.unknown()).nullable(),
  errors: z.array(z.object({ code: z.string(), message: z.string() })),
  issuer: z.object({ id: z.string(), name: z.string().optional() }).optional(),
  validFrom: z.string().optional(),
});

/** A certificate or credential handed out: an export of the record (read audit, PROTOCOL 13). */
const EXPORT: AuditSpec = {
  kind: 'export',
  records: (request) => [(request.params as { id: string }).id],
};

export function certificateRoutes(
  auth: AuthService,
  certificates: Certificates,
): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/records/:id/certificates/:templateId',
      {
        onRequest: authenticate(auth),
        config: { audit: EXPORT },
        schema: {
          summary: "A registered record's certificate as PDF, with its credential in a QR code",
          tags: ['certificates'],
          params: z.strictObject({
            id: z.uuid(),
            templateId: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
          }),
          querystring: z.strictObject({ lang: z.string().min(2).max(16).optional() }),
        },
      },
      async (request, reply) => {
        const { pdf, filename } = await certificates.pdf(
          callerOf(request),
          request.params.id,
          request.params.templateId,
          request.query.lang,
        );
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="${filename}"`)
          .header('cache-control', 'private, no-store')
          .send(pdf);
      },
    );

    app.get(
      '/api/v1/records/:id/credential',
      {
        onRequest: authenticate(auth),
        config: { audit: EXPORT },
        schema: {
          summary: "The record's current credential, for a device that prints offline",
          tags: ['certificates'],
          params: z.strictObject({ id: z.uuid() }),
          response: {
            200: z.object({
              credential: z.string(),
              status: z.literal('active'),
              issuedAt: z.string(),
            }),
          },
        },
      },
      (request) => certificates.credential(callerOf(request), request.params.id),
    );

    app.post(
      '/api/v1/credentials/verify',
      {
        schema: {
          summary: 'Verify a credential (open): signature, issuer and status',
          tags: ['certificates'],
          security: [],
          body: z.object({ credential: z.unknown() }),
          response: { 200: VerificationSchema },
        },
      },
      (request) => certificates.credentials.verify(request.body.credential),
    );

    app.get(
      '/api/v1/credentials/status/:listId',
      {
        schema: {
          summary: 'A Bitstring Status List credential (open; verifiers cache it)',
          tags: ['certificates'],
          security: [],
          params: z.strictObject({ listId: z.string().max(64) }),
        },
      },
      async (request, reply) => {
        const jwt = await certificates.credentials.statusList(request.params.listId);
        if (!jwt) throw notFound(`no status list "${request.params.listId}"`);
        return reply
          .type('application/vc+jwt')
          .header('cache-control', 'public, max-age=60')
          .header('access-control-allow-origin', '*')
          .send(jwt);
      },
    );
  };
}
