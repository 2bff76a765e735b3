import { confirmationOf, flagStem } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import { addJob } from '../../jobs/index.js';
import { findOverdueRequests, findStrandedHeads } from '../../store/deliveries.js';
import type { Registry } from '../context.js';
import { appendAsHook } from './caller.js';
import { deliverTask, deliveryJob } from './tasks.js';

/** Seconds a due delivery may wait with no lease before the sweep gives its record a new job. */
const STRANDED_AFTER = 60;
/** The most records one sweep looks at, of each kind: the next sweep takes the rest. */
const BATCH = 1000;

/**
 * The job `hooks.sweep`, every minute (PROTOCOL 8: no record stays locked without anyone seeing
 * it). It gives a new job to every record whose due delivery nobody works on (a process killed
 * mid-job leaves its job locked for hours), and appends HOOK_OVERDUE, as the hook, for each
 * request a confirm hook has left undecided past its `overdueAfter` (flag `hook-overdue`).
 */
export async function sweepHooks(registry: Registry): Promise<{ kicked: number; overdue: number }> {
  const stranded = await findStrandedHeads(registry.db, STRANDED_AFTER, BATCH);
  for (const { hook, recordId } of stranded) {
    await addJob(registry.db, deliverTask, deliveryJob(hook, recordId));
  }
  let overdue = 0;
  for (const hook of registry.config.hooks.values()) {
    if (hook.kind !== 'confirm' || !hook.actions) continue;
    const flags = hook.actions.map((type) => `${flagStem(type)}:requested`);
    const requests = await findOverdueRequests(
      registry.db,
      flags,
      hook.actions,
      hook.overdueAfter,
      BATCH,
    );
    for (const request of requests) {
      const recordType = registry.config.recordTypes.get(request.recordType);
      const type = request.type as (typeof hook.actions)[number];
      if (!recordType || confirmationOf(recordType, type)?.hook !== hook.id) continue;
      const [result] = await appendAsHook(
        registry,
        hook.id,
        [
          {
            id: uuidv7(),
            recordId: request.recordId,
            type: 'HOOK_OVERDUE',
            requestId: request.requestId,
            occurredAt: registry.now().toISOString(),
          },
        ],
        [],
      );
      if (result?.outcome === 'accepted') overdue += 1;
    }
  }
  return { kicked: stranded.length, overdue };
}
