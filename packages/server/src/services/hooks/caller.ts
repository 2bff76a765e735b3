import { hookPrincipal, type ActionResult } from '@registra/core';
import type { RawBuilder } from 'kysely';
import { writeAll } from '../../store/append.js';
import { afterCommit, appendActions, type IncomingAction } from '../append/index.js';
import type { Caller, Registry } from '../context.js';
import { appendTransaction } from '../transaction.js';

/**
 * A hook as a caller (PROTOCOL 8): `hook:<id>`, a machine client of its own that no user row
 * stands for. With `requestId` (a confirmation token's), it may decide that request only.
 */
export function hookCaller(registry: Registry, hookId: string, requestId?: string): Caller {
  const principal = hookPrincipal(hookId, registry.config.locations, requestId);
  return {
    user: {
      id: principal.id,
      username: principal.id,
      name: `the ${hookId} hook`,
      role: principal.role,
      officeId: principal.officeId,
      kind: 'client',
      active: true,
    },
    principal,
  };
}

/** An action a hook takes, and the registration number it gave, if any. */
export type HookAction = Record<string, unknown> & { registrationNumber?: string };

/**
 * Appends actions on a hook's behalf, with `writes` (the delivery's attempt) in the same
 * transaction: the decision and the end of the delivery commit together or not at all.
 */
export async function appendAsHook(
  registry: Registry,
  hookId: string,
  /** Validated like any caller's (ActionSchema): a hook's answer is input. */
  actions: HookAction[],
  writes: RawBuilder<unknown>[],
): Promise<ActionResult[]> {
  const caller = hookCaller(registry, hookId);
  const incoming: IncomingAction[] = actions.map(({ registrationNumber, ...raw }) => ({
    raw,
    id: String(raw['id']),
    ...(registrationNumber ? { registrationNumber } : {}),
  }));
  const { results, appended } = await appendTransaction(registry, async (trx) => {
    const batch = await appendActions(trx, registry, caller, incoming, null);
    await writeAll(trx, [...batch.writes, ...writes]);
    return batch;
  });
  afterCommit(registry.effects ?? [], appended);
  return results;
}
