import {
  CONSENT_ACTIONS,
  CONSENT_PERMISSIONS,
  CONSENT_RECORD_TYPE,
  consentFieldName,
  consentStandingAt,
  consumerUsername,
  type Consent,
  type ExchangeConfig,
} from '@registra/core';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Authenticated, ConsentActor, ExchangeHost } from './host.js';

/**
 * Consents (PROTOCOL 12): the consumer asks, the citizen decides with a one-time code, the
 * citizen or an admin revokes, the job expires. Each change is an entry of the consent's record,
 * appended through the server's one append path, whose workflow refuses a second decision.
 */

export interface ConsentRequest {
  subjectId: string;
  purpose: string;
  fields: string[];
  expiresAt: string;
}

export interface ConsentView extends Consent {
  portalUrl: string;
  consumerLabel: string;
  purposeLabel: string;
  fieldLabels: { field: string; label: string }[];
}

/** A citizen's signed-in session: the token and until when it holds. */
export interface CitizenSession {
  token: string;
  expiresAt: string;
}

export type Decision = 'approve' | 'reject';

const SESSION_MINUTES = 30;
/** Who the citizen is in a consent's log: a person the registry knows only as the subject. */
export const CITIZEN = 'citizen';
/** The exchange's own appender, for expiry. */
export const EXCHANGE = 'exchange';

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export class Consents {
  readonly #exchange: ExchangeConfig;

  constructor(private readonly host: ExchangeHost) {
    if (!host.config.document.exchange) throw new Error('the configuration has no exchange');
    this.#exchange = host.config.document.exchange;
  }

  /** The configured consumer a machine client is, or a 403. */
  consumerOf(caller: Authenticated): ExchangeConfig['consumers'][number] {
    const consumer = this.#exchange.consumers.find((c) => consumerUsername(c) === caller.username);
    if (!consumer || caller.kind !== 'client') {
      throw this.host.problem(403, 'FORBIDDEN', 'only a configured consumer may do this');
    }
    return consumer;
  }

  portalUrl(id: string): string {
    return `${this.host.publicUrl.replace(/\/$/, '')}/consent/${id}`;
  }

  async request(caller: Authenticated, request: ConsentRequest): Promise<ConsentView> {
    const consumer = this.consumerOf(caller);
    const known = new Set(this.#exchange.fields.map(consentFieldName));
    const errors = [
      ...request.fields.flatMap((field, i) =>
        known.has(field)
          ? []
          : [{ path: `fields.${i}`, message: `"${field}" is not an exchanged field` }],
      ),
      ...(consumer.purposes.includes(request.purpose)
        ? []
        : [
            { path: 'purpose', message: `"${request.purpose}" is not a purpose of ${consumer.id}` },
          ]),
    ];
    const now = this.host.now();
    const expiresAt = Date.parse(request.expiresAt);
    const longest = now.getTime() + this.#exchange.maxConsentDays * 86_400_000;
    if (!(expiresAt > now.getTime()) || expiresAt > longest) {
      errors.push({
        path: 'expiresAt',
        message: `must be in the future, at most ${this.#exchange.maxConsentDays} days ahead`,
      });
    }
    if (errors.length > 0) {
      throw this.host.problem(400, 'INVALID_INPUT', 'the consent request is not valid', { errors });
    }
    const id = uuidv7();
    const actor: ConsentActor = {
      id: caller.userId,
      role: caller.role,
      officeId: caller.officeId,
      permissions: [CONSENT_PERMISSIONS.request],
    };
    const result = await this.host.store.appendConsent(
      actor,
      {
        id: uuidv7(),
        recordId: id,
        type: 'CREATE',
        declaration: {
          consumer: consumer.id,
          subjectId: request.subjectId,
          purpose: request.purpose,
          fields: [...new Set(request.fields)].join(','),
          expiresAt: new Date(expiresAt).toISOString(),
        },
      },
      new Date(expiresAt),
    );
    if (result.outcome === 'rejected') {
      throw this.host.problem(400, 'INVALID_INPUT', result.message ?? 'the consent was refused');
    }
    return this.view(await this.#find(id));
  }

  /** A consent as shown to its consumer, the citizen or an admin, with the words of the portal. */
  view(consent: Consent): ConsentView {
    const labels = new Map(this.#exchange.fields.map((f) => [consentFieldName(f), f.label]));
    const standing = consentStandingAt(consent, this.host.now());
    return {
      ...consent,
      status: standing,
      portalUrl: this.portalUrl(consent.id),
      consumerLabel:
        this.#exchange.consumers.find((c) => c.id === consent.consumer)?.label ?? consent.consumer,
      purposeLabel:
        this.#exchange.purposes.find((p) => p.id === consent.purpose)?.label ?? consent.purpose,
      fieldLabels: consent.fields.map((field) => ({ field, label: labels.get(field) ?? field })),
    };
  }

  /** Open (the portal shows it before sign-in): what is asked, by whom, why, until when. */
  async get(id: string): Promise<ConsentView> {
    return this.view(await this.#find(id));
  }

  /**
   * Sends a one-time code to the contact the registry holds for the subject. With no message hook
   * it is written to the server's log (a development default). Answers the same whether or not a
   * contact exists, so that the open endpoint tells nothing about the subject.
   */
  async sendCode(id: string): Promise<{ sent: true; expiresAt: string }> {
    const consent = await this.#find(id);
    const minutes = this.#exchange.codeMinutes;
    const expiresAt = new Date(this.host.now().getTime() + minutes * 60_000);
    const subject = await this.host.store.subject(
      this.#exchange.subject.recordType,
      consent.subjectId,
    );
    const contact = subject?.[this.#exchange.subject.contactField];
    if (typeof contact === 'string' && contact.length > 0) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await this.host.store.saveCode(id, hashSecret(`${id}:${code}`), expiresAt);
      this.host.logCode({ consentId: id, code });
    }
    return { sent: true, expiresAt: expiresAt.toISOString() };
  }

  /** Signs the citizen in with a code of this consent: a session for the subject's consents. */
  async signIn(id: string, code: string): Promise<{ consent: Consent; session: CitizenSession }> {
    const consent = await this.#find(id);
    const ok = await this.host.store.checkCode(id, hashSecret(`${id}:${code}`), this.host.now());
    if (!ok) throw this.host.problem(401, 'INVALID_CODE', 'the code is wrong or no longer valid');
    const token = `cs_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(this.host.now().getTime() + SESSION_MINUTES * 60_000);
    await this.host.store.saveSession(hashSecret(token), consent.subjectId, expiresAt);
    return { consent, session: { token, expiresAt: expiresAt.toISOString() } };
  }

  /** The subject a citizen's session token is for, or a 401. */
  async citizen(token: string): Promise<string> {
    const subjectId = await this.host.store.session(hashSecret(token), this.host.now());
    if (!subjectId) throw this.host.problem(401, 'INVALID_TOKEN', 'sign in again with a new code');
    return subjectId;
  }

  /**
   * The citizen's decision, with a code or a session of theirs. A decided consent is never decided
   * again: the workflow refuses it (the refusal stays in the consent's log) and it answers 409.
   */
  async decide(
    id: string,
    decision: Decision,
    proof: { code: string } | { session: string },
  ): Promise<{ consent: ConsentView; session: CitizenSession | null }> {
    let consent = await this.#find(id);
    let session: CitizenSession | null = null;
    if ('code' in proof) {
      ({ session } = await this.signIn(id, proof.code));
    } else if ((await this.citizen(proof.session)) !== consent.subjectId) {
      throw this.host.problem(404, 'NOT_FOUND', 'no such consent');
    }
    if (
      consentStandingAt(consent, this.host.now()) === 'expired' &&
      consent.status === 'requested'
    ) {
      throw this.host.problem(409, 'CONSENT_EXPIRED', 'the consent request has expired');
    }
    await this.#change(
      consent,
      decision === 'approve' ? CONSENT_ACTIONS.approve : CONSENT_ACTIONS.reject,
      {
        id: CITIZEN,
        role: CITIZEN,
        officeId: '',
        permissions: [CONSENT_PERMISSIONS.decide],
      },
    );
    consent = await this.#find(id);
    return { consent: this.view(consent), session };
  }

  /** Revocation by the citizen (a session of theirs) or an admin; takes effect at once. */
  async revoke(
    id: string,
    by: { session: string } | { admin: Authenticated },
    reason: string | undefined,
  ): Promise<ConsentView> {
    const consent = await this.#find(id);
    let actor: ConsentActor;
    if ('session' in by) {
      if ((await this.citizen(by.session)) !== consent.subjectId) {
        throw this.host.problem(404, 'NOT_FOUND', 'no such consent');
      }
      actor = {
        id: CITIZEN,
        role: CITIZEN,
        officeId: '',
        permissions: [CONSENT_PERMISSIONS.revoke],
      };
    } else {
      if (!by.admin.admin)
        throw this.host.problem(403, 'FORBIDDEN', 'only the citizen or an admin may revoke');
      actor = {
        id: by.admin.userId,
        role: by.admin.role,
        officeId: '',
        permissions: [CONSENT_PERMISSIONS.revoke],
      };
    }
    await this.#change(consent, CONSENT_ACTIONS.revoke, actor, reason ? { reason } : undefined);
    return this.view(await this.#find(id));
  }

  /** The job at `expiresAt`: appends EXPIRE_CONSENT unless the consent already ended. */
  async expire(id: string): Promise<'expired' | 'already ended' | 'not yet' | 'unknown'> {
    const consent = await this.host.store.consent(id);
    if (!consent) return 'unknown';
    if (consent.status !== 'requested' && consent.status !== 'approved') return 'already ended';
    if (Date.parse(consent.expiresAt) > this.host.now().getTime()) return 'not yet';
    await this.#change(consent, CONSENT_ACTIONS.expire, {
      id: EXCHANGE,
      role: EXCHANGE,
      officeId: '',
      permissions: [CONSENT_PERMISSIONS.expire],
    });
    return 'expired';
  }

  /** The consents about the signed-in citizen. */
  async ofCitizen(session: string): Promise<ConsentView[]> {
    const subjectId = await this.citizen(session);
    return (await this.host.store.consentsOfSubject(subjectId)).map((c) => this.view(c));
  }

  async #change(
    consent: Consent,
    customType: string,
    actor: ConsentActor,
    annotation?: Record<string, string>,
  ): Promise<void> {
    const result = await this.host.store.appendConsent(actor, {
      id: uuidv7(),
      recordId: consent.id,
      type: 'CUSTOM',
      customType,
      ...(annotation ? { annotation } : {}),
    });
    if (result.outcome === 'rejected') {
      const code =
        result.code === 'INVALID_TRANSITION' ? 'CONSENT_DECIDED' : (result.code ?? 'CONFLICT');
      throw this.host.problem(
        409,
        code,
        `the consent is ${consent.status}: ${result.message ?? ''}`.trim(),
      );
    }
  }

  async #find(id: string): Promise<Consent> {
    const consent = /^[0-9a-f-]{36}$/i.test(id) ? await this.host.store.consent(id) : null;
    if (!consent) throw this.host.problem(404, 'NOT_FOUND', 'no such consent');
    return consent;
  }
}

export { CONSENT_RECORD_TYPE };
