import { dciRecord, dciScopeOf, type DciPermit, type RegistryConfig } from '@registra/core';
import type { Kysely, RawBuilder } from 'kysely';
import { z } from 'zod';
import { jobStatement, type TaskRef } from '../../jobs/index.js';
import {
  findSubscription,
  notificationsStatement,
  pendingCallbacks,
  settleCallback,
  withholdCallback,
  type CallbackKind,
  type CallbackRow,
} from '../../store/dci-callbacks.js';
import type { Database } from '../../db/schema.js';
import { insertExchangeAudit } from '../../store/exchange.js';
import { findRecordState } from '../../store/records.js';
import type { AppendEffect } from '../append/effects.js';
import type { Registry } from '../context.js';
import { openState } from '../vault/open.js';
import { signEnvelope, type SigningKey } from './envelope.js';
import type { SearchRequest, TxnStatusRequest } from './messages.js';
import type { Partner } from './partners.js';
import { subjectPermit } from './permit.js';
import { searchRegistry, type SearchResponse } from './search.js';
import { txnStatusOf } from './txn-status.js';
import type { DciConfig } from '@registra/core';

/**
 * Callbacks to partners (issue 16): the answers of async searches (`/registry/on-search`), of
 * subscriptions (`/registry/on-subscribe`, `/registry/on-unsubscribe`), of async transaction
 * statuses (`/registry/txn/on-status`) and the notifications of life events (`/registry/notify`). Each is a row of the outbox (dci_callbacks) written in the
 * transaction that causes it, sent by a graphile-worker job, signed when sent, and retried with the
 * queue's exponential backoff until the partner answers 2xx: at-least-once, and the partner
 * dedupes on the header's `message_id` (stable per callback). A notification takes the subject's
 * consent as a search does, at each attempt: without it nothing is sent, and the callback is
 * settled `withheld` with the consent's code.
 */
export const dciCallbackTask: TaskRef<{ id?: string | undefined; entryId?: string | undefined }> = {
  name: 'dci.callback',
  payload: z.object({ id: z.uuid().optional(), entryId: z.uuid().optional() }),
};

/** Life events of the appended entries, for the subscriptions to them (the append's outbox). */
export function dciOutbox(config: RegistryConfig): AppendEffect {
  const dci = config.document.dci;
  return {
    writes(appended) {
      if (!dci) return [];
      const writes: RawBuilder<unknown>[] = [];
      for (const { entry, record } of appended) {
        if (entry.status !== 'accepted') continue;
        const type = dci.recordTypes.find((t) => t.recordType === record.type);
        if (!type || !type.statuses.includes(record.status)) continue;
        for (const event of type.events.filter((e) => e.actions.includes(entry.type))) {
          writes.push(
            notificationsStatement({
              recordType: record.type,
              event: event.event,
              entryId: entry.id,
              recordId: entry.recordId,
              at: entry.recordedAt,
            }),
            jobStatement(dciCallbackTask, [
              { payload: { entryId: entry.id }, jobKey: `dci.notify:${entry.id}:${event.event}` },
            ]),
          );
        }
      }
      return writes;
    },
  };
}

/** Where each kind of callback goes under the partner's callback address, and its header's action. */
const CALLBACKS: Record<CallbackKind, { path: string; action: string }> = {
  'on-search': { path: '/registry/on-search', action: 'on-search' },
  'on-subscribe': { path: '/registry/on-subscribe', action: 'on-subscribe' },
  'on-unsubscribe': { path: '/registry/on-unsubscribe', action: 'on-unsubscribe' },
  notify: { path: '/registry/notify', action: 'notify' },
  'txn-on-status': { path: '/registry/txn/on-status', action: 'txn-on-status' },
};

/** The purpose under which notifications sent are written to the exchange audit. */
export const DCI_NOTIFY_PURPOSE = 'dci.notify';

export interface CallbackContext {
  registry: Registry;
  dci: DciConfig;
  signer: SigningKey;
  partners: ReadonlyMap<string, Partner>;
  header(
    action: string,
    partner: Partner,
    status: 'succ' | 'rjct' | 'pdng',
    total: number,
    completed: number,
    messageId?: string,
  ): Record<string, unknown>;
}

