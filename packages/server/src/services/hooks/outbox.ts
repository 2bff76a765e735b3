import {
  confirmationOf,
  hookCovers,
  HOOK_PRINCIPAL_PREFIX,
  type HookConfig,
  type RegistryConfig,
} from '@registra/core';
import type { RawBuilder } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { jobStatement } from '../../jobs/index.js';
import {
  insertDeliveriesStatement,
  settleStatement,
  type NewDelivery,
} from '../../store/deliveries.js';
import type { AppendEffect, Appended } from '../append/effects.js';
import { deliverTask, deliveryJob } from './tasks.js';

/**
 * The hooks' side of every append (PROTOCOL 8), in the appending transaction: a delivery per
 * entry that a hook covers (a notify hook: every accepted or requested entry of its record types
 * and actions; a confirm hook: the requests it confirms), and one job per record and hook to
 * deliver them, so that a crash loses none. A person's APPROVE or DECLINE of a request ends the
 * deliveries of that request. Nothing here waits for a hook.
 */
export function hookOutbox(config: RegistryConfig): AppendEffect {
  const hooks = [...config.hooks.values()];
  return {
    writes(appended) {
      if (hooks.length === 0) return [];
      const deliveries: NewDelivery[] = [];
      const settled: string[] = [];
      for (const item of appended) {
        deliveries.push(...deliveriesOf(config, hooks, item));
        const { entry } = item;
        const decides = entry.type === 'APPROVE' || entry.type === 'DECLINE';
        if (decides && entry.status === 'accepted' && entry.requestId) {
          if (!entry.createdBy.startsWith(HOOK_PRINCIPAL_PREFIX)) settled.push(entry.requestId);
        }
      }
      const writes: RawBuilder<unknown>[] = settled.map((id) => settleStatement(id, 'decided'));
      if (deliveries.length === 0) return writes;
      const records = new Map(deliveries.map((d) => [`${d.hook}/${d.recordId}`, d]));
      writes.push(
        insertDeliveriesStatement(deliveries),
        jobStatement(
          deliverTask,
          [...records.values()].map((d) => deliveryJob(d.hook, d.recordId)),
        ),
      );
      return writes;
    },
  };
}

function deliveriesOf(
  config: RegistryConfig,
  hooks: readonly HookConfig[],
  { entry, record }: Appended,
): NewDelivery[] {
  if (entry.status === 'rejected') return [];
  const recordType = config.recordTypes.get(record.type);
  const confirmedBy =
    entry.status === 'requested' && recordType
      ? confirmationOf(recordType, entry.type, entry.customType)?.hook
      : undefined;
  return hooks
    .filter((hook) =>
      hook.kind === 'notify' ? hookCovers(hook, record.type, entry.type) : hook.id === confirmedBy,
    )
    .map((hook) => ({
      id: uuidv7(),
      hook: hook.id,
      recordId: entry.recordId,
      entryId: entry.id,
      seq: entry.seq,
    }));
}
