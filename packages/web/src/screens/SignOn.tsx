import { InvalidCredentials } from '@registra/client';
import { useState, type FormEvent } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { useT } from '../i18n/index.js';

/** What the server's sign-on callback put in the address: `#/sign-on?code=…` or `?error=…`. */
export function signOnOutcome(hash: string): URLSearchParams | null {
  const match = /^#\/sign-on(?:\?(.*))?$/.exec(hash);
  return match ? new URLSearchParams(match[1] ?? '') : null;
}

/**
 * The end of a single sign-on: the provider signed the person in and the server handed a one-time
 * code. They choose a passphrase that unlocks this device offline (the provider's password is
 * not Registra's to keep), and the SDK exchanges the code for Registra's tokens. A refusal shows
 * the server's reason.
 */
export function SignOn({ outcome }: { outcome: URLSearchParams }) {
  const client = useClient();
  const t = useT();
  const [passphrase, setPassphrase] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const code = outcome.get('code');
  const leave = () => {
    window.location.hash = '#/';
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (passphrase.length < 8) return setError(t.passphraseShort);
    if (passphrase !== again) return setError(t.passphraseMismatch);
    setBusy(true);
    setError(null);
    try {
      await client.signOn(code as string, passphrase);
      leave();
    } catch (error) {
      setError(error instanceof InvalidCredentials ? t.signOnExpired : errorText(error));
    } finally {
      setBusy(false);
    }
  }

  if (!code) {
    return (
      <main className="login">
        <div className="card login-card">
          <h1>
            <img src="/icon.svg" alt="" width="32" height="32" /> Registra
          </h1>
          <p className="error" role="alert">
            {outcome.get('error') === 'SIGN_ON_EXPIRED' ? t.signOnExpired : t.signOnRefused}{' '}
            {outcome.get('error') !== 'SIGN_ON_EXPIRED' && outcome.get('detail')}
          </p>
          <button type="button" className="primary" onClick={leave}>
            {t.backToLogin}
          </button>
        </div>
      </main>
    );
  }
  return (
    <main className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)}>
        <h1>{t.signOnTitle}</h1>
        <p className="muted">{t.signOnIntro}</p>
        <label htmlFor="passphrase">{t.passphrase}</label>
        <input
          id="passphrase"
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          required
        />
        <label htmlFor="passphrase-again">{t.passphraseAgain}</label>
        <input
          id="passphrase-again"
          type="password"
          autoComplete="new-password"
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          required
        />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t.checking : t.continue}
        </button>
      </form>
    </main>
  );
}
