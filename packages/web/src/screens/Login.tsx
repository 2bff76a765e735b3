import { InvalidCredentials, Unreachable } from '@registra/client';
import { useEffect, useState, type FormEvent } from 'react';
import { errorText, useClient, useOnline } from '../hooks/index.js';

/**
 * Log in online; with no network (or after the device locked itself), unlock for someone who has
 * logged in on this device before.
 */
export function Login() {
  const client = useClient();
  const online = useOnline();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [known, setKnown] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

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
        setError(
          online
            ? 'Wrong username or password.'
            : 'Wrong password, or this person has not logged in on this device before.',
        );
      else if (error instanceof Unreachable)
        setError(
          'No connection to the server. Log in online once on this device to use it offline.',
        );
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
          {online
            ? 'Log in to capture and process records.'
            : known.length > 0
              ? 'You are offline. Unlock with the password you last logged in with on this device.'
              : 'You are offline, and nobody has logged in on this device yet: connect to log in.'}
        </p>
        <label htmlFor="username">Username</label>
        <input
          id="username"
          autoComplete="username"
          autoCapitalize="none"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
        <label htmlFor="password">Password</label>
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
          {busy ? 'Checking…' : online ? 'Log in' : 'Unlock'}
        </button>
        {known.length > 0 && (
          <div className="known-users">
            <span className="muted small">Logged in on this device before:</span>
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
        <p className="small">
          <a href="#/verify">Verify a certificate</a> (no login needed)
        </p>
      </form>
    </main>
  );
}
