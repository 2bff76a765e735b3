import type { AttentionItem, Draft, QueueCount } from '@registra/client';
import { allowedActions, queuesOf, type RecordState, type Workqueue } from '@registra/core';
import { useEffect, useState } from 'react';
import { AttentionList } from '../components/AttentionList.js';
import { DraftList } from '../components/DraftList.js';
import { draftsSaved } from '../form/autosave.js';
import { RecordList } from '../components/RecordList.js';
import { errorText, useClient, useLoad, useWorkspace } from '../hooks/index.js';
import { go } from '../router.js';
import type { Words } from '../words.js';

interface Overview {
  drafts: Draft[];
  attention: AttentionItem[];
  waiting: RecordState[];
  pending: Set<string>;
  counts: Map<string, QueueCount>;
  source: 'server' | 'device';
}

/** Device lists every person has, besides the configured queues of their role. */
const DRAFTS = 'drafts';
const WAITING = 'waiting-to-send';
const ATTENTION = 'needs-attention';

/**
 * The work queues of the person's role (from the configuration: the server's counts online, the
 * device's offline), with the device's own lists: drafts, what waits to be sent, what the
 * server refused. And the record types this person may start.
 */
export function Home({ queue }: { queue: string | undefined }) {
  const client = useClient();
  const workspace = useWorkspace();
  const overview = useLoad<Overview>(async () => {
    // A form just left is still writing its last keystrokes: its draft belongs in the list.
    await draftsSaved();
    const [drafts, attention, pendingActions, counts] = await Promise.all([
      client.drafts.list(),
      client.attention.list(),
      client.actions.pending(),
      client.queues.counts(),
    ]);
    const pending = new Set(pendingActions.map((p) => p.action.recordId));
    const waiting = await client.records.query({ pending: true });
    return {
      drafts,
      attention,
      waiting,
      pending,
      counts: new Map(counts.queues.map((q) => [q.id, q])),
      source: counts.source,
    };
  }, []);

  if (workspace.state === 'loading') return <p className="empty">…</p>;
  if (workspace.state === 'error') return <p className="error">{workspace.error}</p>;
  const { config, principal, words } = workspace.value;
  const { t } = words;
  const configured = queuesOf(config, principal.role);
  const creatable = [...config.recordTypes.values()].filter(
    (type) => allowedActions(null, type, principal, config.locations)[0]?.verdict.allowed,
  );
  const ready = overview.state === 'ready' ? overview.value : null;
  const attentionQueue = configured.find((q) => q.id === ATTENTION);
  const tabs: { id: string; label: string; count: string }[] = [
    ...configured
      .filter((q) => q.id !== ATTENTION)
      .map((q) => {
        const count = ready?.counts.get(q.id);
        return {
          id: q.id,
          label: words.text(q, 'label'),
          count: count ? `${count.count}${count.more ? '+' : ''}` : '…',
        };
      }),
    {
      id: ATTENTION,
      label: attentionQueue ? words.text(attentionQueue, 'label') : t.needsAttention,
      count: ready
        ? String(ready.attention.length + (ready.counts.get(ATTENTION)?.count ?? 0))
        : '…',
    },
    { id: DRAFTS, label: t.drafts, count: ready ? String(ready.drafts.length) : '…' },
    { id: WAITING, label: t.waitingToSend, count: ready ? String(ready.waiting.length) : '…' },
  ];
  const current = queue ?? tabs[0]?.id ?? DRAFTS;
  const tab = tabs.find((x) => x.id === current);
  const queueConfig = configured.find((q) => q.id === current);

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
              {t.newRecord(words.recordTypeLabel(type.id))}
            </button>
          ))}
        </div>
      )}
      <nav className="tabs" aria-label={t.workQueues}>
        {tabs.map((x) => (
          <a
            key={x.id}
            href={`#/queue/${x.id}`}
            className={`tab ${x.id === current ? 'active' : ''}`}
            aria-current={x.id === current ? 'page' : undefined}
            data-testid={`queue-${x.id}`}
          >
            {x.label} <span className="count">{x.count}</span>
          </a>
        ))}
      </nav>
      <h1 className="queue-title">{tab?.label ?? t.workQueues}</h1>
      {overview.state === 'error' && <p className="error">{t.couldNotLoad(overview.error)}</p>}
      {!tab && <p className="empty">{t.unknownQueue(current)}</p>}
      {ready && current === DRAFTS && <DraftList drafts={ready.drafts} words={words} />}
      {ready && current === WAITING && (
        <RecordList
          records={ready.waiting}
          words={words}
          pending={ready.pending}
          empty={t.noneWaiting}
        />
      )}
      {ready && current === ATTENTION && (
        <>
          <AttentionList items={ready.attention} words={words} />
          {!attentionQueue && ready.attention.length === 0 && (
            <p className="empty">{t.nothingRefused}</p>
          )}
        </>
      )}
      {ready && queueConfig && (
        <QueueView
          key={queueConfig.id}
          queue={queueConfig}
          words={words}
          pending={ready.pending}
          hideEmpty={current === ATTENTION && ready.attention.length > 0}
        />
      )}
    </section>
  );
}

