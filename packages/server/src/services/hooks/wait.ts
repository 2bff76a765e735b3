import type { ActionResult } from '@registra/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { findDecisions } from '../../store/entries.js';
import type { Registry } from '../context.js';

/** The longest `?wait=` a caller of POST /actions may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 10;

/**
 * POST /actions?wait=N (PROTOCOL 8): waits, at most `seconds`, for the requests these results
 * stand for to be decided (by a quick hook, usually), and adds each decision to its result. The
 * decision may come from any process, so the log is asked, at growing intervals (25 ms to
 * 250 ms): a registrar at a desk sees REGISTERED at once when the hook is quick.
 */
export async function awaitDecisions(
  registry: Registry,
  results: ActionResult[],
  recordOf: (actionId: string) => string | undefined,
  seconds: number,
): Promise<ActionResult[]> {
  const waiting = new Map<string, string>();
  for (const result of results) {
    const recordId = recordOf(result.id);
    if (result.outcome === 'requested' && recordId) waiting.set(result.id, recordId);
  }
  if (waiting.size === 0 || seconds <= 0) return results;
  const decided = new Map<string, ActionResult['decision']>();
  const deadline = Date.now() + seconds * 1000;
  for (let delay = 25; waiting.size > 0; delay = Math.min(delay * 2, 250)) {
    const requests = [...waiting].map(([requestId, recordId]) => ({ requestId, recordId }));
    for (const [requestId, entry] of await findDecisions(registry.db, requests)) {
      decided.set(requestId, entry);
      waiting.delete(requestId);
    }
    const left = deadline - Date.now();
    if (waiting.size === 0 || left <= 0) break;
    await sleep(Math.min(delay, left));
  }
  return results.map((result) => {
    const decision = decided.get(result.id);
    return decision ? { ...result, decision } : result;
  });
}
