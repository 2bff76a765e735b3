import { type Entry, type HookConfig, type RecordState } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import type { Webhook } from 'standardwebhooks';
import { addJob } from '../../jobs/index.js';
import {
  attemptStatement,
  claimHead,
  claimNotices,
  finishNotices,
  type AttemptResult,
  type DeliveryRow,
} from '../../store/deliveries.js';
import { loadLogs } from '../../store/entries.js';
import { findRecordState } from '../../store/records.js';
import type { Registry } from '../context.js';
import { nextAttemptAt } from './backoff.js';
import { appendAsHook, type HookAction } from './caller.js';
import type { OutAdapterSender } from '../adapters/out.js';
import { postDelivery, type Answer } from './send.js';
import { deliverTask, deliveryJob } from './tasks.js';

/** What the delivery of a hook's work needs besides the registry. */
export interface DeliveryContext {
  registry: Registry;
  signers: ReadonlyMap<string, Webhook>;
  /** Adapters out (issue 16): their deliveries are mapped and sent with their own headers. */
  adapters: ReadonlyMap<string, OutAdapterSender>;
  /** A token that may only APPROVE or DECLINE this request, as this hook (PROTOCOL 8). */
  confirmationToken(hookId: string, requestId: string): Promise<string>;
  /** Counts attempts' outcomes (metrics). */
  count(hookId: string, outcome: string, n: number): void;
}

/** How many deliveries one job sends before it hands the rest of the record to a new job. */
const PER_JOB = 200;
/** A notify hook's deliveries of one record taken at once, under one lease. */
const PER_CLAIM = 50;
/** Seconds a lease outlives the hook's timeout, for the attempt's bookkeeping. */
const LEASE_MARGIN = 30;

/**
 * The job `hooks.deliver`: sends a record's pending deliveries to one hook in seq order, each
 * only once the one before is done, under a lease; stops at the first that fails, which
 * schedules the record's next attempt (backoff.ts). It goes on until nothing is due, so that an
 * entry appended while it ran is not left behind. A hook that is off leaves its deliveries
 * pending, for when it is on again.
 */
export async function deliverRecord(
  context: DeliveryContext,
  hookId: string,
  recordId: string,
): Promise<void> {
  const { registry } = context;
  const hook = registry.config.hooks.get(hookId);
  const signer = context.signers.get(hookId);
  const adapter = context.adapters.get(hookId);
  if (!hook || (!signer && !adapter)) return;
  for (let sent = 0; sent < PER_JOB;) {
    const step =
      hook.kind === 'notify'
        ? await deliverNotices(context, hook, signer, recordId)
        : signer
          ? await deliverRequest(context, hook, signer, recordId)
          : ({ kind: 'idle', head: null } as const);
    if (step.kind === 'idle') {
      // Not due yet and nobody on it: make sure a job waits for it.
      if (step.head && !step.head.leased) {
        await addJob(
          registry.db,
          deliverTask,
          deliveryJob(hookId, recordId, step.head.nextAttemptAt),
        );
      }
      return;
    }
    if (step.kind === 'failed') {
      await addJob(registry.db, deliverTask, deliveryJob(hookId, recordId, step.nextAttemptAt));
      return;
    }
    sent += step.sent;
  }
  await addJob(registry.db, deliverTask, deliveryJob(hookId, recordId, new Date()));
}

type Step =
  | { kind: 'idle'; head: { nextAttemptAt: Date; leased: boolean } | null }
  | { kind: 'sent'; sent: number }
  | { kind: 'failed'; nextAttemptAt: Date };

