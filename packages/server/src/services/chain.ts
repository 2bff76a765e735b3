import type { Entry } from '@registra/core';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { StoredLink } from '../store/entries.js';

/**
 * The tamper-evident chain of a record's log (PROTOCOL 13): each entry's `hash` is the hex SHA-256
 * of its canonical JSON (RFC 8785) as stored, `prevHash` included and `hash` left out; `prevHash`
 * is the previous entry's hash, null at seq 1. Anyone can recompute it from
 * `GET /api/v1/records/{id}/chain` without keys.
 */

/** An entry as the chain covers it: the log entry and the previous entry's hash. */
export type ChainedEntry = Entry & { prevHash: string | null; hash: string };

/** The hash of an entry that follows `prevHash`. */
export function entryHash(entry: Entry, prevHash: string | null): string {
  const { hash: _hash, ...body } = entry as Entry & { hash?: unknown };
  const text = canonicalize({ ...body, prevHash });
  if (text === undefined) throw new Error('an entry must be JSON');
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Walks a record's log in seq order and returns its chain: the stored links as stored, and the
 * links of entries stored before the chain existed computed over them. `breaks` names each seq
 * whose stored hash or prevHash does not match what its content and its predecessor say.
 */
export function walkChain(log: readonly StoredLink[]): {
  entries: ChainedEntry[];
  head: string | null;
  breaks: { seq: number; problem: string }[];
} {
  const entries: ChainedEntry[] = [];
  const breaks: { seq: number; problem: string }[] = [];
  let previous: string | null = null;
  for (const link of log) {
    const prevHash = link.prevHash ?? (link.hash === null ? previous : null);
    const expected = entryHash(link.entry, prevHash);
    if (link.hash !== null) {
      if (link.prevHash !== previous) {
        breaks.push({ seq: link.entry.seq, problem: 'prevHash is not the previous entry’s hash' });
      } else if (link.hash !== expected) {
        breaks.push({ seq: link.entry.seq, problem: 'hash does not match the entry' });
      }
    }
    const hash = link.hash ?? expected;
    entries.push({ ...link.entry, prevHash, hash });
    previous = hash;
  }
  return { entries, head: previous, breaks };
}
