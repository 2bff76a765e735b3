import type { RecordState } from '@registra/core';

const WARNING = /conflict|rejected|declined|incomplete/;

/** The record's status, its flags, and how many of this device's actions wait to be sent. */
export function FlagBadges({ record, pending }: { record: RecordState; pending: number }) {
  return (
    <>
      <span className={`badge status-${record.status.toLowerCase()}`}>
        {record.status.toLowerCase()}
      </span>
      {record.flags.map((flag) => (
        <span key={flag} className={`badge flag ${WARNING.test(flag) ? 'warn' : ''}`}>
          {flag}
        </span>
      ))}
      {pending > 0 && (
        <span className="badge pending" data-testid="pending-badge">
          {pending === 1 ? 'waiting to send' : `${pending} waiting to send`}
        </span>
      )}
    </>
  );
}
