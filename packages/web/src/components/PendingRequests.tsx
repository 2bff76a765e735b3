import type { Entry, RecordState, RegistryConfig } from '@registra/core';
import { capitalized, describePatch, requestNoun, when } from '../labels.js';

/** Requests waiting for a confirmation: what they would change, and who asked. */
export function PendingRequests({
  record,
  entries,
  config,
  me,
}: {
  record: RecordState;
  entries: Entry[];
  config: RegistryConfig;
  me: string;
}) {
  if (record.pending.length === 0) return null;
  const recordType = config.recordTypes.get(record.type);
  return (
    <section className="card request" data-testid="pending-requests">
      <h2>Waiting for a decision</h2>
      {record.pending.map((pending) => {
        const entry = entries.find((e) => e.id === pending.id);
        const lines = describePatch(entry?.declaration, recordType, config);
        return (
          <div key={pending.id}>
            <p>
              <strong>{capitalized(requestNoun(pending, config, record.type))}</strong> requested by{' '}
              {pending.requestedBy === me ? 'you' : `user …${pending.requestedBy.slice(-4)}`}
              {entry ? `, ${when(entry.recordedAt)}` : ''}. Until it is approved or declined, the
              record takes no other action.
            </p>
            {lines.length > 0 && (
              <ul className="patch small">
                {lines.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            )}
          </div>
        );
      })}
    </section>
  );
}
