import ipaddr from 'ipaddr.js';
import {
  attemptsSince,
  forgetAttempt,
  lockLoginKeys,
  markAttemptFailed,
  recordAttempt,
} from '../store/login-attempts.js';
import type { Registry } from './context.js';
import { ProblemError, tooManyAttempts } from './problem.js';

/** At most `attempts` failed logins within `windowMs`. */
export interface LoginWindow {
  attempts: number;
  windowMs: number;
}

export interface LoginLimits {
  perUsername: LoginWindow;
  perAddress: LoginWindow;
}

/** PROTOCOL 7: 5 failures per username in 15 minutes, 30 per address in a minute. */
export const LOGIN_LIMITS: LoginLimits = {
  perUsername: { attempts: 5, windowMs: 15 * 60_000 },
  perAddress: { attempts: 30, windowMs: 60_000 },
};

/**
 * One-time codes of the consent portal (PROTOCOL 12): every code sent counts, whether or not the
 * subject has a contact (the answer is the same either way): 3 per consent in 15 minutes, 30 per
 * address in a minute (as logins: a village's shared address must not lock its people out).
 */
export const CODE_LIMITS: LoginLimits = {
  perUsername: { attempts: 3, windowMs: 15 * 60_000 },
  perAddress: { attempts: 30, windowMs: 60_000 },
};

/** Old rows each attempt deletes at most: more than the one it adds, so the table stays small. */
const PRUNE_PER_ATTEMPT = 100;

/**
 * The throttle on password and client-secret guessing. Every attempt is recorded before the
 * secret is checked (under a lock per username and per address, in the database, so that all API
 * nodes count the same attempts and a burst of parallel guesses cannot slip past the count), then
 * forgotten if the secret was right. While a username or an address has its limit of failed or
 * in-progress attempts within its window, every attempt is answered 429 TOO_MANY_ATTEMPTS, with
 * the right password too, and is not checked: the window passes by itself, whatever the caller
 * does meanwhile. The clock is the registry's, so that tests move it instead of waiting.
 */
export class LoginThrottle {
  constructor(
    private readonly registry: Registry,
    private readonly limits: LoginLimits = LOGIN_LIMITS,
  ) {}

  /**
   * Runs `check` (which throws a 401 ProblemError for a wrong secret) as one counted attempt of
   * `username` from the network address `ip`.
   */
  async attempt<T>(username: string, ip: string, check: () => Promise<T>): Promise<T> {
    const address = addressKey(ip);
    const id = await this.#begin(username, address, tooManyAttempts);
    let result: T;
    try {
      result = await check();
    } catch (error) {
      // Only a wrong secret is a failed guess; a server that could not check (a full hashing
      // queue, the database) must not count against the person.
      if (error instanceof ProblemError && error.status === 401)
        await markAttemptFailed(this.registry.db, id);
      else await forgetAttempt(this.registry.db, id);
      throw error;
    }
    await forgetAttempt(this.registry.db, id);
    return result;
  }

  /**
   * Runs `work` as one use of `key` (a consent's one-time codes: CODE_LIMITS) from `ip`, counted
   * whether it succeeds or not, apart from the logins' counts (its keys carry `use.scope`). A use
   * refused by the limits is a 429 TOO_MANY_ATTEMPTS with Retry-After and `use.refusal`.
   */
  async spend<T>(
    use: { scope: string; key: string; ip: string; refusal: string },
    work: () => Promise<T>,
  ): Promise<T> {
    const id = await this.#begin(
      `${use.scope}:${use.key}`,
      `${use.scope}:${addressKey(use.ip)}`,
      (retryAfter) => tooManyAttempts(retryAfter, use.refusal),
    );
    try {
      return await work();
    } finally {
      await markAttemptFailed(this.registry.db, id);
    }
  }

  async #begin(
    username: string,
    address: string,
    refusal: (retryAfter: number) => ProblemError,
  ): Promise<string> {
    const now = this.registry.now();
    const { perUsername, perAddress } = this.limits;
    return this.registry.db.transaction().execute(async (trx) => {
      await lockLoginKeys(trx, username, address);
      const waits: number[] = [];
      for (const [key, limit] of [
        [{ username }, perUsername],
        [{ address }, perAddress],
      ] as const) {
        const start = new Date(now.getTime() - limit.windowMs);
        const seen = await attemptsSince(trx, key, start, limit.attempts);
        if (seen.count < limit.attempts) continue;
        // Blocked until the oldest failure that keeps the count at the limit leaves the window;
        // blocked only by checks still in progress, for a moment.
        const until = seen.nthLatestFailure
          ? seen.nthLatestFailure.getTime() + limit.windowMs
          : now.getTime() + 1000;
        waits.push(Math.max(1, Math.ceil((until - now.getTime()) / 1000)));
      }
      if (waits.length > 0) throw refusal(Math.max(...waits));
      const longest = Math.max(perUsername.windowMs, perAddress.windowMs);
      return recordAttempt(
        trx,
        { username, address, at: now },
        new Date(now.getTime() - longest),
        PRUNE_PER_ATTEMPT,
      );
    });
  }
}

/**
 * The address an attempt counts against: the IPv4 address, or the /64 prefix of an IPv6 one (one
 * subscriber usually holds a whole /64, and could otherwise take a fresh address per guess).
 */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const parsed = ipaddr.process(ip);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
