import {
  consentFieldName,
  consentStandingAt,
  type Consent,
  type ExchangeFieldConfig,
} from '@registra/core';
import type { AuditedField, ExchangeHost } from './host.js';
import type { Consents } from './consents.js';
import { PolicyDecisionPoint } from './policy.js';
import { FieldPath, ProviderError, providerFetch, type ProviderFetch } from './providers.js';

/**
 * One consumer's question about one subject, answered field by field (PROTOCOL 12): the consent
 * first, then the policy, then the providers of the fields still allowed, all at once, each
 * within its timeout. Every field asked is either given or withheld with its code; the audit row
 * is written before the answer is returned, so there is no answer without its audit.
 */

export const WITHHELD_CODES = [
  'CONSENT_REQUIRED',
  'CONSENT_EXPIRED',
  'CONSENT_REVOKED',
  'POLICY_DENIED',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_TIMEOUT',
] as const;
export type WithheldCode = (typeof WITHHELD_CODES)[number];

export interface Withheld {
  code: WithheldCode;
  message: string;
  consentUrl?: string;
}

export interface PersonAnswer {
  values: Record<string, string | null>;
  withheld: Record<string, Withheld>;
}

interface Field {
  config: ExchangeFieldConfig;
  consentName: string;
  path: FieldPath;
}

/**
 * What one GraphQL request has already looked up: the same consent asked by several `person`
 * selections (aliases) of one request is read once. Made per request, dropped with it, so a
 * revocation still takes effect on the next request.
 */
export type QueryMemo = Map<string, Promise<Consent | null>>;

export class FederatedQuery {
  readonly #fields: ReadonlyMap<string, Field>;
  readonly #providers: ReadonlyMap<string, ProviderFetch | null>;
  /** The providers that are this registry's own records (read alongside the consent). */
  readonly #internal: ReadonlySet<string>;
  readonly policy: PolicyDecisionPoint;

