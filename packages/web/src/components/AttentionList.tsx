import type { AttentionItem } from '@registra/client';
import { formFields, type RecordTypeConfig } from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { go } from '../router.js';
import { sentence, type Words } from '../words.js';

/** Actions the server refused: why, and what the person typed, kept until they decide. */
export function AttentionList({ items, words }: { items: AttentionItem[]; words: Words }) {
  if (items.length === 0) return null;
  return (
    <ul className="record-list">
      {items.map((item) => (
        <AttentionCard key={item.action.id} item={item} words={words} />
      ))}
    </ul>
  );
}

function AttentionCard({ item, words }: { item: AttentionItem; words: Words }) {
  const client = useClient();
  const { t } = words;
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = typeOf(item, words);
  const fields = recordType ? formFields(recordType) : new Map();
  const typed = Object.entries(item.action.declaration ?? {}).map(([id, value]) => {
    const field = fields.get(id);
    return `${field ? words.fieldLabel(field) : id}: ${value === null ? t.cleared : words.display(value, field)}`;
  });

  async function resendAsNew() {
    try {
      const local = await client.records.get(item.action.recordId);
      const draft = await client.drafts.save({
        recordType: local?.record.type ?? recordType?.id ?? '',
        ...(local ? { recordId: item.action.recordId } : {}),
        actionType: item.action.type,
        declaration: item.action.declaration ?? {},
      });
      await client.attention.dismiss(item.action.id);
      go(`/drafts/${draft.id}`);
    } catch (error) {
      setProblem(t.couldNotOpenForm(errorText(error)));
    }
  }

  async function dismiss() {
    try {
      await client.attention.dismiss(item.action.id);
    } catch (error) {
      setProblem(errorText(error));
    }
  }

  return (
    <li className="card attention-item" data-testid="attention-item">
      {/* The code is for support staff and tests; people read the server's sentence below. */}
      <strong data-code={item.code}>
        {t.refused(words.actionLabel(item.action, recordType?.id ?? ''))}
      </strong>
      <p>{sentence(item.message)}</p>
      {item.errors.length > 0 && (
        <ul className="errors">
          {item.errors.map((e) => (
            <li key={e.path}>{words.errorSentence(e, recordType)}</li>
          ))}
        </ul>
      )}
      <p className="muted small">
        {t.savedOnDevice(words.when(item.action.occurredAt))} ·{' '}
        {t.refusedAt(words.when(item.rejectedAt))} ·{' '}
        <a href={`#/records/${item.action.recordId}`}>{t.openRecord}</a>
      </p>
      {typed.length > 0 && (
        <div className="typed">
          <span className="muted small">{t.typed}</span>
          <ul>
            {typed.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </div>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <div className="actions">
        {item.action.declaration && recordType && (
          <button type="button" className="primary" onClick={() => void resendAsNew()}>
            {t.editResend}
          </button>
        )}
        <button type="button" onClick={() => void dismiss()}>
          {t.dismiss}
        </button>
      </div>
    </li>
  );
}

/** The record type whose form has the fields that were typed (a CREATE names it). */
function typeOf(item: AttentionItem, words: Words): RecordTypeConfig | undefined {
  if (item.action.recordType) return words.recordType(item.action.recordType);
  const fieldIds = Object.keys(item.action.declaration ?? {});
  return [...words.config.recordTypes.values()].find((t) =>
    t.form.pages.some((p) => p.fields.some((f) => fieldIds.includes(f.id))),
  );
}
