import type { RecordState } from '../contracts/record.js';
import type { RecordTypeConfig } from '../config/schema.js';

/**
 * A consent is a record with its own log in the same store (PROTOCOL 12): the consumer's request
 * is its CREATE, every later change a CUSTOM entry. Its type is made here, from nothing but this
 * file, when the configuration has an `exchange`. A decided consent is never decided again: the
 * decisions forbid each other's flags, so the workflow itself refuses a second one.
 */
export const CONSENT_RECORD_TYPE = 'consent';

export const CONSENT_ACTIONS = {
  approve: 'APPROVE_CONSENT',
  reject: 'REJECT_CONSENT',
  revoke: 'REVOKE_CONSENT',
  expire: 'EXPIRE_CONSENT',
} as const;

/** Permissions only the exchange's own principals hold (never granted by a role). */
export const CONSENT_PERMISSIONS = {
  request: 'consent.request',
  decide: 'consent.decide',
  revoke: 'consent.revoke',
  expire: 'consent.expire',
  read: 'consent.read',
} as const;

export const CONSENT_STATUSES = [
  'requested',
  'approved',
  'rejected',
  'revoked',
  'expired',
] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

const ENDED = ['rejected', 'revoked', 'expired'];

const text = (id: string, label: string, maxLength = 200) => ({
  id,
  label,
  type: 'text' as const,
  required: true,
  maxLength,
});

/** The built-in record type of consents. */
export function consentRecordType(): RecordTypeConfig {
  const custom = (
    id: string,
    label: string,
    permission: string,
    flag: string,
    forbidden: string[],
    requires: string[] = [],
  ) => ({
    id,
    label,
    permission,
    addFlags: [flag],
    removeFlags: [],
    clearsConflicts: false,
    unassign: false,
    requiresFlags: requires,
    forbiddenFlags: forbidden,
    fields: [],
  });
  return {
    id: CONSENT_RECORD_TYPE,
    label: 'Consent',
    concurrency: 'merge',
    readPermission: CONSENT_PERMISSIONS.read,
    title: ['purpose'],
    form: {
      pages: [
        {
          id: 'consent',
          title: 'Consent',
          fields: [
            text('consumer', 'Consumer'),
            text('subjectId', 'Subject', 100),
            text('purpose', 'Purpose'),
            text('fields', 'Fields', 4_000),
            text('expiresAt', 'Expires at', 40),
          ],
        },
      ],
    },
    actions: {
      CREATE: {
        permission: CONSENT_PERMISSIONS.request,
        fields: ['consumer', 'subjectId', 'purpose', 'fields', 'expiresAt'],
        unassign: false,
        requiresFlags: [],
        forbiddenFlags: [],
      },
      CUSTOM: [
        custom(CONSENT_ACTIONS.approve, 'Approve', CONSENT_PERMISSIONS.decide, 'approved', [
          'approved',
          ...ENDED,
        ]),
        custom(CONSENT_ACTIONS.reject, 'Reject', CONSENT_PERMISSIONS.decide, 'rejected', [
          'approved',
          ...ENDED,
        ]),
        custom(CONSENT_ACTIONS.revoke, 'Revoke', CONSENT_PERMISSIONS.revoke, 'revoked', ENDED),
        custom(CONSENT_ACTIONS.expire, 'Expire', CONSENT_PERMISSIONS.expire, 'expired', ENDED),
      ],
    },
  };
}

/** A consent as PROTOCOL 12 shows it. */
export interface Consent {
  id: string;
  status: ConsentStatus;
  consumer: string;
  subjectId: string;
  purpose: string;
  fields: string[];
  expiresAt: string;
  requestedAt: string;
  decidedAt: string | null;
}

/** The consent's status from its record's flags: an ending flag wins over approval. */
export function consentStatus(flags: readonly string[]): ConsentStatus {
  for (const status of ['expired', 'revoked', 'rejected', 'approved'] as const) {
    if (flags.includes(status)) return status;
  }
  return 'requested';
}

/** The consent a consent record holds, or null when the record is not one. */
export function consentOf(record: RecordState): Consent | null {
  if (record.type !== CONSENT_RECORD_TYPE) return null;
  const d = record.declaration as Record<string, unknown>;
  const str = (key: string) => (typeof d[key] === 'string' ? (d[key] as string) : '');
  const status = consentStatus(record.flags);
  return {
    id: record.id,
    status,
    consumer: str('consumer'),
    subjectId: str('subjectId'),
    purpose: str('purpose'),
    fields: str('fields').split(',').filter(Boolean),
    expiresAt: str('expiresAt'),
    requestedAt: record.createdAt,
    decidedAt: status === 'requested' ? null : record.updatedAt,
  };
}

/**
 * The consent's standing at `now`: `expired` as soon as `expiresAt` passes, before the job that
 * appends EXPIRE_CONSENT has run, so that a late job never lets a read through.
 */
export function consentStandingAt(consent: Consent, now: Date): ConsentStatus {
  if (consent.status !== 'approved' && consent.status !== 'requested') return consent.status;
  return Date.parse(consent.expiresAt) <= now.getTime() ? 'expired' : consent.status;
}
