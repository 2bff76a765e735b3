import {
  formFields,
  matchWords,
  nameWords,
  type DuplicateCandidate,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import type { ReactNode } from 'react';
import { display, fieldLabel } from '../labels.js';

const MATCH_WORDS: Record<string, string> = {
  exact: 'same',
  phonetic: 'sounds alike',
  fuzzy: 'typo',
  dateRange: 'close dates',
  none: 'different',
};

/**
 * A value with the parts that match the other side highlighted: words that are the same, sound
 * alike or differ by a typo (core's matchWords, the rule the server scored with).
 */
function Highlighted({ text, other, whole }: { text: string; other: string; whole: boolean }) {
  if (whole) return <mark>{text}</mark>;
  const theirs = nameWords(other);
  const parts: ReactNode[] = [];
  for (const [i, piece] of text.split(/([^\p{L}\p{N}]+)/u).entries()) {
    const [word] = nameWords(piece);
    const matched = word !== undefined && theirs.some((w) => matchWords(word, w) !== null);
    parts.push(matched ? <mark key={i}>{piece}</mark> : piece);
  }
  return <>{parts}</>;
}

/**
 * Two records side by side, field by field (PROTOCOL 10): first the fields the rules compare,
 * each with how it matched, its score and its rule; then the rest of the form.
 */
export function DuplicateComparison({
  record,
  other,
  candidate,
  recordType,
  config,
}: {
  record: RecordState;
  other: RecordState | null;
  candidate: DuplicateCandidate;
  recordType: RecordTypeConfig;
  config: RegistryConfig;
}) {
  const fields = formFields(recordType);
  const rules = recordType.deduplication?.rules ?? [];
  const ruled = new Set(rules.map((r) => r.field));
  const rest = [...fields.keys()].filter(
    (id) =>
      !ruled.has(id) &&
      (record.declaration[id] !== undefined || other?.declaration[id] !== undefined),
  );
  const cell = (id: string, value: unknown, against: unknown, whole: boolean) => {
    if (value === undefined || value === null || value === '')
      return <span className="muted">—</span>;
    const text = display(value, fields.get(id), config);
    const otherText = against === undefined ? '' : display(against, fields.get(id), config);
    return <Highlighted text={text} other={otherText} whole={whole} />;
  };
  return (
    <table className="comparison" data-testid={`comparison-${candidate.recordId}`}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">This record</th>
          <th scope="col">Possible duplicate</th>
          <th scope="col">Match</th>
        </tr>
      </thead>
      <tbody>
        {rules.map((rule) => {
          const evidence = candidate.evidence?.[rule.field];
          const mine = record.declaration[rule.field];
          const theirs = other?.declaration[rule.field] ?? evidence?.that;
          const whole = evidence?.match === 'exact';
          return (
            <tr key={rule.field} className={`match-${evidence?.match ?? 'none'}`}>
              <th scope="row">{fieldLabel(rule.field, recordType)}</th>
              <td>{cell(rule.field, mine, theirs, whole)}</td>
              <td>{cell(rule.field, theirs, mine, whole)}</td>
              <td className="small">
                <strong>{MATCH_WORDS[evidence?.match ?? 'none']}</strong>
                {evidence?.score !== undefined && <> · {Math.round(evidence.score * 100)}%</>}
                {evidence?.with && <> · as {fieldLabel(evidence.with, recordType).toLowerCase()}</>}
                <br />
                <span className="muted">
                  rule: {rule.match.join(' or ')}
                  {rule.window !== undefined ? ` within ${rule.window} days` : ''}, weight{' '}
                  {rule.weight}
                </span>
              </td>
            </tr>
          );
        })}
        {rest.map((id) => (
          <tr key={id}>
            <th scope="row">{fieldLabel(id, recordType)}</th>
            <td>{cell(id, record.declaration[id], other?.declaration[id], false)}</td>
            <td>{cell(id, other?.declaration[id], record.declaration[id], false)}</td>
            <td className="muted small">not compared</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
