import type { ConsentStatus } from '@registra/core';
import type { Transport } from './transport.js';

/**
 * The consent portal's calls (PROTOCOL 12), for the citizen a consent is about: open without a
 * staff login, online only. The citizen signs in with a one-time code and gets a session
 * (`Bearer cs_...`) that the caller keeps and passes back; nothing of it is stored on the device.
 */

/** A consent as the portal shows it: what is asked, by whom, why, until when. */
export interface ConsentView {
  id: string;
  status: ConsentStatus;
  consumer: string;
  consumerLabel: string;
  subjectId: string;
  purpose: string;
  purposeLabel: string;
  fields: string[];
  fieldLabels: { field: string; label: string }[];
  expiresAt: string;
  requestedAt: string;
  decidedAt: string | null;
  portalUrl: string;
}

/** The citizen's signed-in session: its token and until when it holds. */
export interface CitizenSession {
  token: string;
  expiresAt: string;
}

/** One exchange about the citizen: who read what, and what was withheld and why. */
export interface AccessEntry {
  at: string;
  consumer: string;
  subjectId: string;
  purpose: string | null;
  consentId: string | null;
  fields: { field: string; outcome: 'given' | 'withheld'; code: string | null }[];
}

export interface MyAccess {
  results: AccessEntry[];
  next: string | null;
  consents: ConsentView[];
}

export interface ConsentPortal {
  /** The consent, before sign-in. */
  get(id: string): Promise<ConsentView>;
  /** Sends a one-time code to the contact the registry holds for the subject. */
  sendCode(id: string): Promise<{ expiresAt: string }>;
  /** Signs in with the code; a wrong or spent code is `LoginRequired`. */
  signIn(id: string, code: string): Promise<{ consent: ConsentView; session: CitizenSession }>;
  /** Approves or rejects; a decided consent is a `ServerProblem` with code CONSENT_DECIDED. */
  decide(id: string, decision: 'approve' | 'reject', session: string): Promise<ConsentView>;
  /** Revokes at once, for good. */
  revoke(id: string, session: string, reason?: string): Promise<ConsentView>;
  /** Who read what about the citizen, newest first, and the consents about them. */
  myAccess(session: string, after?: string): Promise<MyAccess>;
}

const bearer = (session: string) => ({ authorization: `Bearer ${session}` });
const consentPath = (id: string) => `/api/v1/consents/${encodeURIComponent(id)}`;

export function consentPortal(transport: Transport): ConsentPortal {
  return {
    get: async (id) =>
      (await transport.request<ConsentView>('GET', consentPath(id), { auth: false })).body,
    sendCode: async (id) =>
      (
        await transport.request<{ expiresAt: string }>('POST', `${consentPath(id)}/code`, {
          auth: false,
        })
      ).body,
    signIn: async (id, code) =>
      (
        await transport.request<{ consent: ConsentView; session: CitizenSession }>(
          'POST',
          `${consentPath(id)}/session`,
          { auth: false, body: { code } },
        )
      ).body,
    decide: async (id, decision, session) =>
      (
        await transport.request<{ consent: ConsentView }>('POST', `${consentPath(id)}/decision`, {
          auth: false,
          body: { decision },
          headers: bearer(session),
        })
      ).body.consent,
    revoke: async (id, session, reason) =>
      (
        await transport.request<ConsentView>('POST', `${consentPath(id)}/revoke`, {
          auth: false,
          body: reason ? { reason } : {},
          headers: bearer(session),
        })
      ).body,
    myAccess: async (session, after) =>
      (
        await transport.request<MyAccess>(
          'GET',
          `/api/v1/exchange/my-access${after ? `?after=${encodeURIComponent(after)}` : ''}`,
          { auth: false, headers: bearer(session) },
        )
      ).body,
  };
}
