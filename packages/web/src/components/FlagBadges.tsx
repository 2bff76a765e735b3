import type { RecordState } from '@registra/core';
import type { Words } from '../words.js';

const WARNING = /conflict|rejected|declined|incomplete|duplicate|overdue/;

/** The record's status and flags in words, and whether this device has actions waiting for it. */
export function FlagBadges({
  record,
  pending,
  words,
}: {
  record: RecordState;
  pending: number;
  words: Words;
}) {
  return (
    <>
      <span className={`badge status-${record.status.toLowerCase()}`}>
        {words.statusLabel(record.status, record.type)}
      </span>
      {record.flags.map((flag) => (
        <span key={flag} className={`badge flag ${WARNING.test(flag) ? 'warn' : ''}`}>
          {words.flagLabel(flag, record.type)}
        </span>
      ))}
      {pending > 0 && (
        <span className="badge pending" data-testid="pending-badge">
          {words.t.waitingBadge}
        </span>
      )}
    </>
  );
}
