import { ACTION_BODY_KEYS, type ActionResult, type Entry } from '@registra/core';
import canonicalize from 'canonicalize';
import type { StoredRejection } from '../../store/devices.js';

/**
 * PROTOCOL 4, rule 1: an action already processed is answered with its original outcome, never
 * applied again; the same id with another body is an ID_CONFLICT.
 */

/** The answer's identification: the action id, and its deviceSeq when it came through /sync. */
export type ResultBase = Pick<ActionResult, 'id' | 'deviceSeq'>;

/** A resend must match the stored action exactly on these keys. */
export function fingerprint(
  action: Partial<Record<(typeof ACTION_BODY_KEYS)[number], unknown>>,
): string {
  const body: Record<string, unknown> = {};
  for (const key of ACTION_BODY_KEYS) if (action[key] !== undefined) body[key] = action[key];
  return canonicalize(body) ?? '';
}

/** The answer that an entry gives an action: its outcome, position and the server's decisions. */
export function entryResult(base: ResultBase, entry: Entry): ActionResult {
  const result: ActionResult = {
    ...base,
    outcome: entry.status,
    seq: entry.seq,
    recordedAt: entry.recordedAt,
    code: entry.code,
    message: entry.message,
  };
  if (entry.registrationNumber !== null) result.registrationNumber = entry.registrationNumber;
  return result;
}

/** A rejection that was never stored. */
export function rejectedResult(
  base: ResultBase,
  code: string,
  message: string,
  errors?: ActionResult['errors'] | null,
): ActionResult {
  return {
    ...base,
    outcome: 'rejected',
    seq: null,
    recordedAt: null,
    code,
    message,
    ...(errors ? { errors } : {}),
  };
}

export const ID_CONFLICT_MESSAGE = 'an action with this id was stored with a different body';

/** An action whose id is stored: the same answer again, or ID_CONFLICT if its body differs. */
export function knownResult(base: ResultBase, action: object, known: Entry): ActionResult {
  if (fingerprint(action) !== fingerprint(known)) {
    return rejectedResult(base, 'ID_CONFLICT', ID_CONFLICT_MESSAGE);
  }
  return { ...entryResult(base, known), duplicate: true };
}

/**
 * A device resending an action at or below its ackThrough whose id is not stored: the outcome of
 * its earlier unstored rejection, or, when that deviceSeq carried another action, a refusal.
 */
export function replayedRejection(
  base: ResultBase & { deviceSeq: number },
  earlier: StoredRejection | undefined,
): ActionResult {
  if (earlier && earlier.actionId === base.id) {
    return {
      ...rejectedResult(base, earlier.code, earlier.message, earlier.errors),
      duplicate: true,
    };
  }
  return rejectedResult(
    base,
    'INVALID_INPUT',
    `deviceSeq ${base.deviceSeq} was already used by another action`,
  );
}
