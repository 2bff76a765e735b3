import { z } from 'zod';
import { defineTask, jobStatement, type TaskDefinition } from '../../jobs/index.js';
import type { AppendEffect, Appended } from '../append/effects.js';
import type { Registry } from '../context.js';
import { deduplicateRecord } from './index.js';

const Payload = z.object({ recordId: z.uuid(), entryId: z.uuid() });
type Payload = z.infer<typeof Payload>;

/**
 * PROTOCOL 10: deduplication runs as a job after the action commits, never in the device's
 * sync. The job reads the record as it is then, so two triggers close together are one job
 * (keyed by record); its cause is the entry that triggered it, so a retried job appends nothing
 * twice.
 */
export function deduplicationTask(registry: Registry): TaskDefinition<Payload> {
  return defineTask('dedup.record', Payload, async ({ recordId, entryId }) => {
    await deduplicateRecord(registry, recordId, entryId);
  });
}

/** Whether an appended entry is one the record type's deduplication runs after. */
function triggers(registry: Registry, { entry, record }: Appended): boolean {
  const dedup = registry.config.recordTypes.get(record.type)?.deduplication;
  return (
    dedup !== undefined &&
    entry.status === 'accepted' &&
    (dedup.after as readonly string[]).includes(entry.type)
  );
}

/** Adds the job in the appending transaction, so that a crash loses none. */
export function deduplicationEffect(registry: Registry): AppendEffect {
  const task = deduplicationTask(registry);
  return {
    writes(appended) {
      const jobs = appended
        .filter((a) => triggers(registry, a))
        .map(({ entry }) => ({
          payload: { recordId: entry.recordId, entryId: entry.id },
          jobKey: `dedup:${entry.recordId}`,
        }));
      return jobs.length > 0 ? [jobStatement(task, jobs)] : [];
    },
  };
}
