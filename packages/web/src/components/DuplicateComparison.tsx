import {
  formFields,
  matchWords,
  nameWords,
  type DuplicateCandidate,
  type RecordState,
  type RecordTypeConfig,
} from '@registra/core';
import type { ReactNode } from 'react';
import type { Words } from '../words.js';

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
  words,
}: {
  record: RecordState;
  other: RecordState | null;
  candidate: DuplicateCandidate;
  recordType: RecordTypeConfig;
  words: Words;
}) {
  const { t } = words;
  const fields = formFields(recordType);
  const rules = recordType.deduplication?.rules ?? [];
  const ruled = new Set(rules.map((r) => r.field));
  const rest = [...fields.keys()].filter(
    (id) =>
      !ruled.has(id) &&
      (record.declaration[id] !== undefined || other?.declaration[id] !== undefined),
  );
  const label = (id: string) => words.pathLabel(id, recordType);
  const cell = (id: string, value: unknown, against: unknown, whole: boolean) => {
    const text = words.display(value, fields.get(id));
    if (text === '') return <span className="muted">—</span>;
    const otherText = words.display(against, fields.get(id));
    return <Highlighted text={text} other={otherText} whole={whole} />;
  };
  return (
    <table className="comparison" data-testid={`comparison-${candidate.recordId}`}>
      <thead>
        <tr>
          <th scope="col">{t.fieldColumn}</th>
          <th scope="col">{t.thisRecord}</th>
          <th scope="col">{t.possibleDuplicate}</th>
          <th scope="col">{t.matchColumn}</th>
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
              <th scope="row">{label(rule.field)}</th>
              <td>{cell(rule.field, mine, theirs, whole)}</td>
              <td>{cell(rule.field, theirs, mine, whole)}</td>
              <td className="small">
                <strong>{t.matchWords[evidence?.match ?? 'none']}</strong>
                {evidence?.score !== undefined && <> · {Math.round(evidence.score * 100)}%</>}
                {evidence?.with && <> · {t.asField(label(evidence.with))}</>}
                <br />
                <span className="muted">
                  {t.ruleText(rule.match.join(' / '), rule.window, rule.weight)}
                </span>
              </td>
            </tr>
          );
        })}
        {rest.map((id) => (
          <tr key={id}>
            <th scope="row">{label(id)}</th>
            <td>{cell(id, record.declaration[id], other?.declaration[id], false)}</td>
            <td>{cell(id, other?.declaration[id], record.declaration[id], false)}</td>
            <td className="muted small">{t.notCompared}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
