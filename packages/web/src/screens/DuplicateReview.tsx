import { ActionRefused, type LocalRecord, type NewAction } from '@registra/client';
import { allowedActions, type DuplicateCandidate, type RecordState } from '@registra/core';
import { useState } from 'react';
import { DuplicateComparison } from '../components/DuplicateComparison.js';
import { FlagBadges } from '../components/FlagBadges.js';
import { ReasonDialog } from '../components/ReasonDialog.js';
import { errorText, useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { recordTitle } from '../labels.js';

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
    return <p className="empty">Loading…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  if (loaded.state === 'error') return <p className="error">{loaded.error}</p>;
  const local: LocalRecord | null = loaded.value.local;
  if (!local) return <p className="empty">This record is not on this device.</p>;
  const { config, principal } = workspace.value;
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
          ? `Not saved: ${error.message} (${error.code})`
          : `Not saved: ${errorText(error)}`,
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
        <a href={`#/records/${record.id}`}>← {recordTitle(record, config)}</a>
      </p>
      <h1>Possible duplicate: {recordTitle(record, config)}</h1>
      <p className="badges">
        <FlagBadges record={record} pending={local.pending.length} />
      </p>
      {!record.flags.includes('duplicate:suspected') && (
        <p className="notice" data-testid="review-done">
          No suspicion stands on this record now.
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
            Assign to me to decide
          </button>
        </p>
      )}
      {candidates.map((candidate) => (
        <section key={candidate.recordId} className="card candidate">
          <h2>
            {candidate.evidence ? (
              <a href={`#/records/${candidate.recordId}`}>
                {loaded.value.others.get(candidate.recordId)
                  ? recordTitle(loaded.value.others.get(candidate.recordId) as RecordState, config)
                  : `Record …${candidate.recordId.slice(-6)}`}
              </a>
            ) : (
              <>Record …{candidate.recordId.slice(-6)} (outside your jurisdiction)</>
            )}{' '}
            <span className="badge" data-testid="candidate-score">
              score {Math.round(candidate.score * 100)}%
            </span>
          </h2>
          {candidate.evidence && (
            <DuplicateComparison
              record={record}
              other={loaded.value.others.get(candidate.recordId) ?? null}
              candidate={candidate}
              recordType={recordType}
              config={config}
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
                Duplicate of this record
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
            Not a duplicate
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
        <ReasonDialog
          title={asking.type === 'MARK_DUPLICATE' ? 'Mark as a duplicate' : 'Not a duplicate'}
          onCancel={() => setAsking(null)}
          onConfirm={(reason) => decide(asking, reason)}
        />
      )}
    </article>
  );
}
