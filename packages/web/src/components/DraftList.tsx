import type { Draft } from '@registra/client';
import type { RegistryConfig } from '@registra/core';
import { actionLabel, display, recordTypeLabel, when } from '../labels.js';

/** Forms saved with "Save draft": on this device only, until they are sent or deleted. */
export function DraftList({ drafts, config }: { drafts: Draft[]; config: RegistryConfig }) {
  if (drafts.length === 0)
    return <p className="empty">No drafts. A form saved with “Save draft” waits here.</p>;
  return (
    <ul className="record-list">
      {drafts.map((draft) => (
        <li key={draft.id}>
          <a href={`#/drafts/${draft.id}`} className="record-item" data-testid="record-item">
            <span className="record-title">{draftTitle(draft, config)}</span>
            <span className="record-meta">
              {recordTypeLabel(draft.recordType, config)} ·{' '}
              {draft.recordId
                ? actionLabel({ type: draft.actionType }, config, draft.recordType).toLowerCase()
                : 'new'}{' '}
              · saved {when(draft.updatedAt)}
            </span>
            <span className="badges">
              <span className="badge">draft: on this device only</span>
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function draftTitle(draft: Draft, config: RegistryConfig): string {
  const title = config.recordTypes.get(draft.recordType)?.title ?? [];
  const named = title
    .map((id) => display(draft.declaration[id], undefined, config))
    .filter(Boolean);
  return named.length > 0 ? named.join(' ') : '(no name yet)';
}
