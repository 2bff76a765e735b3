import {
  LoginRequired,
  ServerProblem,
  Unreachable,
  type AccessEntry,
  type CitizenSession,
  type ConsentView,
  type MyAccess,
} from '@registra/client';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { errorText, useClient, useOnline } from '../hooks/index.js';
import { LanguagePicker, useLanguage, type Messages } from '../i18n/index.js';

/**
 * The consent portal (PROTOCOL 12), open without a staff login: the citizen a consent is about
 * sees which fields (by their labels), for whom, for what and until when; signs in with a
 * one-time code sent to the contact the registry holds; approves or rejects; later sees who read
 * what about them and revokes. The session lives in this page's memory only: a reload, or a
 * shared device left behind, asks for a new code.
 */
export function Consent({ consentId }: { consentId: string }) {
  const client = useClient();
  const online = useOnline();
  const { t, locale } = useLanguage();
  const [consent, setConsent] = useState<ConsentView | null>(null);
  const [missing, setMissing] = useState(false);
  const [session, setSession] = useState<CitizenSession | null>(null);
  const [access, setAccess] = useState<MyAccess | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState<'reject' | 'revoke' | null>(null);

  const say = useCallback(
    (error: unknown) => {
      if (error instanceof LoginRequired) {
        setSession(null);
        setAccess(null);
        setProblem(t.consentSessionEnded);
      } else if (error instanceof ServerProblem && error.code === 'CONSENT_DECIDED') {
        setProblem(t.consentAlreadyDecided);
      } else if (error instanceof Unreachable || !navigator.onLine) {
        setProblem(t.consentOffline);
      } else {
        setProblem(errorText(error));
      }
    },
    [t],
  );

  useEffect(() => {
    if (!online) return;
    let alive = true;
    client.consents.get(consentId).then(
      (found) => alive && setConsent(found),
      (error: unknown) => {
        if (!alive) return;
        if (error instanceof ServerProblem && error.status === 404) setMissing(true);
        else say(error);
      },
    );
    return () => {
      alive = false;
    };
  }, [client, consentId, online, say]);

  const refreshAccess = useCallback(
    async (token: string) => {
      const mine = await client.consents.myAccess(token);
      setAccess(mine);
      const current = mine.consents.find((c) => c.id === consentId);
      if (current) setConsent(current);
    },
    [client, consentId],
  );

  useEffect(() => {
    if (session) refreshAccess(session.token).catch(say);
  }, [session, refreshAccess, say]);

  async function act(work: () => Promise<void>) {
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch (error) {
      say(error);
    } finally {
      setBusy(false);
    }
  }

  const decide = (decision: 'approve' | 'reject') =>
    act(async () => {
      if (!session) return;
      setConsent(await client.consents.decide(consentId, decision, session.token));
      await refreshAccess(session.token);
    });

  const revoke = (reason: string | undefined) =>
    act(async () => {
      if (!session) return;
      setConsent(await client.consents.revoke(consentId, session.token, reason));
      await refreshAccess(session.token);
    });

  const date = (iso: string) =>
    new Date(iso).toLocaleDateString(locale, { dateStyle: 'long', timeZone: 'UTC' });
  const time = (iso: string) =>
    new Date(iso).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <main className="main consent-portal" id="main">
      <h1>{t.consentTitle}</h1>
      {!online && (
        <p className="notice" role="status">
          {t.consentOffline}
        </p>
      )}
      {missing && (
        <p className="error" role="alert">
          {t.consentNotFound}
        </p>
      )}
      {!consent && !missing && online && !problem && <p className="empty">{t.loading}</p>}
      {consent && (
        <>
          <ConsentSummary consent={consent} date={date} t={t} />
          {!session ? (
            <SignIn
              consentId={consentId}
              title={consent.status === 'requested' ? t.consentSignInTitle : t.consentSignInToSee}
              busy={busy}
              time={time}
              onSignedIn={setSession}
            />
          ) : (
            <section className="card consent-decision" aria-labelledby="decision-title">
              <h2 id="decision-title">
                {consent.status === 'requested' ? t.consentDecide : t.consentSignedIn}
              </h2>
              <Standing consent={consent} date={date} t={t} />
              {consent.status === 'requested' && (
                <div className="actions">
                  <button
                    type="button"
                    className="primary"
                    disabled={busy}
                    onClick={() => void decide('approve')}
                  >
                    {t.consentApprove}
                  </button>
                  <button type="button" disabled={busy} onClick={() => setAsking('reject')}>
                    {t.consentReject}
                  </button>
                </div>
              )}
              {consent.status === 'approved' && (
                <div className="actions">
                  <button
                    type="button"
                    className="danger"
                    disabled={busy}
                    onClick={() => setAsking('revoke')}
                  >
                    {t.consentRevoke}
                  </button>
                  <p className="muted small">{t.consentRevokeHelp}</p>
                </div>
              )}
            </section>
          )}
        </>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {session && access && <AccessHistory access={access} time={time} t={t} />}
      {asking && (
        <ConfirmDialog
          title={asking === 'reject' ? t.consentReject : t.consentRevoke}
          consequence={
            asking === 'reject' && consent
              ? t.consentRejected(consent.consumerLabel)
              : t.consentRevokeHelp
          }
          reason={asking === 'revoke' ? 'optional' : 'none'}
          onCancel={() => setAsking(null)}
          onConfirm={(reason) => {
            const what = asking;
            setAsking(null);
            void (what === 'reject' ? decide('reject') : revoke(reason));
          }}
        />
      )}
      <LanguagePicker id="consent-language" />
    </main>
  );
}

/** What is asked: the fields by their labels, who asks, what for and until when. */
function ConsentSummary({
  consent,
  date,
  t,
}: {
  consent: ConsentView;
  date: (iso: string) => string;
  t: Messages;
}) {
  return (
    <section className="card consent-summary" aria-labelledby="consent-asks">
      <p id="consent-asks">{t.consentAsks(consent.consumerLabel, consent.purposeLabel)}</p>
      <dl className="declaration">
        <div className="pair">
          <dt>{t.consentConsumer}</dt>
          <dd data-testid="consent-consumer">{consent.consumerLabel}</dd>
        </div>
        <div className="pair">
          <dt>{t.consentPurpose}</dt>
          <dd data-testid="consent-purpose">{consent.purposeLabel}</dd>
        </div>
        <div className="pair">
          <dt>{t.consentUntil}</dt>
          <dd data-testid="consent-until">
            <time dateTime={consent.expiresAt}>{date(consent.expiresAt)}</time>
          </dd>
        </div>
        <div className="pair">
          <dt>{t.consentStatus}</dt>
          <dd data-testid="consent-status" data-status={consent.status}>
            {t.consentStatuses[consent.status] ?? consent.status}
          </dd>
        </div>
      </dl>
      <h2 id="consent-fields">{t.consentFields}</h2>
      <ul aria-labelledby="consent-fields" data-testid="consent-fields">
        {consent.fieldLabels.map(({ field, label }) => (
          <li key={field}>{label}</li>
        ))}
      </ul>
    </section>
  );
}

/** What the decision means now, in a sentence. */
function Standing({
  consent,
  date,
  t,
}: {
  consent: ConsentView;
  date: (iso: string) => string;
  t: Messages;
}) {
  const text = {
    requested: null,
    approved: t.consentApproved(consent.consumerLabel, date(consent.expiresAt)),
    rejected: t.consentRejected(consent.consumerLabel),
    revoked: t.consentRevokedNote,
    expired: t.consentExpiredNote,
  }[consent.status];
  return text ? (
    <p role="status" data-testid="consent-standing">
      {text}
    </p>
  ) : null;
}

/** Asks for a one-time code, then signs in with it. */
function SignIn({
  consentId,
  title,
  busy,
  time,
  onSignedIn,
}: {
  consentId: string;
  title: string;
  busy: boolean;
  time: (iso: string) => string;
  onSignedIn: (session: CitizenSession) => void;
}) {
  const client = useClient();
  const { t } = useLanguage();
  const [sentUntil, setSentUntil] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [working, setWorking] = useState(false);

  async function send() {
    setWorking(true);
    setError(null);
    try {
      setSentUntil((await client.consents.sendCode(consentId)).expiresAt);
    } catch (problem) {
      setError(problem instanceof Unreachable ? t.consentOffline : errorText(problem));
    } finally {
      setWorking(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setWorking(true);
    setError(null);
    try {
      const { session } = await client.consents.signIn(consentId, code.trim());
      onSignedIn(session);
    } catch (problem) {
      if (problem instanceof LoginRequired) setError(t.consentWrongCode);
      else if (problem instanceof Unreachable) setError(t.consentOffline);
      else setError(errorText(problem));
    } finally {
      setWorking(false);
    }
  }

  return (
    <section className="card consent-sign-in" aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">{title}</h2>
      <p className="muted">{t.consentSignInIntro}</p>
      {sentUntil && (
        <p role="status" data-testid="code-sent">
          {t.consentCodeSent(time(sentUntil))}
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          className={sentUntil ? undefined : 'primary'}
          disabled={busy || working}
          onClick={() => void send()}
        >
          {sentUntil ? t.consentSendAgain : t.consentSendCode}
        </button>
      </div>
      {sentUntil && (
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="consent-code">{t.consentCode}</label>
          <input
            id="consent-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            aria-describedby="consent-code-hint"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            required
          />
          <p id="consent-code-hint" className="muted small">
            {t.consentCodeHint}
          </p>
          <button type="submit" className="primary" disabled={busy || working}>
            {working ? t.checking : t.consentSignIn}
          </button>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** Who read what about the citizen, newest first; each field by its label, given or withheld. */
function AccessHistory({
  access,
  time,
  t,
}: {
  access: MyAccess;
  time: (iso: string) => string;
  t: Messages;
}) {
  const consumers = new Map(access.consents.map((c) => [c.consumer, c.consumerLabel]));
  const labels = new Map(
    access.consents.flatMap((c) => c.fieldLabels.map((f) => [f.field, f.label] as const)),
  );
  const label = (field: string) => labels.get(field) ?? field;
  return (
    <section className="card consent-access" aria-labelledby="access-title">
      <h2 id="access-title">{t.accessTitle}</h2>
      {access.results.length === 0 ? (
        <p className="empty">{t.accessNone}</p>
      ) : (
        <table data-testid="access-history">
          <thead>
            <tr>
              <th scope="col">{t.accessWhen}</th>
              <th scope="col">{t.accessWho}</th>
              <th scope="col">{t.accessWhat}</th>
            </tr>
          </thead>
          <tbody>
            {access.results.map((entry, i) => (
              <tr key={`${entry.at}-${i}`}>
                <td>
                  <time dateTime={entry.at}>{time(entry.at)}</time>
                </td>
                <td>{consumers.get(entry.consumer) ?? entry.consumer}</td>
                <td>
                  <ul>
                    {outcomes(entry).map(({ key, outcome, code, fields }) => (
                      <li key={key} data-outcome={outcome}>
                        {outcome === 'given'
                          ? t.accessGiven(fields.map(label).join(', '))
                          : t.accessWithheld(
                              (code && t.withheldWhy[code]) ?? t.withheldOther,
                              fields.map(label).join(', '),
                            )}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** An exchange's fields grouped by what became of them: given, or withheld for one reason. */
function outcomes(entry: AccessEntry) {
  const groups = new Map<
    string,
    { key: string; outcome: 'given' | 'withheld'; code: string | null; fields: string[] }
  >();
  for (const { field, outcome, code } of entry.fields) {
    const key = outcome === 'given' ? 'given' : `withheld:${code ?? ''}`;
    const group = groups.get(key) ?? { key, outcome, code, fields: [] };
    group.fields.push(field);
    groups.set(key, group);
  }
  return [...groups.values()];
}
