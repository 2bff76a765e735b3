import {
  adapterUsername,
  type ActionResult,
  type InAdapterConfig,
  type RegistryConfig,
} from '@registra/core';
import { isDeepStrictEqual } from 'node:util';
import { Agent, request } from 'undici';
import { v5 as uuidv5 } from 'uuid';
import { writeAll } from '../../store/append.js';
import {
  addAdapterErrors,
  claimAdapter,
  finishRun,
  savePage,
  storedEntryIds,
  type AdapterPosition,
  type RunCounts,
} from '../../store/adapters.js';
import { findRecordState } from '../../store/records.js';
import { upsertMachineClient } from '../../store/users.js';
import { afterCommit, appendActions, type IncomingAction } from '../append/index.js';
import type { Caller, Registry } from '../context.js';
import { appendTransaction } from '../transaction.js';
import { openState } from '../vault/open.js';
import { ExpressionCompiler, MappingError, type Expression } from './expressions.js';

/** The namespace of the ids an adapter in derives (UUIDv5): fixed, so ids are stable. */
const ADAPTER_NAMESPACE = 'f0b6c7a2-3d1e-5c8a-9b4f-6a2e1d7c0b93';
/** The most bytes of a source's page read. */
const MAX_PAGE_BYTES = 32 * 1024 * 1024;

const agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });

/** An adapter in's expressions, compiled at start (InAdapterSchema says what each is given). */
export interface InAdapterExpressions {
  params: Expression | null;
  items: Expression;
  key: Expression;
  version: Expression;
  mapping: Expression;
  checkpoint: Expression | null;
  more: Expression | null;
}

/** An adapter in, ready to run: its configuration, expressions and headers. */
export interface InAdapterPuller {
  adapter: InAdapterConfig;
  expressions: InAdapterExpressions;
  headers: Readonly<Record<string, string>>;
}

/**
 * The adapters in that are on, their expressions compiled and headers read from `env`: a syntax
 * error or a header whose variable is not set stops the start, reported at its path.
 */