/** One configured queue: sortable, filtered by record type, paged with "Show more". */
function QueueView({
  queue,
  words,
  pending,
  hideEmpty,
}: {
  queue: Workqueue;
  words: Words;
  pending: ReadonlySet<string>;
  hideEmpty: boolean;
}) {
  const client = useClient();
  const { t } = words;
  const [sort, setSort] = useState(queue.sort);
  const [type, setType] = useState('');
  const [extra, setExtra] = useState<{ records: RecordState[]; next: string | null } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const first = useLoad(
    () => client.queues.page(queue.id, { limit: 25, sort, ...(type ? { type } : {}) }),
    [queue.id, sort, type],
  );
  useEffect(() => setExtra(null), [sort, type]);
  const types = (queue.filter.recordTypes ?? [...words.config.recordTypes.keys()]).filter((id) =>
    words.config.recordTypes.has(id),
  );
  if (first.state === 'loading') return <p className="muted loading">{t.loading}</p>;
  if (first.state === 'error') return <p className="error">{t.couldNotLoad(first.error)}</p>;
  const records = [...first.value.results, ...(extra?.records ?? [])];
  const next = extra ? extra.next : first.value.next;

  async function more() {
    if (!next) return;
    try {
      const page = await client.queues.page(queue.id, {
        limit: 25,
        sort,
        after: next,
        ...(type ? { type } : {}),
      });
      setExtra({ records: [...(extra?.records ?? []), ...page.results], next: page.next });
    } catch (error) {
      setProblem(errorText(error));
    }
  }

  return (
    <>
      <div className="queue-controls">
        <div className="control">
          <label htmlFor="queue-sort">{t.sortBy}</label>
          <select
            id="queue-sort"
            value={sort}
            onChange={(e) => setSort(e.target.value as Workqueue['sort'])}
          >
            <option value="-updatedAt">{t.newestFirst}</option>
            <option value="updatedAt">{t.oldestFirst}</option>
          </select>
        </div>
        {types.length > 1 && (
          <div className="control">
            <label htmlFor="queue-type">{t.typeFilter}</label>
            <select id="queue-type" value={type} onChange={(e) => setType(e.target.value)}>
              <option value="">{t.allTypes}</option>
              {types.map((id) => (
                <option key={id} value={id}>
                  {words.recordTypeLabel(id)}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      {first.value.source === 'device' && <p className="muted small">{t.onDevice}</p>}
      {hideEmpty && records.length === 0 ? null : (
        <RecordList
          records={records}
          words={words}
          pending={pending}
          columns={queue.columns}
          empty={queue.empty ?? t.emptyQueue(words.text(queue, 'label'))}
        />
      )}
      {next && (
        <button type="button" onClick={() => void more()}>
          {t.loadMore}
        </button>
      )}
      {problem && <p className="error">{problem}</p>}
    </>
  );
}
