import type { Entry, RecordState } from '@registra/core';
import type { RawBuilder } from 'kysely';

/** An entry this request appended, with its record's state right after it. */
export interface Appended {
  entry: Entry;
  record: RecordState;
}

/**
 * What other parts of the server do with appended entries (hooks, files, deduplication): write
 * alongside them in the same transaction, so that a crash loses none, and act once they commit.
 */
export interface AppendEffect {
  /** Statements written in the appending transaction, with the entries. */
  writes?(appended: readonly Appended[]): RawBuilder<unknown>[];
  /** Called after the transaction committed; it must not throw nor hold up the answer. */
  afterCommit?(appended: readonly Appended[]): void;
}

/** The effects' writes for this request's entries. */
export function effectWrites(
  effects: readonly AppendEffect[],
  appended: readonly Appended[],
): RawBuilder<unknown>[] {
  if (appended.length === 0) return [];
  return effects.flatMap((effect) => effect.writes?.(appended) ?? []);
}

/** Tells every effect that this request's entries are committed. */
export function afterCommit(effects: readonly AppendEffect[], appended: readonly Appended[]): void {
  if (appended.length === 0) return;
  for (const effect of effects) effect.afterCommit?.(appended);
}