export function inAdapterPullers(
  config: RegistryConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, InAdapterPuller> {
  const compiler = new ExpressionCompiler();
  const pullers = new Map<string, InAdapterPuller>();
  config.document.adapters.forEach((declared, a) => {
    const on = config.inAdapters.get(declared.id);
    if (declared.direction !== 'in' || !on) return;
    const adapter: InAdapterConfig = { ...declared, url: on.url };
    const path = `adapters.${a}`;
    const compile = (source: string, name: string) => compiler.compile(source, `${path}.${name}`);
    pullers.set(adapter.id, {
      adapter,
      expressions: {
        params: adapter.params ? compile(adapter.params, 'params') : null,
        items: compile(adapter.items, 'items'),
        key: compile(adapter.key, 'key'),
        version: compile(adapter.version, 'version'),
        mapping: compile(adapter.mapping, 'mapping'),
        checkpoint: adapter.checkpoint ? compile(adapter.checkpoint, 'checkpoint') : null,
        more: adapter.more ? compile(adapter.more, 'more') : null,
      },
      headers: compiler.headers(adapter.headers, env, path),
    });
  });
  compiler.done();
  return pullers;
}

/** What one run did. `busy`: another run held the adapter, so this one did nothing. */
export interface PullResult extends RunCounts {
  busy: boolean;
  pages: number;
  error: string | null;
}

/** A failure of the whole run (the source, a page): the checkpoint stays where it was. */
class RunError extends Error {}

/**
 * One run of an adapter in (the job `adapters.pull`): from the stored checkpoint, page after
 * page, each item mapped to actions that are appended by the adapter's principal through the
 * same decision path as a device's (services/append), then the checkpoint the page gives is
 * stored. An item is applied once: its actions' ids derive from its key and version, and an item
 * whose first action is stored is passed over. An item that cannot be mapped, or whose actions
 * are rejected, is an error shown in the adapter's status, and the run goes on; a source that
 * fails ends the run with its error, to be tried again at the next one. Nothing here throws.
 */
export async function pullAdapter(
  registry: Registry,
  puller: InAdapterPuller,
): Promise<PullResult> {
  const { adapter } = puller;
  const counts: RunCounts = { applied: 0, unchanged: 0, failed: 0 };
  const lease = Math.min(3600, adapter.maxPages * (adapter.timeout + 30));
  const claimed = await claimAdapter(registry.db, adapter.id, lease);
  if (!claimed) return { busy: true, pages: 0, error: null, ...counts };
  let position: AdapterPosition = claimed;
  let pages = 0;
  let error: string | null = null;
  try {
    const caller = await adapterCaller(registry, adapter);
    while (pages < adapter.maxPages) {
      const page = await fetchPage(puller, position);
      pages += 1;
      if (page === 'unchanged') break;
      const { pageCounts, errors } = await applyItems(registry, puller, caller, page.items);
      const next = puller.expressions.checkpoint
        ? await evaluate(puller.expressions.checkpoint, {
            body: page.body,
            checkpoint: position.checkpoint,
            items: page.items,
          })
        : position.checkpoint;
      const more = puller.expressions.more
        ? Boolean(
            await evaluate(puller.expressions.more, {
              body: page.body,
              checkpoint: position.checkpoint,
            }),
          )
        : false;
      // An ETag answers for the request made from this checkpoint: kept only if it is made again.
      const same = isDeepStrictEqual(next ?? null, position.checkpoint ?? null);
      position = { checkpoint: next ?? null, etag: same ? page.etag : null };
      await savePage(registry.db, adapter.id, position, pageCounts);
      await addAdapterErrors(registry.db, adapter.id, errors);
      counts.applied += pageCounts.applied;
      counts.unchanged += pageCounts.unchanged;
      counts.failed += pageCounts.failed;
      if (!more) break;
    }
  } catch (caught) {
    error =
      caught instanceof RunError || caught instanceof MappingError
        ? caught.message
        : `the run failed: ${(caught as Error).message}`;
    await addAdapterErrors(registry.db, adapter.id, [{ key: null, message: error }]).catch(
      () => {},
    );
  }
  await finishRun(registry.db, adapter.id, error);
  return { busy: false, pages, error, ...counts };
}

/**
 * The adapter as a caller: its machine client (`adapter:<id>`, a user row of kind `client` kept in
 * step with the adapter's role, office and label), whose principal is made like anyone's.
 */
export async function adapterCaller(
  registry: Registry,
  adapter: Pick<InAdapterConfig, 'id' | 'role' | 'office' | 'label'>,
): Promise<Caller> {
  const user = {
    id: uuidv5(adapterUsername(adapter.id), ADAPTER_NAMESPACE),
    username: adapterUsername(adapter.id),
    name: adapter.label,
    role: adapter.role,
    officeId: adapter.office,
    kind: 'client' as const,
    active: true,
  };
  await upsertMachineClient(registry.db, user);
  return { user, principal: registry.config.principal(user) };
}

async function evaluate(expression: Expression, input: unknown): Promise<unknown> {
  return expression.evaluate(input);
}

interface Page {
  body: unknown;
  items: unknown[];
  etag: string | null;
}

/** GETs the page the checkpoint names; `unchanged` when the source answers 304 to its ETag. */
async function fetchPage(
  { adapter, expressions, headers }: InAdapterPuller,
  position: AdapterPosition,
): Promise<Page | 'unchanged'> {
  const params = expressions.params
    ? await expressions.params.evaluate({ checkpoint: position.checkpoint })
    : position.checkpoint;
  const url = new URL(adapter.url);
  if (params !== null && typeof params === 'object' && !Array.isArray(params)) {
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined || value === null) continue;
      url.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  let status: number;
  let text: string;
  let etag: string | null;
  try {
    const response = await request(url, {
      method: 'GET',
      dispatcher: agent,
      signal: AbortSignal.timeout(adapter.timeout * 1000),
      headers: {
        ...headers,
        accept: 'application/json',
        'user-agent': 'Registra-Adapters/1',
        ...(position.etag ? { 'if-none-match': position.etag } : {}),
      },
    });
    status = response.statusCode;
    const header = response.headers['etag'];
    etag = typeof header === 'string' ? header : null;
    text = await readCapped(response.body);
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new RunError(`the source did not answer within ${adapter.timeout} s`);
    }
    const code = (error as { code?: string }).code;
    throw new RunError(`the source cannot be reached (${code ?? (error as Error).message})`);
  }
  if (status === 304) return 'unchanged';
  if (status < 200 || status >= 300) {
    const said = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new RunError(`the source answered ${status}${said ? `: ${said}` : ''}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RunError('the source answered something that is not JSON');
  }
  const items = await expressions.items.evaluate(body);
  if (items === undefined || items === null) return { body, items: [], etag };
  if (Array.isArray(items)) return { body, items, etag };
  if (typeof items === 'object') return { body, items: [items], etag };
  throw new RunError(`${expressions.items.path}: gave ${typeof items}, not a list of items`);
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > MAX_PAGE_BYTES) {
      body.destroy();
      throw new RunError(`the source's page is larger than ${MAX_PAGE_BYTES} bytes`);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An item's identity in the source, and the ids Registra derives from it. */
interface ItemIds {
  key: string;
  version: string;
  recordId: string;
  actionId(index: number): string;
}

/** Ids derived from the adapter, the item's key and version: the same on every run. */
export function itemIds(adapterId: string, key: string, version: string): ItemIds {
  const namespace = uuidv5(`registra:adapter:${adapterId}`, ADAPTER_NAMESPACE);
  return {
    key,
    version,
    recordId: uuidv5(`record\u0000${key}`, namespace),
    actionId: (index) => uuidv5(`action\u0000${key}\u0000${version}\u0000${index}`, namespace),
  };
}

type ItemError = { key: string | null; message: string };

/** Maps and appends a page's items, each in a transaction of its own. */
async function applyItems(
  registry: Registry,
  puller: InAdapterPuller,
  caller: Caller,
  items: unknown[],
): Promise<{ pageCounts: RunCounts; errors: ItemError[] }> {
  const pageCounts: RunCounts = { applied: 0, unchanged: 0, failed: 0 };
  const errors: ItemError[] = [];
  const identified: { item: unknown; ids: ItemIds }[] = [];
  for (const [index, item] of items.entries()) {
    try {
      identified.push({ item, ids: await identify(puller, item) });
    } catch (error) {
      pageCounts.failed += 1;
      errors.push({ key: null, message: `item ${index + 1} of the page: ${messageOf(error)}` });
    }
  }
  const stored = await storedEntryIds(
    registry.db,
    identified.map(({ ids }) => ids.actionId(0)),
  );
  for (const { item, ids } of identified) {
    if (stored.has(ids.actionId(0))) {
      pageCounts.unchanged += 1;
      continue;
    }
    try {
      const rejected = await applyItem(registry, puller, caller, item, ids);
      if (rejected.length === 0) {
        pageCounts.applied += 1;
        continue;
      }
      pageCounts.failed += 1;
      errors.push({ key: ids.key, message: rejected.map(describeRejection).join('; ') });
    } catch (error) {
      pageCounts.failed += 1;
      errors.push({ key: ids.key, message: messageOf(error) });
    }
  }
  return { pageCounts, errors };
}

async function identify(puller: InAdapterPuller, item: unknown): Promise<ItemIds> {
  const key = scalar(await puller.expressions.key.evaluate(item));
  if (!key) throw new MappingError(puller.expressions.key.path, 'gave no key for the item');
  const version = scalar(await puller.expressions.version.evaluate(item)) ?? '';
  return itemIds(puller.adapter.id, key, version);
}

function scalar(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** One item: its actions from the mapping, appended together; answers the rejected ones. */
async function applyItem(
  registry: Registry,
  puller: InAdapterPuller,
  caller: Caller,
  item: unknown,
  ids: ItemIds,
): Promise<ActionResult[]> {
  const { adapter, expressions } = puller;
  const stored = await findRecordState(registry.db, ids.recordId);
  const record = stored && (await openState(registry, stored));
  const mapped = await expressions.mapping.evaluate({
    item,
    key: ids.key,
    version: ids.version,
    record,
  });
  const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
  const occurredAt = registry.now().toISOString();
  const incoming: IncomingAction[] = list.map((action, index) => {
    if (typeof action !== 'object' || action === null || Array.isArray(action)) {
      throw new MappingError(expressions.mapping.path, `action ${index + 1} is not an object`);
    }
    const raw: Record<string, unknown> = {
      ...(action as Record<string, unknown>),
      id: ids.actionId(index),
      recordId: (action as { recordId?: unknown }).recordId ?? ids.recordId,
      occurredAt,
    };
    if (raw['type'] === 'CREATE' && raw['recordType'] === undefined) {
      raw['recordType'] = adapter.recordType;
    }
    return { raw, id: String(raw['id']) };
  });
  if (incoming.length === 0) return [];
  const { results, appended } = await appendTransaction(registry, async (trx) => {
    const batch = await appendActions(trx, registry, caller, incoming, null);
    await writeAll(trx, batch.writes);
    return batch;
  });
  afterCommit(registry.effects ?? [], appended);
  return results.filter((r) => r.outcome === 'rejected');
}

function describeRejection(result: ActionResult): string {
  const paths = (result.errors ?? [])
    .map((e) => `${e.path}: ${e.message}`)
    .filter((said) => !result.message?.includes(said))
    .join(', ');
  return `${result.code}: ${result.message}${paths ? ` (${paths})` : ''}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
