import type { RegistryConfig, Translations } from '@registra/core';
import { addJob } from '../../jobs/index.js';
import { listDeliveries, makeDueNow, type DeliveryFilter } from '../../store/deliveries.js';
import type { Registry } from '../context.js';
import { notFound } from '../problem.js';
import { deliverTask, deliveryJob } from './tasks.js';

/** Who may see and retry deliveries (PROTOCOL 8: administrators). */
export const MANAGE_HOOKS = 'hook.manage';

/** A delivery as the API shows it (PROTOCOL 8). */
export interface DeliveryView {
  id: string;
  hook: string;
  /** The hook's (or adapter's) label and its translations, so that people read a name. */
  hookLabel: string;
  hookTranslations: Translations | null;
  recordId: string;
  trackingId: string | null;
  recordType: string | null;
  entryId: string;
  state: 'pending' | 'failing' | 'done';
  outcome: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
}

/** A page of deliveries, newest first, and the cursor of the next page. */
export async function deliveries(
  registry: Registry,
  filter: Omit<DeliveryFilter, 'limit'> & { limit?: number | undefined },
): Promise<{ results: DeliveryView[]; next: string | null }> {
  const limit = filter.limit ?? 50;
  const rows = await listDeliveries(registry.db, { ...filter, limit: limit + 1 });
  const page = rows.slice(0, limit).map((row) => ({
    id: row.id,
    hook: row.hook,
    ...hookName(registry.config, row.hook),
    recordId: row.recordId,
    trackingId: row.trackingId,
    recordType: row.recordType,
    entryId: row.entryId,
    state:
      row.state === 'done'
        ? ('done' as const)
        : row.attempts > 0
          ? ('failing' as const)
          : ('pending' as const),
    outcome: row.outcome,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'done' ? null : row.nextAttemptAt.toISOString(),
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
  }));
  return { results: page, next: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null };
}

/** A hook by its label; an adapter out is a hook too. A hook since removed keeps its id. */
function hookName(
  config: RegistryConfig,
  id: string,
): { hookLabel: string; hookTranslations: Translations | null } {
  const named =
    config.document.hooks.find((h) => h.id === id) ??
    config.document.adapters.find((a) => a.id === id);
  return { hookLabel: named?.label ?? id, hookTranslations: named?.translations ?? null };
}

/**
 * Retries a delivery now (PROTOCOL 8): due at once, and its record's job moved to now. A record's
 * deliveries still go in seq order: an earlier one that is not done goes first.
 */
export async function retryDelivery(registry: Registry, id: string): Promise<void> {
  const due = await makeDueNow(registry.db, id);
  if (!due) throw notFound('no pending delivery with this id');
  await addJob(registry.db, deliverTask, deliveryJob(due.hook, due.recordId, new Date()));
}