/** A notify hook: the record's due deliveries, one after the other, each `{hook, entry, record}`. */
async function deliverNotices(
  context: DeliveryContext,
  hook: HookConfig,
  signer: Webhook | undefined,
  recordId: string,
): Promise<Step> {
  const { registry } = context;
  // The lease is short (a process killed mid-run holds the record that long): a send may start
  // only while it can end within the lease; what is left is released for the next claim.
  const lease = 2 * hook.timeout + LEASE_MARGIN;
  const lastStart = Date.now() + (lease - hook.timeout) * 1000;
  const { claimed, record, head } = await claimNotices(
    registry.db,
    hook.id,
    recordId,
    lease,
    PER_CLAIM,
  );
  if (claimed.length === 0) return { kind: 'idle', head };
  // Payloads are built at send time, with sensitive values in the clear (over TLS) for the hook.
  const keyring = await registry.vault.keyring(registry.db, registry.config, [recordId]);
  const opened = record && keyring.openState(record);
  const delivered: string[] = [];
  let failed: { id: string; error: string; nextAttemptAt: Date } | null = null;
  for (const { delivery, entry } of claimed) {
    if (Date.now() > lastStart) break;
    // An entry is never deleted; a delivery without one has nothing to say.
    const notice = { hook: hook.id, entry: entry && keyring.openBody(entry), record: opened };
    const adapter = context.adapters.get(hook.id);
    const answer: Answer = !entry
      ? { status: 204, body: '' }
      : adapter
        ? await adapter.send(delivery.id, notice, signer)
        : signer
          ? await send(hook, signer, delivery, notice)
          : { error: 'the hook has no signing secret' };
    if ('status' in answer && answer.status >= 200 && answer.status < 300) {
      delivered.push(delivery.id);
      continue;
    }
    failed = {
      id: delivery.id,
      error: describe(answer),
      nextAttemptAt: nextAttemptAt(delivery.attempts + 1, registry.now()),
    };
    break;
  }
  const tried = new Set([...delivered, ...(failed ? [failed.id] : [])]);
  const untried = claimed.map((c) => c.delivery.id).filter((id) => !tried.has(id));
  await finishNotices(registry.db, delivered, failed, untried);
  if (delivered.length > 0) context.count(hook.id, 'delivered', delivered.length);
  if (failed) {
    context.count(hook.id, 'failed', 1);
    return { kind: 'failed', nextAttemptAt: failed.nextAttemptAt };
  }
  return { kind: 'sent', sent: delivered.length };
}

/** A confirm hook: the record's one pending request, if due. */
async function deliverRequest(
  context: DeliveryContext,
  hook: HookConfig,
  signer: Webhook,
  recordId: string,
): Promise<Step> {
  const { claimed, head } = await claimHead(
    context.registry.db,
    hook.id,
    recordId,
    hook.timeout + LEASE_MARGIN,
  );
  if (!claimed) return { kind: 'idle', head };
  const result = await attempt(context, hook, signer, claimed);
  context.count(hook.id, result.done ? result.outcome : 'failed', 1);
  return result.done
    ? { kind: 'sent', sent: 1 }
    : { kind: 'failed', nextAttemptAt: result.nextAttemptAt };
}

/** One attempt at a confirm hook's claimed request; its outcome is written before it returns. */
async function attempt(
  context: DeliveryContext,
  hook: HookConfig,
  signer: Webhook,
  delivery: DeliveryRow,
): Promise<AttemptResult> {
  const { registry } = context;
  const keyring = await registry.vault.keyring(registry.db, registry.config, [delivery.recordId]);
  const stored = await findRecordState(registry.db, delivery.recordId);
  const record = stored && keyring.openState(stored);
  const write = async (result: AttemptResult) => {
    await attemptStatement(delivery.id, result).execute(registry.db);
    return result;
  };
  const failed = (error: string): AttemptResult => ({
    done: false,
    error,
    nextAttemptAt: nextAttemptAt(delivery.attempts + 1, registry.now()),
  });
  if (!record) return write(failed('the record is not in the read model'));

  // A confirm hook: nothing to send once someone has decided the request.
  if (!record.pending.some((p) => p.id === delivery.entryId)) {
    return write({ done: true, outcome: 'decided' });
  }
  const entries = (
    (await loadLogs(registry.db, [delivery.recordId])).get(delivery.recordId) ?? []
  ).map((entry) => keyring.openBody(entry));
  const request = entries.find((e) => e.id === delivery.entryId);
  if (!request) return write(failed('the request is not stored'));
  const answer = await send(hook, signer, delivery, {
    hook: hook.id,
    request,
    record,
    entries,
    confirmationToken: await context.confirmationToken(hook.id, request.id),
  });
  return decideFrom(context, hook, delivery, record, request, answer, failed, write);
}