  constructor(
    private readonly host: ExchangeHost,
    private readonly consents: Consents,
  ) {
    const exchange = host.config.document.exchange;
    if (!exchange) throw new Error('the configuration has no exchange');
    this.policy = new PolicyDecisionPoint(exchange);
    this.#fields = new Map(
      exchange.fields.map((config) => [
        config.name,
        { config, consentName: consentFieldName(config), path: new FieldPath(config.path) },
      ]),
    );
    const registry = {
      subject: (subjectId: string) => host.store.subject(exchange.subject.recordType, subjectId),
    };
    this.#providers = new Map(
      exchange.providers.map((p) => [p.id, providerFetch(p, registry, host.env)]),
    );
    this.#internal = new Set(
      exchange.providers.filter((p) => p.kind === 'registry').map((p) => p.id),
    );
  }

  get fields(): ExchangeFieldConfig[] {
    return [...this.#fields.values()].map((f) => f.config);
  }

  /** Answers `names` (Person's field names) about the subject for the consumer, and audits it. */
  async person(
    consumer: string,
    subjectId: string,
    names: readonly string[],
    consentId?: string,
    memo: QueryMemo = new Map(),
  ): Promise<PersonAnswer> {
    const now = this.host.now();
    // This registry's own records are read while the consent is: one wait instead of two. What
    // is read stays here unless the consent and the policy allow it; an external provider is
    // never asked before they do (the question itself would tell it about the subject).
    const prefetched = new Map<string, Promise<unknown>>();
    for (const name of new Set(names)) {
      const provider = this.#fields.get(name)?.config.provider;
      if (!provider || !this.#internal.has(provider) || prefetched.has(provider)) continue;
      const fetch = this.#providers.get(provider);
      if (!fetch) continue;
      const read = fetch(subjectId);
      read.catch(() => undefined); // its failure is handled where it is awaited, if it is
      prefetched.set(provider, read);
    }
    const key = `${consumer}\u0000${subjectId}\u0000${consentId ?? ''}`;
    let lookup = memo.get(key);
    if (!lookup) {
      lookup = consentId
        ? this.host.store.consent(consentId)
        : this.host.store.latestConsent(consumer, subjectId);
      memo.set(key, lookup);
    }
    const consent = await lookup;
    // A consent of another consumer or subject is no consent of this question.
    const own =
      consent && consent.consumer === consumer && consent.subjectId === subjectId ? consent : null;
    const answer: PersonAnswer = { values: {}, withheld: {} };
    const allowed: Field[] = [];
    const reasons = new Map<string, string>();
    for (const name of new Set(names)) {
      const field = this.#fields.get(name);
      if (!field) continue; // GraphQL validation refused unknown fields before this.
      const refusal = this.#consentRefusal(own, field, now);
      if (refusal) {
        answer.withheld[name] = refusal;
        continue;
      }
      const decision = this.policy.decide(consumer, field.consentName, {
        purpose: (own as Consent).purpose,
        consent: own as Consent,
        now,
      });
      if (!decision.allowed) {
        answer.withheld[name] = { code: 'POLICY_DENIED', message: 'the policy does not allow it' };
        reasons.set(name, decision.reason);
        continue;
      }
      allowed.push(field);
    }
    const latencies = await this.#fetch(subjectId, allowed, answer, reasons, prefetched);
    await this.host.store.writeAudit({
      at: now.toISOString(),
      consumer,
      subjectId,
      purpose: own?.purpose ?? null,
      consentId: own?.id ?? null,
      fields: [...new Set(names)]
        .filter((n) => this.#fields.has(n))
        .map((name): AuditedField => {
          const field = this.#fields.get(name) as Field;
          const withheld = answer.withheld[name];
          const reason = reasons.get(name);
          return {
            field: field.consentName,
            outcome: withheld ? 'withheld' : 'given',
            code: withheld?.code ?? null,
            ...(reason ? { reason } : {}),
          };
        }),
      latencies,
    });
    return answer;
  }

  #consentRefusal(consent: Consent | null, field: Field, now: Date): Withheld | null {
    const requestUrl = `${this.host.publicUrl.replace(/\/$/, '')}/api/v1/consents`;
    if (!consent) {
      return {
        code: 'CONSENT_REQUIRED',
        message: 'no consent of the subject',
        consentUrl: requestUrl,
      };
    }
    switch (consentStandingAt(consent, now)) {
      case 'requested':
        return {
          code: 'CONSENT_REQUIRED',
          message: 'the subject has not decided yet',
          consentUrl: this.consents.portalUrl(consent.id),
        };
      case 'rejected':
        return {
          code: 'CONSENT_REQUIRED',
          message: 'the subject rejected the consent',
          consentUrl: requestUrl,
        };
      case 'revoked':
        return { code: 'CONSENT_REVOKED', message: 'the subject revoked the consent' };
      case 'expired':
        return { code: 'CONSENT_EXPIRED', message: `the consent expired at ${consent.expiresAt}` };
      case 'approved':
        return consent.fields.includes(field.consentName)
          ? null
          : {
              code: 'CONSENT_REQUIRED',
              message: `the consent does not cover ${field.consentName}`,
              consentUrl: requestUrl,
            };
    }
  }

  /** Each provider asked once, all at once; a provider's failure withholds its fields only. */
  async #fetch(
    subjectId: string,
    fields: Field[],
    answer: PersonAnswer,
    reasons: Map<string, string>,
    prefetched: ReadonlyMap<string, Promise<unknown>>,
  ): Promise<Record<string, number>> {
    const byProvider = new Map<string, Field[]>();
    for (const field of fields) {
      byProvider.set(field.config.provider, [
        ...(byProvider.get(field.config.provider) ?? []),
        field,
      ]);
    }
    const latencies: Record<string, number> = {};
    await Promise.all(
      [...byProvider].map(async ([providerId, provided]) => {
        const started = performance.now();
        try {
          const fetch = this.#providers.get(providerId);
          if (!fetch)
            throw new ProviderError('PROVIDER_UNAVAILABLE', 'the provider is not configured here');
          const document = await (prefetched.get(providerId) ?? fetch(subjectId));
          for (const field of provided) {
            answer.values[field.config.name] =
              document === null ? null : await field.path.valueIn(document);
          }
        } catch (error) {
          const code = error instanceof ProviderError ? error.code : 'PROVIDER_UNAVAILABLE';
          for (const field of provided) {
            answer.withheld[field.config.name] = {
              code,
              message: `${providerId}: ${error instanceof ProviderError ? error.message : 'its answer could not be mapped'}`,
            };
            reasons.set(field.config.name, (error as Error).message);
          }
        } finally {
          latencies[providerId] = Math.round((performance.now() - started) * 10) / 10;
        }
      }),
    );
    return latencies;
  }
}
