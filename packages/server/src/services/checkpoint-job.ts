import { z } from 'zod';
import { defineTask, type TaskDefinition } from '../jobs/index.js';
import { makeCheckpoint } from './checkpoints.js';
import type { Registry } from './context.js';
import type { Issuer } from './issuer.js';

/** Every hour, on the hour (server time), unless REGISTRA_CHECKPOINT_SCHEDULE says otherwise. */
export const DEFAULT_CHECKPOINT_SCHEDULE = '0 * * * *';

/** The scheduled checkpoint (checkpoints.ts): one per scheduled time across all processes. */
export function checkpointTask(
  registry: Registry,
  issuer: Issuer,
): TaskDefinition<Record<string, never>> {
  return defineTask('checkpoint.make', z.object({}).strict(), async (_payload, job) => {
    const made = await makeCheckpoint(registry, issuer);
    job.logger.info(`checkpoint ${made.id}: ${made.records} records, root ${made.root}`);
  });
}
