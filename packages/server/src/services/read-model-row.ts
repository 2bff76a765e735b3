import {
  foldLog,
  searchKeys,
  searchName,
  type RecordFold,
  type RecordTypeConfig,
} from '@registra/core';
import type { StoredLink } from '../store/entries.js';
import type { RecordRow } from '../store/records.js';
import { walkChain } from './chain.js';

/**
 * The read-model row of a folded record: its state and carry, its chain's head, and the name and
 * keys that `q` searches. Appends, `rebuild` (on its worker threads too) and `verify` all make
 * their rows here, from core's fold and search keys.
 */
export function readModelRow(
  fold: RecordFold,
  recordType: RecordTypeConfig,
  headHash: string | null,
): RecordRow {
  return {
    state: fold.record,
    carry: fold.carry,
    headHash,
    name: searchName(fold.record, recordType),
    keys: searchKeys(fold.record, recordType),
  };
}

/** A record's row folded from its log (null when the log folds to no record). */
export function foldRecordLog(
  recordTypes: ReadonlyMap<string, RecordTypeConfig>,
  log: readonly StoredLink[],
): RecordRow | null {
  const entries = log.map((link) => link.entry);
  const recordType = recordTypes.get(entries[0]?.recordType ?? '');
  const folded = recordType ? foldLog(entries, recordType) : null;
  return folded && recordType ? readModelRow(folded, recordType, chainHead(log)) : null;
}

/**
 * The hash of a log's last entry: as stored when it is (every entry since migration 0011), else
 * computed over the log (walkChain). Same value as `walkChain(log).head`, without hashing every
 * entry again when nothing needs checking.
 */
export function chainHead(log: readonly StoredLink[]): string | null {
  const last = log[log.length - 1];
  if (!last) return null;
  return last.hash ?? walkChain(log).head;
}
