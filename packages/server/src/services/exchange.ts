import { CONSENT_PERMISSIONS, CONSENT_RECORD_TYPE, holds } from '@registra/core';
import type {
  ConsentAction,
  ConsentActor,
  ConsentAppendResult,
  Consents,
  ExchangeHost,
  ExchangeStore,
  FederatedQuery,
} from '@registra/exchange';
import { z } from 'zod';
import { defineTask, jobStatement, type TaskDefinition } from '../jobs/index.js';
import { writeAll } from '../store/append.js';
import {
  checkCode,
  consentOffice,
  consentsOfSubject,
  findConsent,
  findSession,
  findSubject,
  insertCode,
  insertExchangeAudit,
  insertSession,
  latestConsent,
  listExchangeAudit,
} from '../store/exchange.js';
import { afterCommit, appendActions } from './append/index.js';
import type { AuthService } from './auth.js';
import type { Caller, Registry } from './context.js';
import { ProblemError } from './problem.js';
import { appendTransaction } from './transaction.js';
import { MANAGE_USERS } from './users.js';
import { CODE_LIMITS, LoginThrottle } from './login-throttle.js';

/**
 * The server's side of the exchange (packages/exchange): its store over this server's tables, its
 * consents appended through the one append path, and the job that expires them. The package
 * (Cedar's WebAssembly, mercurius, JSONata) is loaded only when the configuration has an exchange,
 * so that the CLI and registries without one do not pay for it.
 */
const loadExchange = () => import('@registra/exchange');

const ExpirePayload = z.object({ consentId: z.uuid() });

/** Expires a consent at its `expiresAt` (graphile-worker, scheduled when the consent is asked). */
export function consentExpiryTask(
  registry: Registry,
): TaskDefinition<z.infer<typeof ExpirePayload>> {
  return defineTask('exchange.consent.expire', ExpirePayload, async ({ consentId }) => {
    if (!registry.config.document.exchange) return;
    const { Consents } = await loadExchange();
    await new Consents(exchangeHost(registry, { publicUrl: '' })).expire(consentId);
  });
}

/** The server as the appender of a consent's entry: the actor with only its consent grants. */
function actorCaller(actor: ConsentActor, officeId: string): Caller {
  const grants = Object.fromEntries(
    [...actor.permissions, CONSENT_PERMISSIONS.read].map((p) => [p, null]),
  );
  return {
    user: {
      id: actor.id,
      username: actor.id,
      name: actor.id,
      role: actor.role,
      officeId,
      kind: 'client',
      active: true,
    },
    principal: { id: actor.id, role: actor.role, officeId, grants },
  };
}

function exchangeStore(registry: Registry): ExchangeStore {
  const { db } = registry;
  const expiry = consentExpiryTask(registry);
  return {
    async appendConsent(
      actor: ConsentActor,
      action: ConsentAction,
      expiresAt?: Date,
    ): Promise<ConsentAppendResult> {
      const officeId = actor.officeId || (await consentOffice(db, action.recordId)) || '';
      const raw = {
        ...action,
        ...(action.type === 'CREATE' ? { recordType: CONSENT_RECORD_TYPE } : {}),
        occurredAt: registry.now().toISOString(),
      };
      const { results, appended } = await appendTransaction(registry, async (trx) => {
        const batch = await appendActions(
          trx,
          registry,
          actorCaller(actor, officeId),
          [{ raw, id: action.id }],
          null,
        );
        const accepted = batch.results[0]?.outcome === 'accepted';
        const jobs =
          accepted && action.type === 'CREATE' && expiresAt
            ? [
                jobStatement(expiry, [
                  {
                    payload: { consentId: action.recordId },
                    runAt: expiresAt,
                    jobKey: `consent-expire:${action.recordId}`,
                  },
                ]),
              ]
            : [];
        await writeAll(trx, [...batch.writes, ...jobs]);
        return batch;
      });
      afterCommit(registry.effects ?? [], appended);
      const result = results[0];
      return {
        outcome: result?.outcome ?? 'rejected',
        code: result?.code ?? null,
        message: result?.message ?? null,
      };
    },
    consent: (id) => findConsent(db, id),
    latestConsent: (consumer, subjectId) => latestConsent(db, consumer, subjectId),
    consentsOfSubject: (subjectId) => consentsOfSubject(db, subjectId),
    subject: (recordType, subjectId) => findSubject(db, recordType, subjectId),
    saveCode: (consentId, codeHash, expiresAt) => insertCode(db, consentId, codeHash, expiresAt),
    checkCode: (consentId, codeHash, now) => checkCode(db, consentId, codeHash, now),
    saveSession: (tokenHash, subjectId, expiresAt) =>
      insertSession(db, tokenHash, subjectId, expiresAt),
    session: (tokenHash, now) => findSession(db, tokenHash, now),
    writeAudit: (row) => insertExchangeAudit(db, row),
    audit: (filter) => listExchangeAudit(db, filter),
  };
}

export interface ExchangeHostOptions {
  publicUrl: string;
  auth?: AuthService;
  /** The server's log, where one-time codes go when no message hook is configured. */
  logCode?: (line: { consentId: string; code: string }) => void;
}

/** The exchange's view of this server. */
export function exchangeHost(registry: Registry, options: ExchangeHostOptions): ExchangeHost {
  return {
    config: registry.config,
    store: exchangeStore(registry),
    now: registry.now,
    publicUrl: options.publicUrl,
    env: process.env,
    problem: (status, code, detail, extra) => new ProblemError(status, code, detail, extra),
    isProblem: (error) => error instanceof ProblemError,
    logCode: options.logCode ?? (() => undefined),
    async authenticate(authorization) {
      if (!options.auth) throw new ProblemError(401, 'UNAUTHENTICATED', 'no authentication here');
      const { user, principal } = await options.auth.authenticate(authorization);
      return {
        userId: user.id,
        username: user.username,
        kind: user.kind,
        role: user.role,
        officeId: user.officeId,
        admin: holds(principal, MANAGE_USERS, user.officeId, registry.config.locations),
      };
    },
  };
}

export interface Exchange {
  host: ExchangeHost;
  consents: Consents;
  query: FederatedQuery;
  /** The limits on the portal's one-time code requests (CODE_LIMITS). */
  codes: LoginThrottle;
}

/** The exchange of this configuration, its policies validated (a PolicyError stops the start). */
export async function openExchange(
  registry: Registry,
  options: ExchangeHostOptions,
): Promise<Exchange | null> {
  if (!registry.config.document.exchange) return null;
  const { Consents, FederatedQuery } = await loadExchange();
  const host = exchangeHost(registry, options);
  const consents = new Consents(host);
  return {
    host,
    consents,
    query: new FederatedQuery(host, consents),
    codes: new LoginThrottle(registry, CODE_LIMITS),
  };
}
