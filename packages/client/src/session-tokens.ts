import type { SessionDatabase } from './db.js';
import { LoginRequired } from './errors.js';
import { withLock } from './locks.js';
import type { Tokens, TokenSource } from './transport.js';

export interface SessionTokensOptions {
  sessions: SessionDatabase;
  /** The row of `sessions` that keeps the tokens. */
  username: string;
  /** The lock and the channel are the person's: one refresh at a time per person. */
  userId: string;
  /** The pair the session was opened with. */
  tokens: Tokens;
  /** Where the in-process lock lives when there are no Web Locks (see `withLock`). */
  storage: object;
}

/**
 * One person's tokens, kept in step across the tabs of a browser.
 *
 * The server rotates refresh tokens and takes a second presentation of one as theft: it revokes
 * the whole family and every tab is logged out. So a refresh token is only ever taken from
 * IndexedDB while holding the person's refresh lock, and its successor is stored before the lock
 * is released. A tab whose request was refused and that then finds, under the lock, another pair
 * than the one it sent knows that another tab has refreshed meanwhile: it takes the stored pair and
 * refreshes nothing. That re-read is what makes it safe; a tab that was asleep, or a message that
 * was missed, costs at most one refused request.
 *
 * The tab that refreshed then tells the others on a BroadcastChannel, so that they send the new
 * access token at once instead of each being refused first. BroadcastChannel rather than a Dexie
 * liveQuery: it works the same in Node, where liveQuery needs a global indexedDB that tests do not
 * have. The message carries no token: each tab reads the pair from its own database.
 */
export class SessionTokens implements TokenSource {
  #tokens: Tokens;
  #channel: BroadcastChannel | null = null;

  constructor(private readonly options: SessionTokensOptions) {
    this.#tokens = options.tokens;
    if (typeof BroadcastChannel === 'function') {
      const channel = new BroadcastChannel(`registra-tokens-${options.userId}`);
      channel.onmessage = () => void this.#locked(() => this.#adopt()).catch(() => undefined);
      // In Node an open channel would keep the process alive.
      (channel as { unref?: () => void }).unref?.();
      this.#channel = channel;
    }
  }

  current(): Tokens {
    return this.#tokens;
  }

  /**
   * `refused` was turned away: leave a working pair in place. Refreshes only if the stored pair is
   * still `refused`; LoginRequired when the session is gone (here, in another tab or on the server).
   */
  renew(refused: Tokens, exchange: (refreshToken: string) => Promise<Tokens>): Promise<void> {
    return this.#locked(async () => {
      const stored = await this.#adopt();
      if (stored.refreshToken !== refused.refreshToken) return;
      const fresh = await exchange(stored.refreshToken);
      this.#tokens = fresh;
      await this.options.sessions.sessions.update(this.options.username, {
        accessToken: fresh.accessToken,
        refreshToken: fresh.refreshToken,
      });
      this.#channel?.postMessage('refreshed');
    });
  }

  /** Stops listening to the other tabs (the stored tokens stay). */
  close(): void {
    this.#channel?.close();
    this.#channel = null;
  }

  #locked<T>(task: () => Promise<T>): Promise<T> {
    return withLock(this.options.storage, `registra-refresh-${this.options.userId}`, task);
  }

  /** Takes the stored pair, the newest there is while the lock is held. */
  async #adopt(): Promise<Tokens> {
    const row = await this.options.sessions.sessions.get(this.options.username);
    if (!row) throw new LoginRequired('the session was closed on this device');
    this.#tokens = { accessToken: row.accessToken, refreshToken: row.refreshToken };
    return this.#tokens;
  }
}
