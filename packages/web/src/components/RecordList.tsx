import type { RecordState, RegistryConfig } from '@registra/core';
import { recordTitle, recordTypeLabel, when } from '../labels.js';
import { FlagBadges } from './FlagBadges.js';

/** Records as a list of links to their pages: title, type, tracking id, status and flags. */
export function RecordList({
  records,
  config,
  pending,
  empty,
}: {
  records: RecordState[];
  config: RegistryConfig;
  pending: ReadonlySet<string>;
  empty: string;
}) {
  if (records.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ul className="record-list">
      {records.map((record) => (
        <li key={record.id}>
          <a href={`#/records/${record.id}`} className="record-item" data-testid="record-item">
            <span className="record-title">{recordTitle(record, config)}</span>
            <span className="record-meta">
              {recordTypeLabel(record.type, config)} · {record.trackingId}
              {record.registrationNumber ? ` · ${record.registrationNumber}` : ''} · updated{' '}
              {when(record.updatedAt)}
            </span>
            <span className="badges">
              <FlagBadges record={record} pending={pending.has(record.id) ? 1 : 0} />
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}
