import { KEY_PURPOSE, type DciConfig } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import { writeAll } from '../../store/append.js';
import {
  activeSubscription,
  endSubscriptions,
  insertCallbackStatement,
  insertSubscriptions,
  type CallbackKind,
} from '../../store/dci-callbacks.js';
import { insertExchangeAudit } from '../../store/exchange.js';
import { addJob, type JobQueue } from '../../jobs/index.js';
import type { Registry } from '../context.js';
import { dciProblem, ProblemError } from '../problem.js';
import { dciCallbackTask, sendCallbacks, type CallbackContext } from './callbacks.js';
import {
  signEnvelope,
  signingJwkFrom,
  signingKey,
  type DciEnvelope,
  type SigningKey,
} from './envelope.js';
import {
  SearchRequestSchema,
  SubscribeRequestSchema,
  TxnStatusRequestSchema,
  UnsubscribeRequestSchema,
  type Envelope,
} from './messages.js';
import { loadPartners, receiveEnvelope, type Partner } from './partners.js';
import { searchRegistry } from './search.js';
import { txnStatusOf } from './txn-status.js';
import type { z } from 'zod';

export { DCI_SEARCH_PURPOSE } from './search.js';
export { dciCallbackTask, dciOutbox } from './callbacks.js';

type Status = 'succ' | 'rjct' | 'rcvd' | 'pdng';

/** DCI callbacks to partners (on-search, on-subscribe, notify, …), when DCI is on (issue 16). */
export function defineDciJobs(
  jobs: JobQueue,
  registry: Registry,
  env: Readonly<Record<string, string | undefined>> = process.env,
): JobQueue {
  let dci: Promise<DciService | null> | null = null;
  return jobs.define({
    ...dciCallbackTask,
    run: async ({ id, entryId }) => {
      dci ??= DciService.open(registry, env);
      const service = await dci;
      if (!service) return;
      await service.send(id ? { id } : { entryId: entryId ?? '' });
    },
  });
}

/**
 * The DCI / SPDCI registry API (issue 16): partners' signed requests in, signed answers out. Off
 * (null) when the configuration has no `dci` or its signing key is not in the environment.
 */
export class DciService implements CallbackContext {
  private constructor(
    readonly registry: Registry,
    readonly dci: DciConfig,
    readonly signer: SigningKey,
    readonly partners: ReadonlyMap<string, Partner>,
  ) {}

  static async open(
    registry: Registry,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): Promise<DciService | null> {
    const dci = registry.config.document.dci;
    if (!dci) return null;
    const jwk = signingJwkFrom(env, dci.signingKeyEnv);
    if (!jwk) return null;
    return new DciService(registry, dci, await signingKey(jwk), await loadPartners(dci, env));
  }

