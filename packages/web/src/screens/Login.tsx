import { InvalidCredentials, Unreachable } from '@registra/client';
import { useEffect, useState, type FormEvent } from 'react';
import { errorText, useClient, useOnline } from '../hooks/index.js';
import { LanguagePicker, useT } from '../i18n/index.js';

/**
 * Log in online; with no network (or after the device locked itself), unlock for someone who has
 * logged in on this device before.
 */
export function Login() {
  const client = useClient();
  const t = useT();
  const online = useOnline();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [known, setKnown] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [provider, setProvider] = useState<{ name: string; start: string } | null>(null);

  useEffect(() => {
    if (!online) return;
    void client.signOnProvider().then(setProvider, () => setProvider(null));
  }, [client, online]);

  useEffect(() => {
    void client.knownUsers().then(
      (users) => {
        setKnown(users);
        if (users.length === 1) setUsername((current) => current || (users[0] as string));
      },
      () => setKnown([]),
    );
  }, [client]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = username.trim();
    setBusy(true);
    setError(null);
    try {
      if (navigator.onLine) {
        try {
          await client.login(name, password);
        } catch (error) {
          // The network is there but the server is not: unlock, as offline.
          if (!(error instanceof Unreachable) || !known.includes(name)) throw error;
          await client.unlock(name, password);
        }
      } else {
        await client.unlock(name, password);
      }
    } catch (error) {
      if (error instanceof InvalidCredentials)
        setError(online ? t.wrongPassword : t.wrongPasswordOffline);
      else if (error instanceof Unreachable) setError(t.noServer);
      else setError(errorText(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)}>
        <h1>
          <img src="/icon.svg" alt="" width="32" height="32" /> Registra
        </h1>
        <p className={online ? 'muted' : 'notice'} role="status">
          {online ? t.loginIntro : known.length > 0 ? t.offlineUnlock : t.offlineNobody}
        </p>
        <label htmlFor="username">{t.username}</label>
        <input
          id="username"
          autoComplete="username"
          autoCapitalize="none"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
        <label htmlFor="password">{t.password}</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t.checking : online ? t.logIn : t.unlock}
        </button>
        {online && provider && (
          <>
            <p className="muted small">{t.or}</p>
            <a className="button" href={provider.start}>
              {t.signOnWith(provider.name)}
            </a>
          </>
        )}
        {known.length > 0 && (
          <div className="known-users">
            <span className="muted small">{t.knownUsers}</span>
            {known.map((name) => (
              <button
                key={name}
                type="button"
                className="link-button"
                aria-pressed={name === username}
                onClick={() => setUsername(name)}
              >
                {name}
              </button>
            ))}
          </div>
        )}
        <LanguagePicker id="login-language" />
        <p className="small">
          <a href="#/verify">{t.verifyCertificate}</a> {t.noLoginNeeded}
        </p>
      </form>
    </main>
  );
}
