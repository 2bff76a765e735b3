import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, callerOf, requirePermission } from '../http/authenticate.js';
import type { AuditSpec } from '../http/read-audit.js';
import type { AuthService } from '../services/auth.js';
import { checkpoint, checkpoints, inclusionProof } from '../services/checkpoints.js';
import type { Registry } from '../services/context.js';
import { MANAGE_USERS } from '../services/users.js';

/** A proof names one record: it is a read of it (PROTOCOL 13, read audit), as its chain is. */
const PROOF_READ: AuditSpec = {
  kind: 'read',
  records: (request) => [(request.params as { id: string }).id],
};

export const CheckpointSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  root: z.string(),
  records: z.int(),
  kid: z.string(),
  signature: z.string(),
  tree: z.string(),
});

/**
 * Signed checkpoints and inclusion proofs (services/checkpoints.ts), for administrators: like a
 * record's chain, they are what an auditor copies elsewhere and checks without keys of ours.
 */
export function checkpointRoutes(registry: Registry, auth: AuthService): FastifyPluginAsyncZod {
  return async (app) => {
    const onRequest = [
      authenticate(auth),
      async (request: Parameters<ReturnType<typeof authenticate>>[0]) =>
        requirePermission(registry, callerOf(request), MANAGE_USERS),
    ];

    app.get(
      '/api/v1/checkpoints',
      {
        onRequest,
        schema: {
          summary: 'Signed checkpoints, newest first (administrators)',
          tags: ['integrity'],
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(200).default(50),
            after: z.uuid().optional(),
          }),
          response: {
            200: z.object({ results: z.array(CheckpointSchema), next: z.string().nullable() }),
          },
        },
      },
      (request) => checkpoints(registry, request.query.limit, request.query.after),
    );

    app.get(
      '/api/v1/checkpoints/:id',
      {
        onRequest,
        schema: {
          summary: 'One signed checkpoint (administrators)',
          tags: ['integrity'],
          params: z.strictObject({ id: z.uuid() }),
          response: { 200: CheckpointSchema },
        },
      },
      (request) => checkpoint(registry, request.params.id),
    );

    app.get(
      '/api/v1/records/:id/proof',
      {
        onRequest,
        config: { audit: PROOF_READ },
        schema: {
          summary:
            'Proof that a record’s head hash is under a checkpoint’s root (the latest by default; administrators)',
          tags: ['integrity'],
          params: z.strictObject({ id: z.uuid() }),
          querystring: z.strictObject({ checkpoint: z.uuid().optional() }),
          response: {
            200: z.object({
              checkpoint: CheckpointSchema,
              recordId: z.string(),
              headHash: z.string(),
              seq: z.int(),
              leafIndex: z.int(),
              treeSize: z.int(),
              auditPath: z.array(z.string()),
            }),
          },
        },
      },
      (request) => inclusionProof(registry, request.params.id, request.query.checkpoint),
    );
  };
}