  /** `GET /dci/.well-known/jwks.json`: the key partners verify the registry's answers with. */
  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: [{ ...this.signer.publicJwk, [KEY_PURPOSE]: 'dci' }] };
  }

  /** The checked envelope of a request, or a refusal that is audited like any access. */
  async receive(body: unknown, action: string): Promise<{ partner: Partner; envelope: Envelope }> {
    try {
      return await receiveEnvelope(this.partners, this.dci.registryId, body, action);
    } catch (error) {
      if (error instanceof ProblemError) {
        const sender = (body as { header?: { sender_id?: unknown } } | null)?.header?.sender_id;
        await this.audit(
          typeof sender === 'string' ? sender.slice(0, 99) : '?',
          action,
          error.code,
        );
      }
      throw error;
    }
  }

  private audit(partner: string, action: string, code: string | null): Promise<void> {
    return insertExchangeAudit(this.registry.db, {
      at: this.registry.now().toISOString(),
      consumer: partner,
      subjectId: '-',
      purpose: `dci.${action}`,
      consentId: null,
      fields: [{ field: `dci.${action}`, outcome: code ? 'withheld' : 'given', code }],
      latencies: {},
    });
  }

  /** The message of a request, read with the standard's schema, or a refusal. */
  private read<T extends z.ZodType>(schema: T, envelope: Envelope, name: string): z.infer<T> {
    const parsed = schema.safeParse(envelope.message);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw dciProblem(
      400,
      'INVALID_INPUT',
      'err.request.bad',
      `message.${issue?.path.join('.') ?? ''}`,
      `not a ${name}: ${issue?.message ?? ''}`,
    );
  }

  /** The header of an answer to `partner` (MsgCallbackHeader). */
  header(
    action: string,
    partner: Partner,
    status: Status,
    total: number,
    completed: number,
    messageId: string = uuidv7(),
  ) {
    return {
      version: '1.0.0',
      message_id: messageId,
      message_ts: this.registry.now().toISOString(),
      action,
      status,
      total_count: total,
      completed_count: completed,
      sender_id: this.dci.registryId,
      receiver_id: partner.config.id,
      is_msg_encrypted: false,
    };
  }

  /** The standard's acknowledgement (`Response`), signed like every answer. */
  private ack(partner: Partner, action: string, correlationId: string): Promise<DciEnvelope> {
    return signEnvelope(this.signer, this.header(action, partner, 'rcvd', 1, 0), {
      ack_status: 'ACK',
      timestamp: this.registry.now().toISOString(),
      correlation_id: correlationId,
    });
  }

  /** `POST /dci/registry/sync/search`: the signed SearchResponse. */
  async syncSearch(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'search');
    const message = this.read(SearchRequestSchema, envelope, 'SearchRequest');
    const response = await searchRegistry(this.registry, this.dci, partner, message);
    const succeeded = response.search_response.filter((r) => r.status === 'succ').length;
    const header = this.header(
      'on-search',
      partner,
      succeeded > 0 ? 'succ' : 'rjct',
      response.search_response.length,
      response.search_response.length,
    );
    return signEnvelope(this.signer, header, response);
  }

  /**
   * A callback to send: written, then its job added, in one transaction. A `payload` made by a
   * function is made in that transaction (from what it changes there), so that the job, which may
   * run the moment it commits, never finds the callback without its message.
   */
  private async enqueue(
    partner: Partner,
    kind: Exclude<CallbackKind, 'notify'>,
    transactionId: string,
    payload:
      | Record<string, unknown>
      | ((trx: Registry['db'], correlationId: string) => Promise<Record<string, unknown>>),
  ): Promise<string> {
    if (!partner.callbackUrl) {
      throw dciProblem(
        400,
        'DCI_NO_CALLBACK',
        'err.sender_uri.invalid',
        'header.sender_uri',
        'this partner has no callback address configured',
      );
    }
    const id = uuidv7();
    const correlationId = uuidv7();
    await this.registry.db.transaction().execute(async (trx) => {
      const made = typeof payload === 'function' ? await payload(trx, correlationId) : payload;
      await writeAll(trx, [
        insertCallbackStatement({
          id,
          partner: partner.config.id,
          kind,
          transactionId,
          correlationId,
          payload: made,
        }),
      ]);
      await addJob(trx, dciCallbackTask, { payload: { id }, jobKey: `dci.callback:${id}` });
    });
    return correlationId;
  }

  /** `POST /dci/registry/search`: acknowledged now, answered by `/registry/on-search`. */
  async asyncSearch(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'search');
    const request = this.read(SearchRequestSchema, envelope, 'SearchRequest');
    const correlationId = await this.enqueue(partner, 'on-search', request.transaction_id, {
      request,
    });
    return this.ack(partner, 'search', correlationId);
  }

  /**
   * `POST /dci/registry/subscribe`: each subscription to a life event the record type configures
   * (and the partner's scope covers); the codes are sent by `/registry/on-subscribe`.
   */
  async subscribe(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'subscribe');
    const request = this.read(SubscribeRequestSchema, envelope, 'SubscribeRequest');
    const now = this.registry.now().toISOString();
    const created: Parameters<typeof insertSubscriptions>[1] = [];
    const subscribe_response: Record<string, unknown>[] = [];
    for (const item of request.subscribe_request) {
      const criteria = item.subscribe_criteria;
      const type = this.dci.recordTypes.find(
        (t) =>
          partner.config.scopes[t.recordType] !== undefined &&
          (t.recordType === criteria.notify_record_type ||
            t.name === criteria.notify_record_type) &&
          t.events.some((e) => e.event === criteria.reg_event_type),
      );
      const filterless =
        (Array.isArray(criteria.filter) && criteria.filter.length === 0) ||
        (typeof criteria.filter === 'object' &&
          criteria.filter !== null &&
          Object.keys(criteria.filter).length === 0);
      const base = { reference_id: item.reference_id, timestamp: now };
      if (!type) {
        subscribe_response.push({
          ...base,
          status: 'rjct',
          status_reason_code: 'rjct.notify_types.invalid',
          status_reason_message: `no event "${criteria.reg_event_type}" of "${criteria.notify_record_type}" for this partner`,
        });
        continue;
      }
      if (!filterless) {
        subscribe_response.push({
          ...base,
          status: 'rjct',
          status_reason_code: 'rjct.notify_details.invalid',
          status_reason_message: 'filters are not supported: subscribe with an empty filter ([])',
        });
        continue;
      }
      const existing =
        (await activeSubscription(
          this.registry.db,
          partner.config.id,
          type.recordType,
          criteria.reg_event_type,
        )) ??
        created.find((c) => c.recordType === type.recordType && c.event === criteria.reg_event_type)
          ?.code;
      if (existing) {
        subscribe_response.push({
          ...base,
          status: 'rjct',
          status_reason_code: 'rjct.event.already_subscribed',
          status_reason_message: `already subscribed: ${existing}`,
        });
        continue;
      }
      const code = uuidv7();
      created.push({
        code,
        partner: partner.config.id,
        recordType: type.recordType,
        event: criteria.reg_event_type,
        transactionId: request.transaction_id,
        referenceId: item.reference_id,
        criteria,
      });
      subscribe_response.push({
        ...base,
        status: 'succ',
        subscriptions: [
          {
            version: '1.0.0',
            code,
            // The standard's SubscriptionInfo requires these two names besides its properties.
            subscription_code: code,
            subscribe_criteria: criteria,
            status: 'subscribe',
            timestamp: now,
            reg_type: this.dci.registryType,
            reg_event_type: criteria.reg_event_type,
            filter_type: criteria.filter_type,
            filter: criteria.filter,
            notify_record_type: criteria.notify_record_type,
          },
        ],
      });
    }
    const correlationId = await this.enqueue(
      partner,
      'on-subscribe',
      request.transaction_id,
      async (trx) => {
        await insertSubscriptions(trx, created);
        return { message: { transaction_id: request.transaction_id, subscribe_response } };
      },
    );
    await this.audit(partner.config.id, 'subscribe', null);
    return this.ack(partner, 'subscribe', correlationId);
  }

  /** `POST /dci/registry/unsubscribe`: ends the partner's own subscriptions. */
  async unsubscribe(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'unsubscribe');
    const request = this.read(UnsubscribeRequestSchema, envelope, 'UnSubscribeRequest');
    // The outcome is made with the change, in its transaction: the callback's job may run the
    // moment it commits.
    const correlationId = await this.enqueue(
      partner,
      'on-unsubscribe',
      request.transaction_id,
      async (trx, correlationId) => {
        const statuses = await endSubscriptions(trx, partner.config.id, request.subscription_codes);
        const unknown = request.subscription_codes.filter((c) => !statuses.has(c));
        const ended = [...statuses.entries()].filter(([, s]) => s === 'subscribe');
        const message = {
          transaction_id: request.transaction_id,
          correlation_id: correlationId,
          timestamp: this.registry.now().toISOString(),
          status: unknown.length > 0 || ended.length === 0 ? 'rjct' : 'succ',
          ...(unknown.length > 0
            ? {
                status_reason_code: 'rjct.subscription_code.invalid',
                status_reason_message: `unknown: ${unknown.join(', ')}`,
              }
            : ended.length === 0
              ? { status_reason_code: 'rjct.event.already_unsubscribed' }
              : {}),
          subscription_status: [...statuses.keys()].map((code) => ({
            code,
            status: 'unsubscribe',
          })),
        };
        return { message };
      },
    );
    await this.audit(partner.config.id, 'unsubscribe', null);
    return this.ack(partner, 'unsubscribe', correlationId);
  }

  /** `POST /dci/registry/sync/txn/status`: what became of the partner's own transaction. */
  async syncTxnStatus(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'txn-status');
    const request = this.read(TxnStatusRequestSchema, envelope, 'TxnStatusRequest');
    const { message, status } = await txnStatusOf(this.registry, partner, request);
    await this.audit(partner.config.id, 'txn-status', null);
    return signEnvelope(this.signer, this.header('txn-on-status', partner, status, 1, 1), message);
  }

  /**
   * `POST /dci/registry/txn/status`: acknowledged now, answered by `/registry/txn/on-status` with
   * what the sync status would answer when the callback is sent.
   */
  async asyncTxnStatus(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'txn-status');
    const request = this.read(TxnStatusRequestSchema, envelope, 'TxnStatusRequest');
    const correlationId = await this.enqueue(partner, 'txn-on-status', request.transaction_id, {
      request,
    });
    await this.audit(partner.config.id, 'txn-status', null);
    return this.ack(partner, 'txn-status', correlationId);
  }

  /** The job's work: send pending callbacks (callbacks.ts). */
  send(by: { id: string } | { entryId: string }): Promise<void> {
    return sendCallbacks(this, by);
  }
}
