import type { Consent, RegistryConfig } from '@registra/core';

/**
 * What the exchange needs of the server, and nothing more: the server implements it over its own
 * services and store and passes it in, so the exchange never reads the server's tables.
 */

/** Who appends a consent's entry: the consumer, the citizen, an admin or the exchange's job. */
export interface ConsentActor {
  /** `createdBy` of the entry: a user's id, or `citizen` / `exchange`. */
  id: string;
  role: string;
  /** Where the entry is made; empty: at the consent's own office (where it was requested). */
  officeId: string;
  /** The consent permissions it acts with (core's CONSENT_PERMISSIONS). */
  permissions: string[];
}

/** A consent's entry to append: its CREATE (the request) or one of its CUSTOM changes. */
export interface ConsentAction {
  id: string;
  recordId: string;
  type: 'CREATE' | 'CUSTOM';
  customType?: string;
  declaration?: Record<string, string>;
  annotation?: Record<string, string>;
}

export interface ConsentAppendResult {
  outcome: 'accepted' | 'requested' | 'rejected';
  code: string | null;
  message: string | null;
}

/** One field of an exchange as the audit keeps it. */
export interface AuditedField {
  field: string;
  outcome: 'given' | 'withheld';
  code: string | null;
  /** The reason of a withheld field (policy diagnostics, provider failure). */
  reason?: string;
}

export interface ExchangeAuditRow {
  at: string;
  consumer: string;
  subjectId: string;
  purpose: string | null;
  consentId: string | null;
  fields: AuditedField[];
  /** Milliseconds each provider took, by provider id. */
  latencies: Record<string, number>;
}

export interface AuditPage {
  results: (ExchangeAuditRow & { id: string })[];
  next: string | null;
}

/** The caller behind an access token, as far as the exchange cares. */
export interface Authenticated {
  userId: string;
  username: string;
  kind: 'user' | 'client';
  role: string;
  officeId: string;
  /** Whether the caller may read every exchange's audit and revoke any consent. */
  admin: boolean;
}

export interface ExchangeStore {
  appendConsent(
    actor: ConsentActor,
    action: ConsentAction,
    expiresAt?: Date,
  ): Promise<ConsentAppendResult>;
  consent(id: string): Promise<Consent | null>;
  /** The consumer's most recently requested consent about the subject. */
  latestConsent(consumer: string, subjectId: string): Promise<Consent | null>;
  consentsOfSubject(subjectId: string): Promise<Consent[]>;
  /**
   * The registry's record of the subject: the declaration of the record of `recordType` whose
   * registration number is `subjectId`, or null.
   */
  subject(recordType: string, subjectId: string): Promise<Record<string, unknown> | null>;
  saveCode(consentId: string, codeHash: string, expiresAt: Date): Promise<void>;
  /** Whether a live code of the consent has this hash; counts the attempt (at most 5 per code). */
  checkCode(consentId: string, codeHash: string, now: Date): Promise<boolean>;
  saveSession(tokenHash: string, subjectId: string, expiresAt: Date): Promise<void>;
  /** The subject a live citizen session is for, or null. */
  session(tokenHash: string, now: Date): Promise<string | null>;
  writeAudit(row: ExchangeAuditRow): Promise<void>;
  audit(filter: {
    subjectId?: string;
    consumer?: string;
    limit: number;
    after?: string;
  }): Promise<AuditPage>;
}

export type MakeProblem = (
  status: number,
  code: string,
  detail: string,
  extra?: Record<string, unknown>,
) => Error;

export interface ExchangeHost {
  config: RegistryConfig;
  store: ExchangeStore;
  now(): Date;
  /** The deployment's public URL: the portal's links start with it. */
  publicUrl: string;
  /** The caller behind `Authorization`, or a 401 problem. */
  authenticate(authorization: string | undefined): Promise<Authenticated>;
  problem: MakeProblem;
  /** Whether an error is one of `problem`'s (the app answers it as problem+json). */
  isProblem(error: unknown): boolean;
  /** Environment variables (providers' `urlEnv`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Where a one-time code goes when no message hook is configured: the server's log. */
  logCode(line: { consentId: string; code: string }): void;
}
