import type { AttentionItem } from '@registra/client';
import type { RecordTypeConfig, RegistryConfig } from '@registra/core';
import { useState } from 'react';
import { errorText, useClient } from '../hooks/index.js';
import { actionLabel, describePatch, fieldLabel, sentence, when } from '../labels.js';
import { go } from '../router.js';

/** Actions the server refused: why, and what the person typed, kept until they decide. */
export function AttentionList({
  items,
  config,
}: {
  items: AttentionItem[];
  config: RegistryConfig;
}) {
  if (items.length === 0)
    return <p className="empty">Nothing needs your attention: the server accepted everything.</p>;
  return (
    <ul className="record-list">
      {items.map((item) => (
        <AttentionCard key={item.action.id} item={item} config={config} />
      ))}
    </ul>
  );
}

function AttentionCard({ item, config }: { item: AttentionItem; config: RegistryConfig }) {
  const client = useClient();
  const [problem, setProblem] = useState<string | null>(null);
  const recordType = typeOf(item, config);
  const typed = describePatch(item.action.declaration, recordType, config);

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
      setProblem(`Could not open the form: ${errorText(error)}`);
    }
  }

  async function dismiss() {
    try {
      await client.attention.dismiss(item.action.id);
    } catch (error) {
      setProblem(`Could not dismiss: ${errorText(error)}`);
    }
  }

  return (
    <li className="card attention-item" data-testid="attention-item">
      <strong>
        {actionLabel(item.action, config, recordType?.id)}
        {recordType ? ` of a ${recordType.label.toLowerCase()}` : ''} was refused:{' '}
        <code>{item.code}</code>
      </strong>
      <p>{sentence(item.message)}</p>
      {item.errors.length > 0 && (
        <ul className="errors">
          {item.errors.map((e) => (
            <li key={e.path}>
              {fieldLabel(e.path, recordType)}: {e.message}
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">
        Saved on this device {when(item.action.occurredAt)} · refused {when(item.rejectedAt)} ·{' '}
        <a href={`#/records/${item.action.recordId}`}>open the record</a>
      </p>
      {typed.length > 0 && (
        <div className="typed">
          <span className="muted small">What was typed:</span>
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
            Edit and resend as new
          </button>
        )}
        <button type="button" onClick={() => void dismiss()}>
          Dismiss
        </button>
      </div>
    </li>
  );
}

/** The record type whose form has the fields that were typed (a CREATE names it). */
function typeOf(item: AttentionItem, config: RegistryConfig): RecordTypeConfig | undefined {
  if (item.action.recordType) return config.recordTypes.get(item.action.recordType);
  const fieldIds = Object.keys(item.action.declaration ?? {});
  return [...config.recordTypes.values()].find((t) =>
    t.form.pages.some((p) => p.fields.some((f) => fieldIds.includes(f.id))),
  );
}
