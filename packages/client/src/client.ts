import {
  ActionSchema,
  decideAction,
  loadConfiguration,
  loadConfigurationOrThrow,
  referencesIn,
  toFieldErrors,
  type Action,
  type Configuration,
  type Entry,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import type { DexieOptions } from 'dexie';
import pRetry from 'p-retry';
import { v7 as uuidv7 } from 'uuid';
import type {
  ClientOptions,
  Draft,
  LocalRecord,
  NewAction,
  AdapterStatus,
  Delivery,
  RegistraClient,
  SearchResults,
  FileStatus,
  SyncReport,
  SyncStatus,
  User,
} from './api.js';
import { SessionDatabase, UserDatabase, type SessionRow } from './db.js';
import { FileQueue, namedFiles } from './files/queue.js';
import { FetchHttpStack } from './files/tus.js';
import {
  ActionRefused,
  InvalidCredentials,
  LoginRequired,
  ServerProblem,
  Unreachable,
} from './errors.js';
import {
  deviceContext,
  localFold,
  localHeads,
  localRecord,
  queryRecords,
  referencing,
  serverState,
  type Viewer,
} from './local.js';
import { directory } from './directory.js';
import { Store } from './observable.js';
import { queueCounts, queuePage } from './queues.js';
import { SessionTokens } from './session-tokens.js';
import { SyncEngine } from './sync-engine.js';
import { Transport, type Tokens } from './transport.js';
import { checkVerifier, makeVerifier } from './verifier.js';
import { withLock } from './locks.js';
import { consentPortal } from './consents.js';
import { OfflineVerifier } from './credentials.js';
import { newWrappedKey, resumeKey, unwrapKey, Vault, type WrappedKey } from './vault.js';

/** A record's credential as the device keeps it: with the record's seq when it was fetched. */
interface KeptCredential {
  credential: string;
  seq: number;
}

interface Signed {
  user: User;
  /** The stored session as it was opened; its tokens move on in `tokens`. */
  session: SessionRow;
  tokens: SessionTokens;
  db: UserDatabase;
  engine: SyncEngine;
  files: FileQueue;
  /** Seals and opens sensitive values with the device data key, held here while signed in. */
  vault: Vault;
}

/** How a session gets the device data key when it opens (see `open`). */
type KeyRelease = (
  db: UserDatabase,
) => Promise<{ key: CryptoKey; resume?: SessionRow['resume']; created: boolean } | null>;

/** The offline SDK: see api.ts for what each part promises. */
export function createClient(options: ClientOptions): RegistraClient {
  const now = options.now ?? (() => new Date());
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const dexieOptions: DexieOptions = {};
  if (options.indexedDB) dexieOptions.indexedDB = options.indexedDB;
  if (options.IDBKeyRange) dexieOptions.IDBKeyRange = options.IDBKeyRange;
  const sessions = new SessionDatabase(dexieOptions);
  // What SDK instances over the same IndexedDB share when there are no Web Locks (see withLock).
  const storage: object = options.indexedDB ?? sharedStorage;
  const offlineVerifier = new OfflineVerifier(options.baseUrl, fetchImpl, dexieOptions);
  const user = new Store<User | null>(null);
  const status = new Store<SyncStatus>({
    phase: 'idle',
    online: browserOnline(),
    pending: 0,
    pendingRecords: 0,
    needsAttention: 0,
    lastSyncedAt: null,
    lastError: null,
  });
  let signed: Signed | null = null;
  // The signed-in person's file statuses; empty while locked.
  const fileStatus = new Store<Record<string, FileStatus>>({});
  let registry: { version: string; config: RegistryConfig } | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  let lockTimer: ReturnType<typeof setTimeout> | null = null;
  let scheduled: ReturnType<typeof setTimeout> | null = null;

  const transport = new Transport({
    baseUrl: options.baseUrl,
    fetch: fetchImpl,
    tokens: () => signed?.tokens ?? null,
  });

  const need = (): Signed => {
    if (!signed) throw new LoginRequired('log in or unlock first');
    touch();
    return signed;
  };

  const lockAfterMs = options.lockAfterMs ?? 15 * 60_000;
  let markedActiveAt = 0;

  function touch(): void {
    if (lockTimer) clearTimeout(lockTimer);
    if (signed && lockAfterMs > 0) lockTimer = setTimeout(() => lock(), lockAfterMs);
    // Kept to the half-minute: what a reload within the lock delay needs, at little cost.
    const at = now().getTime();
    if (signed && at - markedActiveAt > 30_000) {
      markedActiveAt = at;
      void markActive(signed.session.username, now().toISOString());
    }
  }

  async function markActive(username: string, activeAt: string | undefined): Promise<void> {
    await sessions.sessions
      .update(
        username,
        activeAt === undefined ? { activeAt: undefined, resume: undefined } : { activeAt },
      )
      .catch(() => undefined);
  }

  /**
   * The configuration, revalidated with the server when it answers. Callers at the same moment
   * share one request: a screen asking while the login still fetches it gets that answer, rather
   * than a request of its own that a network lost meanwhile would fail with nothing stored yet.
   */
  let fetchingConfiguration: Promise<RegistryConfig> | null = null;
  function configuration(): Promise<RegistryConfig> {
    fetchingConfiguration ??= fetchConfiguration().finally(() => {
      fetchingConfiguration = null;
    });
    return fetchingConfiguration;
  }

  async function fetchConfiguration(): Promise<RegistryConfig> {
    const { db } = need();
    const stored = await db.getMeta<{ etag: string; document: Configuration }>('config');
    try {
      const answer = await transport.request<Configuration>('GET', '/api/v1/config', {
        headers: stored ? { 'if-none-match': stored.etag } : {},
      });
      if (answer.status === 200) {
        // A configuration this version of the app cannot read (written for a newer Registra)
        // never replaces one it can: the device keeps working with the one it has until the app
        // itself is updated. With none stored yet, there is nothing to work with.
        const loaded = loadConfiguration(answer.body);
        if (loaded.ok) {
          await db.setMeta('config', {
            etag: answer.headers.get('etag') ?? '',
            document: answer.body,
          });
        } else if (!stored) {
          throw new ServerProblem(
            200,
            'UNREADABLE_CONFIGURATION',
            'this version of the app cannot read the registry configuration: update the app',
            { errors: loaded.errors },
          );
        }
      }
    } catch (error) {
      if (!stored || !(error instanceof Unreachable || error instanceof LoginRequired)) throw error;
    }
    const current = await db.getMeta<{ document: Configuration }>('config');
    if (!current)
      throw new Unreachable('the configuration has not been downloaded yet: connect once');
    if (registry?.version !== current.document.version) {
      registry = {
        version: current.document.version,
        config: loadConfigurationOrThrow(current.document),
      };
    }
    return registry.config;
  }

  async function cachedConfiguration(): Promise<RegistryConfig> {
    const { db } = need();
    if (registry) return registry.config;
    const current = await db.getMeta<{ document: Configuration }>('config');
    if (!current) return configuration();
    registry = {
      version: current.document.version,
      config: loadConfigurationOrThrow(current.document),
    };
    return registry.config;
  }

  async function viewer(): Promise<Viewer> {
    const { db, user: person } = need();
    const config = await cachedConfiguration();
    return {
      config,
      principal: config.principal({ id: person.id, role: person.role, officeId: person.officeId }),
      deviceId: (await db.getMeta<string>('deviceId')) as string,
      now,
      vault: need().vault,
    };
  }

  async function refreshCounts(): Promise<void> {
    if (!signed) return;
    const [pending, pendingRecords, needsAttention, lastSyncedAt] = await Promise.all([
      signed.db.outbox.count(),
      signed.db.outbox.orderBy('action.recordId').uniqueKeys(),
      signed.db.attention.count(),
      signed.db.getMeta<string>('lastSyncedAt'),
    ]);
    status.update({
      pending,
      pendingRecords: pendingRecords.length,
      needsAttention,
      lastSyncedAt: lastSyncedAt ?? null,
    });
  }

  async function open(row: SessionRow, release: KeyRelease): Promise<User> {
    const db = new UserDatabase(row.user.id, dexieOptions);
    await db.open();
    const released = await release(db);
    if (!released) {
      db.close();
      throw new InvalidCredentials();
    }
    if (released.resume) await sessions.sessions.update(row.username, { resume: released.resume });
    await db.transaction('rw', db.meta, async () => {
      if (!(await db.getMeta('deviceId'))) await db.setMeta('deviceId', uuidv7());
      if (!(await db.getMeta('nextDeviceSeq'))) await db.setMeta('nextDeviceSeq', 1);
    });
    const files = new FileQueue({
      db,
      transport,
      baseUrl: options.baseUrl,
      // The browser's own stack (XMLHttpRequest) reports upload progress byte by byte.
      httpStack:
        options.fetch || typeof XMLHttpRequest === 'undefined'
          ? new FetchHttpStack(fetchImpl)
          : undefined,
      chunkSize: options.uploadChunkBytes ?? 256 * 1024,
      budgetBytes: options.fileBudgetBytes ?? 200 * 1024 * 1024,
      config: cachedConfiguration,
      now,
    });
    await files.open();
    const engine = new SyncEngine({
      db,
      storage,
      transport,
      files,
      viewer,
      userId: row.user.id,
      maxBatchBytes: options.maxBatchBytes ?? 256 * 1024,
      now,
      changed: () => void refreshCounts(),
    });
    const tokens = new SessionTokens({
      sessions,
      username: row.username,
      userId: row.user.id,
      tokens: { accessToken: row.accessToken, refreshToken: row.refreshToken },
      storage,
    });
    signed?.tokens.close();
    const vault = new Vault(released.key, cachedConfiguration);
    signed = { user: row.user, session: row, tokens, db, engine, files, vault };
    fileStatus.set(files.status.get());
    files.status.subscribe((value) => {
      if (signed?.files === files) fileStatus.set(value);
    });
    registry = null;
    markedActiveAt = 0;
    touch();
    user.set(row.user);
    await refreshCounts();
    if (released.created) await sealKept(db, vault).catch(() => undefined);
    startBackground();
    return row.user;
  }

  /**
   * The data key for a secret the person just proved (to the server, or to the verifier): opened
   * from the meta, or drawn when the device has none yet.
   */
  function passwordRelease(secret: string, proven: 'server' | 'verifier'): KeyRelease {
    return async (db) => {
      const stored = await db.getMeta<WrappedKey>('deviceKey');
      if (stored) {
        const opened = await unwrapKey(stored, secret);
        if (opened) return { ...opened, created: false };
        // The server took a password that does not open the key: it was changed elsewhere.
        // What was sealed with the old key cannot be read without the old password; the
        // records and entries are fetched again, the rest stays sealed (see the README).
        if (proven === 'verifier') return null;
        await db.transaction('rw', [db.records, db.entries, db.meta], async () => {
          // Kept, not destroyed: the old password would open what was sealed with it.
          await db.setMeta('deviceKeyPrevious', stored);
          await db.records.clear();
          await db.entries.clear();
          await db.meta.delete('cursor');
        });
      }
      const fresh = await newWrappedKey(secret);
      await db.setMeta('deviceKey', fresh);
      const opened = await unwrapKey(fresh, secret);
      return opened ? { ...opened, created: true } : null;
    };
  }

  async function login(username: string, password: string): Promise<User> {
    return begin({ grant_type: 'password', username, password }, password);
  }

  async function signOnProvider(): Promise<{ name: string; start: string } | null> {
    const answer = await transport.request<{ enabled: boolean; name?: string; start?: string }>(
      'GET',
      '/api/v1/auth/sign-on',
      { auth: false },
    );
    const { enabled, name, start } = answer.body;
    return enabled && name && start ? { name, start: options.baseUrl + start } : null;
  }

  async function signOn(code: string, passphrase: string): Promise<User> {
    return begin({ grant_type: 'sign_on_code', code }, passphrase);
  }

  /**
   * A session from the server's tokens (a password login or a sign-on's code), with the verifier
   * of the secret that unlocks it offline.
   */
  async function begin(grant: Record<string, string>, secret: string): Promise<User> {
    const answer = await transport
      .request<Tokens & { user: User }>('POST', '/api/v1/auth/token', {
        body: grant,
        auth: false,
      })
      .catch((error: unknown) => {
        if (error instanceof ServerProblem && error.status === 401) throw new InvalidCredentials();
        if (error instanceof LoginRequired) throw new InvalidCredentials();
        throw error;
      });
    const row: SessionRow = {
      username: answer.body.user.username,
      user: answer.body.user,
      accessToken: answer.body.accessToken,
      refreshToken: answer.body.refreshToken,
      verifier: await makeVerifier(secret),
      lastLoginAt: now().toISOString(),
    };
    await sessions.sessions.put(row);
    const person = await open(row, passwordRelease(secret, 'server'));
    await configuration();
    status.update({ phase: 'idle', lastError: null });
    schedule(0);
    return person;
  }

  async function unlock(username: string, password: string): Promise<User> {
    const row = await sessions.sessions.get(username);
    if (!row || !(await checkVerifier(password, row.verifier))) throw new InvalidCredentials();
    const person = await open(row, passwordRelease(password, 'verifier'));
    schedule(0);
    return person;
  }

  /**
   * The session of whoever was last active in this browser, if it has not locked since: reopened
   * when the server still takes its tokens (refreshed as needed), else left for login or unlock.
   */
  async function resume(): Promise<User | null> {
    if (signed) return signed.user;
    const rows = await sessions.sessions.toArray();
    const row = rows
      .filter((r) => r.activeAt !== undefined)
      .sort((a, b) => ((a.activeAt ?? '') < (b.activeAt ?? '') ? 1 : -1))[0];
    if (!row?.activeAt) return null;
    const idle = now().getTime() - Date.parse(row.activeAt);
    if (lockAfterMs > 0 && idle > lockAfterMs) {
      await markActive(row.username, undefined);
      return null;
    }
    const kept = row.resume;
    if (!kept) return null;
    const key = await resumeKey(kept);
    if (!key) return null;
    const person = await open(row, async () => ({ key, created: false }));
    try {
      await transport.request('GET', '/api/v1/me');
    } catch (error) {
      // Offline: the person unlocks, and a reload once online resumes. The session is over:
      // they log in again.
      lock(!(error instanceof Unreachable));
      return null;
    }
    schedule(0);
    return person;
  }

  function lock(forget = true): void {
    if (signed && forget) void markActive(signed.session.username, undefined);
    stopBackground();
    signed?.tokens.close();
    signed?.db.close();
    signed = null;
    registry = null;
    user.set(null);
    fileStatus.set({});
  }

  async function logout(): Promise<void> {
    const username = signed?.session.username;
    lock();
    if (username) await sessions.sessions.delete(username);
  }

  async function syncNow(): Promise<SyncReport> {
    const { engine, db } = need();
    status.update({ phase: 'syncing' });
    try {
      const report = await engine.run();
      await refreshCounts();
      // The network may have gone while the answer was being stored (the browser's `offline`
      // event came during the sync): the browser's word now wins over the finished sync's.
      status.update({ phase: 'idle', online: browserOnline(), lastError: null });
      if (options.backgroundSync !== false) void prefetch().catch(() => undefined);
      void keepCredentials().catch(() => undefined);
      // The names on what came in: kept fresh while online, for offline use.
      await directory(db, transport, now).catch(() => undefined);
      return report;
    } catch (error) {
      await refreshCounts();
      if (error instanceof LoginRequired)
        status.update({ phase: 'login-required', lastError: error.message });
      else if (error instanceof Unreachable)
        status.update({ phase: 'offline', lastError: error.message });
      else status.update({ phase: 'error', lastError: (error as Error).message });
      throw error;
    }
  }

  /** Background sync with exponential backoff and jitter; gives up when offline or logged out. */
  function schedule(delayMs: number): void {
    if (options.backgroundSync === false) return;
    if (scheduled) clearTimeout(scheduled);
    scheduled = setTimeout(() => {
      scheduled = null;
      if (!signed || !status.get().online) return;
      void pRetry(() => syncNow(), {
        retries: 6,
        minTimeout: 2_000,
        maxTimeout: 120_000,
        randomize: true,
        shouldRetry: ({ error }) =>
          error instanceof Unreachable && signed !== null && status.get().online,
      }).catch(() => undefined);
    }, delayMs);
  }

  const onOnline = () => {
    status.update({ online: true });
    schedule(0);
  };
  const onOffline = () => status.update({ online: false, phase: 'offline' });

  function startBackground(): void {
    stopBackground();
    if (options.backgroundSync === false) return;
    timer = setInterval(() => schedule(0), options.syncIntervalMs ?? 60_000);
    if (typeof window === 'object') {
      window.addEventListener('online', onOnline);
      window.addEventListener('offline', onOffline);
    }
  }

  function stopBackground(): void {
    if (timer) clearInterval(timer);
    if (scheduled) clearTimeout(scheduled);
    if (lockTimer) clearTimeout(lockTimer);
    timer = scheduled = lockTimer = null;
    if (typeof window === 'object') {
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
    }
  }

  /** Downloads the files of the records on the device, one run at a time across tabs. */
  function prefetch(): Promise<{ downloaded: number; bytes: number }> {
    const { files, user: person } = need();
    return withLock(storage, `registra-files-${person.id}`, () => files.prefetch());
  }

  async function submit(input: NewAction): Promise<Action> {
    const { db } = need();
    const view = await viewer();
    const local = await localFold(db, input.recordId, view);
    const action = withoutUndefined({
      ...input,
      id: input.id ?? uuidv7(),
      occurredAt: input.occurredAt ?? now().toISOString(),
      ...(input.type === 'CREATE' ? {} : { baseSeq: highestSeq(local.entries) }),
    }) as Action;
    const parsed = ActionSchema.safeParse(action);
    if (!parsed.success) {
      throw new ActionRefused(
        'INVALID_INPUT',
        'the action is malformed',
        toFieldErrors(parsed.error),
      );
    }
    // The same decision the server will take (core's decideAction), on what the device holds.
    const recordType = view.config.recordTypes.get(
      local.fold?.record.type ?? action.recordType ?? '',
    );
    const referenced = recordType
      ? referencesIn(recordType, action.declaration ?? {}).map((r) => r.id)
      : [];
    const decision = decideAction(
      local.fold,
      action,
      deviceContext(
        view,
        await localHeads(db, referenced, view),
        await need().files.held(namedFiles(action)),
      ),
    );
    if (decision.outcome === 'rejected') {
      throw new ActionRefused(decision.code, decision.message, decision.errors);
    }
    let stored: Action | null = null;
    const sealed = await view.vault.sealBody(action);
    await db.transaction('rw', [db.outbox, db.meta], async () => {
      const deviceSeq = ((await db.getMeta<number>('nextDeviceSeq')) ?? 1) as number;
      stored = { ...action, deviceSeq };
      await db.outbox.add({
        deviceSeq,
        action: { ...sealed, deviceSeq },
        savedAt: now().toISOString(),
      });
      await db.setMeta('nextDeviceSeq', deviceSeq + 1);
    });
    await refreshCounts();
    schedule(300);
    return stored as unknown as Action;
  }

  async function fetchRecord(recordId: string): Promise<LocalRecord | null> {
    const { db } = need();
    const view = await viewer();
    // The log comes in pages bounded by bytes (PROTOCOL 7): follow them to the end.
    const entries: Entry[] = [];
    for (let after = 0; ;) {
      const answer = await transport
        .request<{ entries: Entry[]; hasMoreEntries?: boolean }>(
          'GET',
          `/api/v1/records/${recordId}?entriesAfter=${after}`,
        )
        .catch((error: unknown) => {
          if (error instanceof ServerProblem && error.status === 404) return null;
          throw error;
        });
      if (!answer) return localRecord(db, recordId, view);
      entries.push(...answer.body.entries);
      const last = answer.body.entries[answer.body.entries.length - 1];
      if (!answer.body.hasMoreEntries || !last) break;
      after = last.seq;
    }
    // Sealed before the transaction: WebCrypto's promises would end it.
    const state = serverState(entries, view);
    const sealedState = state ? await view.vault.sealState(state) : null;
    const sealedEntries = await view.vault.openAll(entries, (entry) => view.vault.sealBody(entry));
    await db.transaction('rw', [db.entries, db.records], async () => {
      await db.entries.bulkPut(sealedEntries);
      if (sealedState) await db.records.put(sealedState);
    });
    return localRecord(db, recordId, view);
  }

  /**
   * The record's credential, kept on the device (user database) with the record's seq it was
   * fetched at, for printing offline.
   */
  async function credentialFor(recordId: string): Promise<string | null> {
    const { db } = need();
    const key = `credential:${recordId}`;
    try {
      const answer = await transport.request<{ credential: string }>(
        'GET',
        `/api/v1/records/${encodeURIComponent(recordId)}/credential`,
      );
      const seq = (await db.records.get(recordId))?.seq ?? 0;
      await db.setMeta(key, { credential: answer.body.credential, seq });
      return answer.body.credential;
    } catch (error) {
      if (error instanceof Unreachable || error instanceof LoginRequired)
        return (await db.getMeta<KeptCredential>(key))?.credential ?? null;
      // Not printable (revoked, not registered on the server yet): no credential to carry.
      if (error instanceof ServerProblem && [404, 409].includes(error.status)) {
        await db.meta.delete(key);
        return null;
      }
      throw error;
    }
  }

  /**
   * After a sync: the credentials of the printable records assigned to this person (the records
   * they took offline), fetched when missing or older than the record, so that a certificate
   * printed offline carries its QR code. At most 50 a sync; stops at the first refusal.
   */
  async function keepCredentials(): Promise<void> {
    const { db, user: me } = need();
    const config = await cachedConfiguration();
    const mine = await db.records.where('assignedTo').equals(me.id).toArray();
    let fetched = 0;
    for (const record of mine) {
      if (fetched >= 50) return;
      const certificate = config.document.certificates.find((c) => c.recordType === record.type);
      if (!certificate?.printableIn.includes(record.status)) continue;
      const kept = await db.getMeta<KeptCredential>(`credential:${record.id}`);
      if (kept && kept.seq >= record.seq) continue;
      fetched += 1;
      await credentialFor(record.id);
    }
  }

  async function search(
    text: string,
    opts: { type?: string; limit?: number } = {},
  ): Promise<SearchResults> {
    const { db } = need();
    const view = await viewer();
    const limit = opts.limit ?? 100;
    const local = await queryRecords(
      db,
      { text, limit, ...(opts.type ? { type: opts.type } : {}) },
      view,
    );
    const query = text.trim().slice(0, 100);
    let remote: RecordState[] = [];
    let online = false;
    if (query) {
      const params = new URLSearchParams({ q: query, limit: String(Math.min(limit, 200)) });
      if (opts.type) params.set('type', opts.type);
      try {
        const answer = await transport.request<{ results: RecordState[] }>(
          'GET',
          `/api/v1/records?${params.toString()}`,
        );
        remote = answer.body.results;
        online = true;
      } catch (error) {
        if (!(error instanceof Unreachable || error instanceof ServerProblem)) throw error;
      }
    }
    // The device's state of a record wins: it has this person's pending actions folded in.
    const byId = new Map(remote.map((r) => [r.id, r]));
    for (const r of local) byId.set(r.id, r);
    const ranked = [...remote.map((r) => r.id), ...local.map((r) => r.id)];
    const results = [...new Set(ranked)].map((id) => byId.get(id) as RecordState).slice(0, limit);
    return { results, online };
  }
  const hooks: RegistraClient['hooks'] = {
    deliveries: async (query = {}) => {
      const search = new URLSearchParams(
        Object.entries(query).map(([key, value]) => [key, String(value)]),
      );
      const answer = await transport.request<{ results: Delivery[]; next: string | null }>(
        'GET',
        `/api/v1/hooks/deliveries?${search}`,
      );
      return answer.body;
    },
    retry: async (deliveryId) => {
      await transport.request('POST', `/api/v1/hooks/deliveries/${deliveryId}/retry`);
    },
  };

  const adapters: RegistraClient['adapters'] = {
    list: async () => {
      const answer = await transport.request<{ results: AdapterStatus[] }>(
        'GET',
        '/api/v1/adapters',
      );
      return answer.body;
    },
    run: async (adapterId) => {
      await transport.request('POST', `/api/v1/adapters/${encodeURIComponent(adapterId)}/run`);
    },
  };

  return {
    hooks,
    adapters,
    login,
    signOn,
    signOnProvider,
    resume,
    unlock,
    lock: () => lock(),
    logout,
    user,
    knownUsers: async () => (await sessions.sessions.toArray()).map((row) => row.username),
    config: async () => (await configuration()).document,
    records: {
      query: async (query = {}) => queryRecords(need().db, query, await viewer()),
      get: async (recordId) => localRecord(need().db, recordId, await viewer()),
      fetch: fetchRecord,
      search,
      referencing: async (recordId) => {
        const { db } = need();
        const view = await viewer();
        const all = await queryRecords(db, { limit: Number.MAX_SAFE_INTEGER }, view);
        return referencing(all, recordId, view);
      },
    },
    queues: {
      counts: async () => queueCounts(need().db, transport, await viewer()),
      page: async (id, query = {}) => queuePage(need().db, transport, await viewer(), id, query),
    },
    directory: async (opts = {}) => directory(need().db, transport, now, opts.refresh),
    actions: {
      submit,
      pending: async () => {
        const { db, vault } = need();
        const items = await db.outbox.orderBy('deviceSeq').toArray();
        return (await vault.openAll(items, (item) => vault.openOutbox(item))).map(
          ({ action, savedAt }) => ({ action, savedAt }),
        );
      },
    },
    attention: {
      list: async () => {
        const { db, vault } = need();
        return vault.openAll(await db.attention.toArray(), (item) => vault.openAttention(item));
      },
      dismiss: async (actionId) => {
        await need().db.attention.delete(actionId);
        await refreshCounts();
      },
    },
    files: {
      add: (file, details) => need().files.add(file, details),
      read: (sha256) => need().files.read(sha256),
      status: fileStatus,
      // Under the sync's lock: one upload of a file at a time, across tabs too.
      upload: () => {
        const { files, db, user: person } = need();
        return withLock(storage, `registra-sync-${person.id}`, async () =>
          files.upload(await db.outbox.orderBy('deviceSeq').toArray()),
        );
      },
      prefetch,
    },
    drafts: {
      save: async (draft) => {
        const { db, vault } = need();
        const row: Draft = { ...draft, id: draft.id ?? uuidv7(), updatedAt: now().toISOString() };
        await db.drafts.put(await vault.sealDraft(row));
        return row;
      },
      list: async () => {
        const { db, vault } = need();
        const rows = await db.drafts.orderBy('updatedAt').reverse().toArray();
        return vault.openAll(rows, (row) => vault.openDraft(row));
      },
      get: async (id) => {
        const { db, vault } = need();
        const row = await db.drafts.get(id);
        return row && vault.openDraft(row);
      },
      delete: async (id) => {
        await need().db.drafts.delete(id);
      },
    },
    certificates: {
      pdf: (recordId, templateId, language) => {
        need();
        return transport.blob(
          `/api/v1/records/${encodeURIComponent(recordId)}/certificates/${encodeURIComponent(templateId)}?lang=${encodeURIComponent(language)}`,
        );
      },
    },
    credentials: {
      forRecord: credentialFor,
      refresh: () => offlineVerifier.refresh(),
      verify: (credential) => offlineVerifier.verify(credential),
    },
    sync: { now: syncNow, status },
    consents: consentPortal(transport),
    close: () => {
      lock();
      sessions.close();
      offlineVerifier.close();
    },
  };
}

/**
 * Seals what a device kept in the clear before it had a data key (an earlier version of the app):
 * read, sealed outside any transaction, and written back. Sealing a sealed value changes nothing.
 */
async function sealKept(db: UserDatabase, vault: Vault): Promise<void> {
  const [records, entries, outbox, drafts, attention] = await Promise.all([
    db.records.toArray(),
    db.entries.toArray(),
    db.outbox.toArray(),
    db.drafts.toArray(),
    db.attention.toArray(),
  ]);
  const sealed = {
    records: await vault.openAll(records, (state) => vault.sealState(state)),
    entries: await vault.openAll(entries, (entry) => vault.sealBody(entry)),
    outbox: await vault.openAll(outbox, (item) => vault.sealOutbox(item)),
    drafts: await vault.openAll(drafts, (draft) => vault.sealDraft(draft)),
    attention: await vault.openAll(attention, async (item) => ({
      ...item,
      action: await vault.sealBody(item.action),
    })),
  };
  await db.transaction(
    'rw',
    [db.records, db.entries, db.outbox, db.drafts, db.attention],
    async () => {
      await db.records.bulkPut(sealed.records);
      await db.entries.bulkPut(sealed.entries);
      await db.outbox.bulkPut(sealed.outbox);
      await db.drafts.bulkPut(sealed.drafts);
      await db.attention.bulkPut(sealed.attention);
    },
  );
}

function highestSeq(entries: readonly Entry[]): number {
  return entries.reduce((max, e) => Math.max(max, e.seq), 0);
}

/** The in-process lock scope of instances on the platform's own IndexedDB. */
const sharedStorage = {};

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Whether the browser says it has a network; outside a browser (Node), assumed. */
function browserOnline(): boolean {
  return typeof navigator === 'object' && 'onLine' in navigator ? navigator.onLine : true;
}