/** PROTOCOL 8: 200 approves, 400 and 422 decline, 202 waits for the hook's call; else retry. */
async function decideFrom(
  context: DeliveryContext,
  hook: HookConfig,
  delivery: DeliveryRow,
  record: RecordState,
  request: Entry,
  answer: Answer,
  failed: (error: string) => AttemptResult,
  write: (result: AttemptResult) => Promise<AttemptResult>,
): Promise<AttemptResult> {
  if (!('status' in answer)) return write(failed(answer.error));
  if (answer.status === 202) return write({ done: true, outcome: 'deferred' });
  const decision = decisionOf(answer);
  if (typeof decision === 'string') return write(failed(decision));
  const { registry } = context;
  const action: HookAction = {
    id: uuidv7(),
    recordId: record.id,
    type: decision.type,
    requestId: request.id,
    occurredAt: registry.now().toISOString(),
    ...(decision.declaration ? { declaration: decision.declaration } : {}),
    ...(decision.annotation ? { annotation: decision.annotation } : {}),
  };
  if (decision.registrationNumber) action.registrationNumber = decision.registrationNumber;
  const outcome = decision.type === 'APPROVE' ? 'approved' : 'declined';
  const done: AttemptResult = { done: true, outcome };
  const [result] = await appendAsHook(
    registry,
    hook.id,
    [action],
    [attemptStatement(delivery.id, done)],
  );
  if (result && result.outcome !== 'rejected') return done;
  // The decision was refused (the hook's declaration fails the form, say): it is kept in the log
  // as a rejected entry, and the request is sent again later.
  return write(failed(`the ${decision.type} was refused: ${result?.code} ${result?.message}`));
}

interface HookDecision {
  type: 'APPROVE' | 'DECLINE';
  declaration?: Record<string, unknown>;
  annotation?: Record<string, unknown>;
  registrationNumber?: string;
}

/** A decision from a confirm hook's answer, or why the answer is none. */
function decisionOf(answer: { status: number; body: string }): HookDecision | string {
  const { status } = answer;
  if (status !== 200 && status !== 400 && status !== 422) return describe(answer);
  let body: unknown = {};
  try {
    if (answer.body.trim() !== '') body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  // 400 and 422 decline whatever their body: a reason is only asked for.
  const fields = isObject(body) ? body : {};
  if (status === 200 && !isObject(body)) return `${status} with a body that is not a JSON object`;
  if (status !== 200) {
    const given = typeof fields['reason'] === 'string' ? fields['reason'].trim() : '';
    const reason = given.slice(0, 1000) || `declined by the hook (${status}, no reason given)`;
    return { type: 'DECLINE', annotation: { reason } };
  }
  const { declaration, annotation, registrationNumber } = fields;
  if (declaration !== undefined && !isObject(declaration))
    return '200 with a declaration that is not an object';
  if (annotation !== undefined && !isObject(annotation))
    return '200 with an annotation that is not an object';
  if (
    registrationNumber !== undefined &&
    (typeof registrationNumber !== 'string' || !/^[\w./-]{1,64}$/.test(registrationNumber))
  ) {
    return '200 with a registrationNumber that is not 1 to 64 letters, digits, . / - or _';
  }
  return {
    type: 'APPROVE',
    ...(declaration ? { declaration } : {}),
    ...(annotation ? { annotation } : {}),
    ...(registrationNumber ? { registrationNumber } : {}),
  };
}

function send(hook: HookConfig, signer: Webhook, delivery: DeliveryRow, body: object) {
  return postDelivery(hook.url, signer, delivery.id, JSON.stringify(body), hook.timeout * 1000);
}

/** An answer as the delivery's `lastError`. */
function describe(answer: Answer): string {
  if ('error' in answer) return answer.error;
  const text = answer.body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `answered ${answer.status}${text ? `: ${text}` : ''}`;
}
