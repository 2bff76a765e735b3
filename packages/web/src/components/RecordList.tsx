import type { QueueColumn, RecordState } from '@registra/core';
import { groupTrackingId, type Words } from '../words.js';
import { FlagBadges } from './FlagBadges.js';

export const DEFAULT_COLUMNS: QueueColumn[] = [
  'title',
  'type',
  'trackingId',
  'status',
  'assignee',
  'updatedAt',
];

/** Records as links to their pages, showing the queue's columns; status and flags in words. */
export function RecordList({
  records,
  words,
  pending,
  empty,
  columns = DEFAULT_COLUMNS,
}: {
  records: RecordState[];
  words: Words;
  pending: ReadonlySet<string>;
  empty: string;
  columns?: readonly QueueColumn[];
}) {
  const { t } = words;
  if (records.length === 0) return <p className="empty">{empty}</p>;
  const cell = (record: RecordState, column: QueueColumn): string | null => {
    switch (column) {
      case 'type':
        return words.recordTypeLabel(record.type);
      case 'trackingId':
        return groupTrackingId(record.trackingId);
      case 'registrationNumber':
        return record.registrationNumber;
      case 'assignee':
        return record.assignedTo ? t.assignedTo(words.personName(record.assignedTo)) : null;
      case 'createdBy':
        return `${t.colCreatedBy}: ${words.personName(record.createdBy)}`;
      case 'createdAt':
        return `${t.colCreatedAt} ${words.when(record.createdAt)}`;
      case 'updatedAt':
        return t.updated(words.when(record.updatedAt));
      default:
        return null;
    }
  };
  return (
    <ul className="record-list">
      {records.map((record) => (
        <li key={record.id}>
          <a href={`#/records/${record.id}`} className="record-item" data-testid="record-item">
            <span className="record-title">{words.recordTitle(record)}</span>
            <span className="record-meta">
              {columns
                .map((column) => cell(record, column))
                .filter(Boolean)
                .join(' · ')}
            </span>
            {(columns.includes('status') || pending.has(record.id)) && (
              <span className="badges">
                <FlagBadges
                  record={record}
                  pending={pending.has(record.id) ? 1 : 0}
                  words={words}
                />
              </span>
            )}
          </a>
        </li>
      ))}
    </ul>
  );
}
