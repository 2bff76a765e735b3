import type { Draft } from '@registra/client';
import type { Words } from '../words.js';

/** Forms in progress (kept as typed, or saved with "Save draft"): on this device only. */
export function DraftList({ drafts, words }: { drafts: Draft[]; words: Words }) {
  const { t } = words;
  if (drafts.length === 0) return <p className="empty">{t.noDrafts}</p>;
  return (
    <ul className="record-list">
      {drafts.map((draft) => (
        <li key={draft.id}>
          <a href={`#/drafts/${draft.id}`} className="record-item" data-testid="record-item">
            <span className="record-title">{draftTitle(draft, words)}</span>
            <span className="record-meta">
              {words.recordTypeLabel(draft.recordType)} ·{' '}
              {draft.recordId
                ? words.actionLabel({ type: draft.actionType }, draft.recordType)
                : t.newWord}{' '}
              · {t.saved(words.when(draft.updatedAt))}
            </span>
            <span className="badges">
              <span className="badge">{t.draftOnly}</span>
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function draftTitle(draft: Draft, words: Words): string {
  const title = words.recordType(draft.recordType)?.title ?? [];
  const named = title.map((id) => words.display(draft.declaration[id], undefined)).filter(Boolean);
  return named.length > 0 ? named.join(' ') : words.t.noNameYet;
}
