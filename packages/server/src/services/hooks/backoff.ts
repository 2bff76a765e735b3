import retry from 'retry';

/**
 * When to try a delivery again after its `failures`-th failed attempt (PROTOCOL 8): exponential
 * backoff with jitter, 1 s doubling (each delay drawn between 1 and 2 times its step), capped at
 * one hour. The `retry` package's own arithmetic.
 */
export function nextAttemptAt(failures: number, now: Date): Date {
  const delay = retry.createTimeout(Math.max(0, failures - 1), {
    factor: 2,
    minTimeout: 1000,
    maxTimeout: 3_600_000,
    randomize: true,
  });
  return new Date(now.getTime() + delay);
}
