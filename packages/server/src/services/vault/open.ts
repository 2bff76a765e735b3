import type { Entry, RecordState } from '@registra/core';
import type { Registry } from '../context.js';

/**
 * Sensitive values in the clear for a caller the route has found in reach (PROTOCOL 13): the
 * records' keys are read once per call, and a value whose key was erased reads as null.
 */
export async function openStates(
  registry: Registry,
  states: RecordState[],
): Promise<RecordState[]> {
  if (states.length === 0) return states;
  const keyring = await registry.vault.keyring(
    registry.db,
    registry.config,
    states.map((s) => s.id),
  );
  return states.map((state) => keyring.openState(state));
}

export async function openState(registry: Registry, state: RecordState): Promise<RecordState> {
  const [opened] = await openStates(registry, [state]);
  return opened ?? state;
}

export async function openEntries<E extends Entry>(registry: Registry, entries: E[]): Promise<E[]> {
  // Only a declaration holds sealed values (core's mapSensitiveBody): entries without one (the
  // server's UNASSIGNs, ASSIGNs, approvals) need no key, and a page of them no key read.
  const sealed = entries.filter((e) => e.declaration !== undefined);
  if (sealed.length === 0) return entries;
  const keyring = await registry.vault.keyring(
    registry.db,
    registry.config,
    sealed.map((e) => e.recordId),
  );
  return entries.map((entry) => keyring.openBody(entry));
}
