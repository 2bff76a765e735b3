import type { AttentionItem, Draft } from '@registra/client';
import { allowedActions, type RecordState } from '@registra/core';
import { AttentionList } from '../components/AttentionList.js';
import { DraftList } from '../components/DraftList.js';
import { RecordList } from '../components/RecordList.js';
import { useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { RECORD_QUEUES } from '../queues.js';
import { go } from '../router.js';

interface Overview {
  drafts: Draft[];
  attention: AttentionItem[];
  pending: Set<string>;
  queues: Map<string, RecordState[]>;
}

/** Work queues as tabs with counts, and the record types this person may start. */
export function Home({ queue }: { queue: string }) {
  const client = useClient();
  const workspace = useWorkspace();
  const overview = useLoad<Overview>(async () => {
    const [drafts, attention, pendingActions, ...lists] = await Promise.all([
      client.drafts.list(),
      client.attention.list(),
      client.actions.pending(),
      ...RECORD_QUEUES.map((q) => q.load(client)),
    ]);
    return {
      drafts,
      attention,
      pending: new Set(pendingActions.map((p) => p.action.recordId)),
      queues: new Map(RECORD_QUEUES.map((q, i) => [q.name, lists[i] ?? []])),
    };
  }, []);

  if (workspace.state === 'loading') return <p className="empty">Loading the configuration…</p>;
  if (workspace.state === 'error')
    return <p className="error">Could not load the configuration: {workspace.error}</p>;
  const { config, principal } = workspace.value;
  const creatable = [...config.recordTypes.values()].filter(
    (type) => allowedActions(null, type, principal, config.locations)[0]?.verdict.allowed,
  );
  const ready = overview.state === 'ready' ? overview.value : null;
  const count = (name: string) => {
    if (!ready) return '…';
    if (name === 'drafts') return ready.drafts.length;
    if (name === 'needs-attention') return ready.attention.length;
    return ready.queues.get(name)?.length ?? 0;
  };
  const [first, ...others] = RECORD_QUEUES.filter(
    (q) => q.relevant(config) || q.name === queue,
  ).map((q) => ({ name: q.name, label: q.labelIn?.(config) ?? q.label }));
  const tabs = [
    { name: 'drafts', label: 'Drafts' },
    ...(first ? [first] : []),
    { name: 'needs-attention', label: 'Needs attention' },
    ...others,
  ];
  const current = RECORD_QUEUES.find((q) => q.name === queue);

  return (
    <section>
      {creatable.length > 0 && (
        <div className="new-buttons">
          {creatable.map((type) => (
            <button
              key={type.id}
              type="button"
              className="primary"
              onClick={() => go(`/new/${type.id}`)}
            >
              New {type.label.toLowerCase()}
            </button>
          ))}
        </div>
      )}
      <nav className="tabs" aria-label="Work queues">
        {tabs.map((tab) => (
          <a
            key={tab.name}
            href={`#/queue/${tab.name}`}
            className={`tab ${tab.name === queue ? 'active' : ''}`}
            aria-current={tab.name === queue ? 'page' : undefined}
            data-testid={`queue-${tab.name}`}
          >
            {tab.label} <span className="count">{count(tab.name)}</span>
          </a>
        ))}
      </nav>
      <h1 className="visually-hidden">
        {tabs.find((t) => t.name === queue)?.label ?? 'Work queues'}
      </h1>
      {overview.state === 'loading' && <p className="empty">Loading…</p>}
      {overview.state === 'error' && (
        <p className="error">Could not load the work queues: {overview.error}</p>
      )}
      {ready && queue === 'drafts' && <DraftList drafts={ready.drafts} config={config} />}
      {ready && queue === 'needs-attention' && (
        <AttentionList items={ready.attention} config={config} />
      )}
      {ready && current && (
        <RecordList
          records={ready.queues.get(current.name) ?? []}
          config={config}
          pending={ready.pending}
          empty={current.empty}
        />
      )}
      {!current && !['drafts', 'needs-attention'].includes(queue) && (
        <p className="empty">There is no work queue “{queue}”.</p>
      )}
    </section>
  );
}
