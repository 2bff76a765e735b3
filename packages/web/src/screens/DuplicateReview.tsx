import { ActionRefused, type LocalRecord, type NewAction } from '@registra/client';
import { allowedActions, type DuplicateCandidate, type RecordState } from '@registra/core';
import { useState } from 'react';
import { DuplicateComparison } from '../components/DuplicateComparison.js';
import { FlagBadges } from '../components/FlagBadges.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { errorText, useClient, useLoad, useWorkspace } from '../hooks/index.js';

type Decision = { type: 'MARK_NOT_DUPLICATE' } | { type: 'MARK_DUPLICATE'; duplicateOf: string };

/**
 * The review of a suspected duplicate (PROTOCOL 10): each candidate side by side with the record,
 * with its score, and the reviewer's two decisions, each with a reason. Candidates outside the
 * reviewer's reach show only their id and score.
 */
export function DuplicateReview({ recordId }: { recordId: string }) {
  const client = useClient();
  const workspace = useWorkspace();
  const [version, setVersion] = useState(0);
  const loaded = useLoad(async () => {
    const local = (await client.records.get(recordId)) ?? (await client.records.fetch(recordId));
    const others = new Map<string, RecordState | null>();
    for (const candidate of local?.record.duplicates ?? []) {
      if (!candidate.evidence) continue; // out of reach: id and score only
      const other =
        (await client.records.get(candidate.recordId)) ??
        (await client.records.fetch(candidate.recordId).catch(() => null));
      others.set(candidate.recordId, other?.record ?? null);
    }
    return { local, others };
  }, [recordId, version]);
  const [asking, setAsking] = useState<Decision | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  if (workspace.state === 'loading' || loaded.state === 'loading')
    return <p className="empty">…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  const { principal, words } = workspace.value;
  const { t, config } = words;
  if (loaded.state === 'error') return <p className="error">{t.couldNotLoad(loaded.error)}</p>;
  const local: LocalRecord | null = loaded.value.local;
  if (!local) return <p className="error">{t.couldNotLoad(recordId)}</p>;
  const { record } = local;
  const recordType = config.recordTypes.get(record.type);
  if (!recordType) return null;
  const verdicts = allowedActions(record, recordType, principal, config.locations);
  const verdict = verdicts.find((a) => a.type === 'MARK_NOT_DUPLICATE')?.verdict;
  const mayAssign = verdicts.find((a) => a.type === 'ASSIGN')?.verdict.allowed ?? false;
  const candidates: DuplicateCandidate[] = record.duplicates ?? [];

  async function submit(action: NewAction) {
    setProblem(null);
    setBusy(true);
    try {
      await client.actions.submit(action);
      setAsking(null);
      if (action.type === 'ASSIGN') await client.records.fetch(record.id).catch(() => null);
      setVersion((v) => v + 1);
    } catch (error) {
      setProblem(
        error instanceof ActionRefused
          ? t.notSaved(`${error.message} (${error.code})`)
          : t.notSaved(errorText(error)),
      );
    } finally {
      setBusy(false);
    }
  }

  function decide(decision: Decision, reason: string) {
    const annotation: Record<string, string> = { reason };
    if (decision.type === 'MARK_DUPLICATE') annotation['duplicateOf'] = decision.duplicateOf;
    void submit({ type: decision.type, recordId: record.id, annotation });
  }

  return (
    <article className="duplicate-review">
      <p>
        <a href={`#/records/${record.id}`}>← {words.recordTitle(record)}</a>
      </p>
      <h1>{t.possibleDuplicateOf(words.recordTitle(record))}</h1>
      <p className="badges">
        <FlagBadges record={record} pending={local.pending.length} words={words} />
      </p>
      {!record.flags.includes('duplicate:suspected') && (
        <p className="notice" data-testid="review-done">
          {t.noSuspicion}
        </p>
      )}
      {verdict && !verdict.allowed && verdict.code === 'NOT_ASSIGNED' && mayAssign && (
        <p>
          <button
            type="button"
            disabled={busy}
            data-testid="review-assign"
            onClick={() =>
              void submit({ type: 'ASSIGN', recordId: record.id, assignee: principal.id })
            }
          >
            {t.assignToDecide}
          </button>
        </p>
      )}
      {candidates.map((candidate) => (
        <section key={candidate.recordId} className="card candidate">
          <h2>
            {candidate.evidence ? (
              <a href={`#/records/${candidate.recordId}`}>
                {loaded.value.others.get(candidate.recordId)
                  ? words.recordTitle(loaded.value.others.get(candidate.recordId) as RecordState)
                  : t.someRecord(candidate.recordId.slice(-6))}
              </a>
            ) : (
              t.outsideJurisdiction(candidate.recordId.slice(-6))
            )}{' '}
            <span className="badge" data-testid="candidate-score">
              {t.score(Math.round(candidate.score * 100))}
            </span>
          </h2>
          {candidate.evidence && (
            <DuplicateComparison
              record={record}
              other={loaded.value.others.get(candidate.recordId) ?? null}
              candidate={candidate}
              recordType={recordType}
              words={words}
            />
          )}
          {verdict?.allowed && (
            <div className="actions">
              <button
                type="button"
                disabled={busy}
                data-testid={`mark-duplicate-${candidate.recordId}`}
                onClick={() =>
                  setAsking({ type: 'MARK_DUPLICATE', duplicateOf: candidate.recordId })
                }
              >
                {t.duplicateOfThis}
              </button>
            </div>
          )}
        </section>
      ))}
      {verdict?.allowed && (
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={busy}
            data-testid="mark-not-duplicate"
            onClick={() => setAsking({ type: 'MARK_NOT_DUPLICATE' })}
          >
            {t.notADuplicate}
          </button>
        </div>
      )}
      {verdict && !verdict.allowed && verdict.code !== 'NOT_ASSIGNED' && candidates.length > 0 && (
        <p className="muted">{verdict.message}</p>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {asking && (
        <ConfirmDialog
          title={asking.type === 'MARK_DUPLICATE' ? t.markDuplicateTitle : t.notADuplicate}
          consequence={
            asking.type === 'MARK_DUPLICATE'
              ? t.markDuplicateConsequence
              : t.notDuplicateConsequence
          }
          reason="required"
          onCancel={() => setAsking(null)}
          onConfirm={(reason) => decide(asking, reason ?? '')}
        />
      )}
    </article>
  );
}
