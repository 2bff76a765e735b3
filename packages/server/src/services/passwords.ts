import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Piscina } from 'piscina';
import { ProblemError } from './problem.js';

// scrypt is memory-hard (N·r·128 bytes = 16 MiB per hash) and ships with Node: no native addon.
const PARAMS = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAX_MEMORY = 64 * 1024 * 1024;

/** Nice value added to the hashing threads: the lowest priority there is. */
const HASHING_NICENESS = 19;

/** Seconds a caller refused for a full hashing queue is asked to wait. */
export const HASHING_RETRY_AFTER = 2;

export interface HashingOptions {
  /** Threads that hash. Default 1: a login flood then takes at most one core. */
  threads?: number;
  /** Hashes that may wait for a thread; one more is refused 503. Default 32 (a second or two). */
  maxQueue?: number;
}

/**
 * Password hashing on a small pool of worker threads of its own (piscina), with a bounded queue.
 * scrypt used to run on libuv's thread pool, which gzip shares: a login flood queued hundreds of
 * hashes ahead of every sync's decompression and made syncs a hundred times slower. Here a
 * flood takes at most `threads` cores and waits in its own queue; past `maxQueue` waiting hashes
 * the login is answered 503 SERVICE_UNAVAILABLE with Retry-After instead of queueing forever.
 */
export class PasswordHasher {
  readonly #pool: Piscina<DeriveTask, Uint8Array>;
  #dummy: Promise<string> | null = null;

  constructor(options: HashingOptions = {}) {
    const threads = options.threads ?? 1;
    this.#pool = new Piscina({
      filename: new URL('./hash-worker.mjs', import.meta.url).href,
      name: 'default',
      minThreads: threads,
      maxThreads: threads,
      maxQueue: options.maxQueue ?? 32,
      // Lower priority for the hashing threads (Linux: per thread, through @napi-rs/nice): on a
      // busy machine the scheduler serves the event loop and PostgreSQL first, hashes after.
      niceIncrement: HASHING_NICENESS,
    });
  }

  /** `scrypt$N$r$p$salt$hash`, base64url: the parameters travel with the hash so they can change. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await this.#derive(password, salt, PARAMS);
    return [
      'scrypt',
      PARAMS.N,
      PARAMS.r,
      PARAMS.p,
      salt.toString('base64url'),
      Buffer.from(key).toString('base64url'),
    ].join('$');
  }

  /** Whether `password` matches `stored`; `stored` null (no such user) costs the same time. */
  async verify(password: string, stored: string | null): Promise<boolean> {
    const hash = stored ?? (await this.#dummyHash());
    const [scheme, N, r, p, salt, key] = hash.split('$');
    if (scheme !== 'scrypt' || !salt || !key) return false;
    const expected = Buffer.from(key, 'base64url');
    const actual = await this.#derive(password, Buffer.from(salt, 'base64url'), {
      N: Number(N),
      r: Number(r),
      p: Number(p),
    });
    return (
      stored !== null && actual.length === expected.length && timingSafeEqual(actual, expected)
    );
  }

  /** The queue is full: a hash asked for now would be refused. */
  get saturated(): boolean {
    return this.#pool.queueSize >= this.#pool.options.maxQueue;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** A hash of a random password, verified against when the user does not exist: equal timing. */
  #dummyHash(): Promise<string> {
    this.#dummy ??= this.hash(randomBytes(16).toString('hex'));
    return this.#dummy;
  }

  async #derive(
    password: string,
    salt: Buffer,
    params: { N: number; r: number; p: number },
  ): Promise<Uint8Array> {
    try {
      return await this.#pool.run({
        password: password.normalize('NFC'),
        salt,
        keyLength: KEY_LENGTH,
        maxmem: MAX_MEMORY,
        ...params,
      });
    } catch (error) {
      // piscina's refusal when its queue is full ("Task queue is at limit", or "No task queue
      // available" with maxQueue 0); it has no error class of its own to test instead.
      if (error instanceof Error && /task queue/i.test(error.message)) throw hashingBusy();
      throw error;
    }
  }
}

interface DeriveTask {
  password: string;
  salt: Uint8Array;
  keyLength: number;
  N: number;
  r: number;
  p: number;
  maxmem: number;
}

export const hashingBusy = () =>
  new ProblemError(
    503,
    'SERVICE_UNAVAILABLE',
    'too many passwords are being checked at once; try again shortly',
    {},
    HASHING_RETRY_AFTER,
  );

let shared: PasswordHasher | null = null;

/** The process's hasher, made on first use (the CLI, the seed and the API share it). */
export function passwordHasher(): PasswordHasher {
  shared ??= new PasswordHasher();
  return shared;
}

/** Sets up the process's hasher with these options (at start, before anything hashes). */
export function configureHashing(options: HashingOptions): PasswordHasher {
  void shared?.close();
  shared = new PasswordHasher(options);
  return shared;
}

export const hashPassword = (password: string): Promise<string> => passwordHasher().hash(password);