/** Sends pending callbacks; throws (the job is retried) when any was not acknowledged. */
export async function sendCallbacks(
  context: CallbackContext,
  by: { id: string } | { entryId: string },
): Promise<void> {
  const failures: string[] = [];
  for (const row of await pendingCallbacks(context.registry.db, by)) {
    const partner = context.partners.get(row.partner);
    const { path, action } = CALLBACKS[row.kind];
    let response: unknown;
    let subject: Subject | null = null;
    try {
      if (!partner?.callbackUrl) throw new Error(`partner "${row.partner}" has no callback URL`);
      const built = await messageOf(context, partner, row);
      if ('withheld' in built) {
        await withhold(context, partner, row, built);
        continue;
      }
      response = built.keep;
      subject = built.subject;
      const envelope = await signEnvelope(
        context.signer,
        context.header(action, partner, built.status, built.total, built.total, row.id),
        built.message,
      );
      const answer = await fetch(`${partner.callbackUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(envelope),
        signal: AbortSignal.timeout(10_000),
      });
      await answer.arrayBuffer();
      if (!answer.ok) throw new Error(`the partner answered ${answer.status}`);
      await settleCallback(context.registry.db, row.id, { ok: true, response });
      if (subject && partner) await auditNotify(context, partner, subject, null);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await settleCallback(context.registry.db, row.id, { ok: false, error: message, response });
      if (subject && partner) await auditNotify(context, partner, subject, 'DCI_CALLBACK_FAILED');
      failures.push(`${row.kind} ${row.id}: ${message}`);
    }
  }
  if (failures.length > 0) throw new Error(`DCI callbacks not delivered: ${failures.join('; ')}`);
}

/**
 * The record a notification is about: who it is, which scope of the partner was sent, and the
 * consent it was sent under (none for an aggregate partner).
 */
interface Subject {
  subjectId: string;
  recordType: string;
  consentId: string | null;
}

/**
 * A notification not to send: the subject's consent does not permit it (why, and about whom), or
 * its subscription ended after it was queued (nothing of the record was read).
 */
type Withheld =
  | { withheld: Extract<DciPermit, { permit: false }>['code']; subject: Subject }
  | { withheld: 'SUBSCRIPTION_ENDED'; subject: null };

/**
 * Settles a notification not to send, in one transaction with its audit row (when it is about a
 * subject): nothing of the record leaves, and it is not retried (a later event is a notification
 * of its own, checked anew).
 */
async function withhold(
  context: CallbackContext,
  partner: Partner,
  row: CallbackRow,
  { withheld: code, subject }: Withheld,
): Promise<void> {
  await context.registry.db.transaction().execute(async (trx) => {
    await withholdCallback(trx, row.id, code);
    if (subject) await auditNotify(context, partner, subject, code, trx);
  });
}

/**
 * A notification in the exchange audit like the requests: the partner, the subject, the fields of
 * its scope, and whether the partner took it (`given`), the attempt failed
 * (`DCI_CALLBACK_FAILED`) or the subject's consent withheld it (`CONSENT_…`).
 */
function auditNotify(
  context: CallbackContext,
  partner: Partner,
  subject: Subject,
  code: string | null,
  db: Kysely<Database> = context.registry.db,
): Promise<void> {
  return insertExchangeAudit(db, {
    at: context.registry.now().toISOString(),
    consumer: partner.config.id,
    subjectId: subject.subjectId,
    purpose: DCI_NOTIFY_PURPOSE,
    consentId: subject.consentId,
    fields: dciScopeOf(partner.config, subject.recordType).map((field) => ({
      field: `${subject.recordType}.${field}`,
      outcome: code ? 'withheld' : 'given',
      code,
    })),
    latencies: {},
  });
}

/** What a callback sends: its message, its header's status and count, what to keep of it. */
interface Built {
  message: unknown;
  status: 'succ' | 'rjct' | 'pdng';
  total: number;
  keep: unknown;
  subject: Subject | null;
}

async function messageOf(
  context: CallbackContext,
  partner: Partner,
  row: CallbackRow,
): Promise<Built | Withheld> {
  const { registry, dci } = context;
  if (row.kind === 'on-search') {
    const answer =
      (row.response as SearchResponse | null) ??
      (await searchRegistry(
        registry,
        dci,
        partner,
        row.payload.request as SearchRequest,
        row.correlationId,
      ));
    const succeeded = answer.search_response.some((r) => r.status === 'succ');
    return {
      message: answer,
      status: succeeded ? 'succ' : 'rjct',
      total: answer.search_response.length,
      keep: answer,
      subject: null,
    };
  }
  if (row.kind === 'txn-on-status') {
    // Made when sent (each attempt anew), as the sync status would answer at that moment.
    const { message, status } = await txnStatusOf(
      registry,
      partner,
      row.payload.request as TxnStatusRequest,
      row.correlationId,
    );
    return { message, status, total: 1, keep: message, subject: null };
  }
  if (row.kind === 'notify') {
    const payload = row.payload as {
      subscription: string;
      referenceId: string;
      recordId: string;
      event: string;
      at: string;
    };
    const subscription = await findSubscription(registry.db, payload.subscription);
    const stored = await findRecordState(registry.db, payload.recordId);
    const type = dci.recordTypes.find((t) => t.recordType === stored?.type);
    if (!subscription || !stored || !type) throw new Error('the subscription or record is gone');
    // Unsubscribed between the event and this attempt: the partner asked for no more.
    if (subscription.status === 'unsubscribe')
      return { withheld: 'SUBSCRIPTION_ENDED', subject: null };
    // The subject's consent as it stands now (each attempt anew), taken as a search takes it.
    const permit = await subjectPermit(registry, partner, stored, registry.now());
    const subject = {
      subjectId: stored.registrationNumber ?? stored.id,
      recordType: stored.type,
      consentId: permit.permit ? permit.consentId : null,
    };
    if (!permit.permit) return { withheld: permit.code, subject };
    const record = await openState(registry, stored);
    const message = {
      transaction_id: row.transactionId,
      notify_event: [
        {
          reference_id: payload.referenceId,
          timestamp: payload.at,
          data: {
            version: '1.0.0',
            reg_type: dci.registryType,
            reg_record_type: type.name,
            reg_event_type: payload.event,
            reg_records: dciRecord(record, type, partner.config),
          },
        },
      ],
    };
    return {
      message,
      status: 'succ',
      total: 1,
      keep: null,
      subject,
    };
  }
  const message = {
    ...(row.payload.message as Record<string, unknown>),
    correlation_id: row.correlationId,
  };
  return { message, status: 'succ', total: 1, keep: message, subject: null };
}
