import type { ConsentPortal } from './consents.js';
import type { OfflineVerification } from './credentials.js';
import type {
  Action,
  ActionType,
  AdapterStatus,
  Configuration,
  Entry,
  FieldError,
  FileValue,
  RecordState,
  RejectionCode,
  Translations,
} from '@registra/core';

export type { AdapterStatus } from '@registra/core';

/** Options of `createClient`. Everything but `baseUrl` has a browser default. */
export interface ClientOptions {
  /** The server, e.g. `https://registry.example.org` or '' for the page's own origin. */
  baseUrl: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Defaults to the global `indexedDB` (pass fake-indexeddb's in Node tests). */
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  /** Largest sync request body before compression; halved after each failed attempt. */
  maxBatchBytes?: number;
  /** Sync by itself: after login, after each action, on regaining the network and periodically.
   * Default true; with false, only `sync.now()` syncs. */
  backgroundSync?: boolean;
  /** Milliseconds between background syncs while online. Default 60 000. */
  syncIntervalMs?: number;
  /** Lock the session after this many milliseconds without activity. Default 15 minutes. */
  lockAfterMs?: number;
  /** Bytes of files the device keeps downloaded for offline reading. Default 200 MiB. */
  fileBudgetBytes?: number;
  /**
   * Bytes per upload request (tus PATCH). Each must reach the server within its 30-second
   * request timeout on the slowest link in use. Default 256 KiB (about 10 s on EDGE).
   */
  uploadChunkBytes?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

/** Where a file stands on this device (PROTOCOL 9). */
export interface FileStatus {
  sha256: string;
  name: string;
  type: string;
  size: number;
  /**
   * `local`: chosen here, on this device only; `uploading`: `uploaded` of `size` bytes on the
   * server; `uploaded`: on the server; `refused`: the server refused it (`error` says why);
   * `downloaded`: fetched from the server for offline reading.
   */
  state: 'local' | 'uploading' | 'uploaded' | 'refused' | 'downloaded';
  uploaded: number;
  /** Whether the bytes are on this device (readable offline). */
  held: boolean;
  error: string | null;
}

/** The person using the device, as the server described them at login. */
export interface User {
  id: string;
  username: string;
  name: string;
  role: string;
  scopes: string[];
  officeId: string;
}

/** An action waiting in the outbox, not yet acknowledged by the server. */
export interface PendingAction {
  action: Action;
  /** When the person saved it on this device. */
  savedAt: string;
}

/** An action the server rejected: kept with what was typed, until the person deals with it. */
export interface AttentionItem {
  action: Action;
  code: RejectionCode | string;
  message: string;
  errors: FieldError[];
  rejectedAt: string;
}

/** A form in progress that is not an action yet. */
export interface Draft {
  id: string;
  recordType: string;
  /** Set when the draft edits an existing record. */
  recordId?: string;
  /** The action the draft will become (DECLARE, NOTIFY, UPDATE, CORRECT...). */
  actionType: ActionType;
  declaration: Record<string, unknown>;
  /** The form page the person was on (0 = the first; one past the last = the review). */
  step?: number;
  /** What the action will carry besides the declaration (a correction's reason). */
  annotation?: Record<string, string>;
  updatedAt: string;
}

/** Someone the person may see by name (GET /api/v1/users/directory). */
export interface Person {
  id: string;
  name: string;
  role: string;
  roleLabel: string;
  officeId: string;
  officeName: string;
  active: boolean;
}

/** A work queue's size; `more`: it holds more than `count` (the server stops counting). */
export interface QueueCount {
  id: string;
  count: number;
  more: boolean;
}

export interface QueuePageQuery {
  limit?: number;
  /** The `next` of the previous page. */
  after?: string;
  sort?: '-updatedAt' | 'updatedAt';
  /** Only records of this type. */
  type?: string;
}

/** One page of a queue, and where it came from: the server online, the device offline. */
export interface QueuePage {
  results: RecordState[];
  next: string | null;
  source: 'server' | 'device';
}

/** Search results: the server's fuzzy name search online, merged with the device's own. */
export interface SearchResults {
  results: RecordState[];
  /** Whether the server was asked (false offline: only the device's records were searched). */
  online: boolean;
}

/** A record as the device shows it: the fold of the server's entries and the pending actions. */
export interface LocalRecord {
  record: RecordState;
  /** The server's entries, in seq order. */
  entries: Entry[];
  /** This device's actions not yet acknowledged, in the order they will be sent. */
  pending: PendingAction[];
  /** Rejected actions of this record waiting for the person. */
  attention: AttentionItem[];
}

export interface RecordQuery {
  type?: string;
  status?: RecordState['status'];
  flag?: string;
  /** Records assigned to the signed-in user. */
  assignedToMe?: boolean;
  /** Only records with pending actions. */
  pending?: boolean;
  /** Name, tracking id or registration number; names match loosely. */
  text?: string;
  limit?: number;
}

export type SyncPhase = 'idle' | 'syncing' | 'offline' | 'error' | 'login-required';

export interface SyncStatus {
  phase: SyncPhase;
  online: boolean;
  /** Actions in the outbox. */
  pending: number;
  /** Records with actions in the outbox: what "Waiting to send" lists. */
  pendingRecords: number;
  /** Rejected actions waiting for the person. */
  needsAttention: number;
  lastSyncedAt: string | null;
  lastError: string | null;
}

/** A value that changes: read it now, or be told when it does (React: useSyncExternalStore). */
export interface Observable<T> {
  get(): T;
  subscribe(listener: (value: T) => void): () => void;
}

export interface SyncReport {
  sent: number;
  accepted: number;
  requested: number;
  rejected: number;
  received: number;
  requests: number;
}

/** What a person submits; the client fills in id, deviceSeq, occurredAt and baseSeq. */
export type NewAction = Omit<Action, 'id' | 'deviceSeq' | 'occurredAt' | 'baseSeq'> & {
  id?: string;
  occurredAt?: string;
};

export interface RegistraClient {
  /** Logs in online; keeps a verifier so the same person can unlock offline later. */
  login(username: string, password: string): Promise<User>;
  /**
   * Reopens the session of the person who was working in this browser (a reload, a tab the
   * phone killed), without the password, when the server still takes its tokens. Offline, or
   * once the session has locked or ended, it answers null: log in or unlock.
   */
  resume(): Promise<User | null>;
  /**
   * Finishes a single sign-on (an OpenID Connect provider, through the server): exchanges the
   * one-time code the server handed the app for Registra's tokens, and keeps a verifier of
   * `passphrase`, which the person chose on this device, so that they can unlock offline with it
   * as with a password. The server knows nothing of the passphrase.
   */
  signOn(code: string, passphrase: string): Promise<User>;
  /**
   * The OpenID Connect provider staff may sign on with, if the server offers one (online only):
   * its name, and the address to send the browser to (`start`, on the server).
   */
  signOnProvider(): Promise<{ name: string; start: string } | null>;
  /**
   * Unlocks offline with the password of the last login on this device (after a single sign-on:
   * the passphrase chosen then).
   */
  unlock(username: string, password: string): Promise<User>;
  /** Locks the device (data stays); `logout` also forgets the session's tokens. */
  lock(): void;
  logout(): Promise<void>;
  /** The signed-in user, or null while locked or logged out. */
  readonly user: Observable<User | null>;
  /** Usernames that have logged in on this device and can unlock offline. */
  knownUsers(): Promise<string[]>;

  /** The configuration, fetched online (ETag) and kept for offline use. */
  config(): Promise<Configuration>;

  records: {
    query(query?: RecordQuery): Promise<RecordState[]>;
    get(recordId: string): Promise<LocalRecord | null>;
    /** Downloads a record's whole log from the server (e.g. after assigning it to yourself). */
    fetch(recordId: string): Promise<LocalRecord | null>;
    /**
     * Name, partial tracking id, registration number or ID number: the server's fuzzy search
     * online, merged with the device's own records (which always answer, offline too).
     */
    search(text: string, options?: { type?: string; limit?: number }): Promise<SearchResults>;
    /** The records on the device whose reference fields name this one (a household's members). */
    referencing(recordId: string): Promise<{ record: RecordState; field: string }[]>;
  };

  /** Work queues of the person's role, from the configuration. */
  queues: {
    counts(): Promise<{ queues: QueueCount[]; source: 'server' | 'device' }>;
    page(id: string, query?: QueuePageQuery): Promise<QueuePage>;
  };

  /** The people the person may see by name, cached for offline use. */
  directory(options?: { refresh?: boolean }): Promise<Person[]>;

  actions: {
    /**
     * Validates against the configuration and the record's current local state, then stores the
     * action in the outbox (committed in IndexedDB before this resolves) and schedules a sync.
     * Throws `ActionRefused` with the reason and field errors when it is not valid now.
     */
    submit(action: NewAction): Promise<Action>;
    pending(): Promise<PendingAction[]>;
  };

  attention: {
    list(): Promise<AttentionItem[]>;
    /** The person has seen it and decided: removes it from the list (the server log keeps it). */
    dismiss(actionId: string): Promise<void>;
  };

  files: {
    /**
     * Keeps a chosen file on the device (committed in IndexedDB before this resolves) and answers
     * the value a file field holds. It is uploaded in the background; the actions naming it are
     * pushed once it is on the server. `recordType` and `field` let the server apply that field's
     * rule (`accept`, `maxBytes`) to the upload.
     */
    add(
      file: Blob,
      details?: { name?: string; type?: string; recordType?: string; field?: string },
    ): Promise<FileValue>;
    /** The bytes: from the device, else downloaded and kept; null offline when not on the device. */
    read(sha256: string): Promise<Blob | null>;
    /** Every file the device knows, by hash, and where it stands. */
    status: Observable<Record<string, FileStatus>>;
    /** Uploads what waits now (a sync does it before pushing actions). */
    upload(): Promise<void>;
    /** Downloads the files of the records on the device for offline reading, within the budget. */
    prefetch(): Promise<{ downloaded: number; bytes: number }>;
  };

  drafts: {
    save(draft: Omit<Draft, 'id' | 'updatedAt'> & { id?: string }): Promise<Draft>;
    list(): Promise<Draft[]>;
    get(id: string): Promise<Draft | undefined>;
    delete(id: string): Promise<void>;
  };

  certificates: {
    /** A certificate's PDF, made by the server with the record's credential in its QR code. */
    pdf(recordId: string, templateId: string, language: string): Promise<Blob>;
  };

  credentials: {
    /**
     * The record's credential (PROTOCOL 11): fetched while online and kept on the device, so that
     * a certificate printed offline still carries it; null when the device never had it. After
     * each sync the SDK fetches those of the printable records assigned to the person.
     */
    forRecord(recordId: string): Promise<string | null>;
    /** Brings the registry's credential keys and status lists onto the device (needs network). */
    refresh(): Promise<{ keys: number; lists: number }>;
    /** Verifies a credential offline from the cached keys and status lists; no login needed. */
    verify(credential: string): Promise<OfflineVerification>;
  };

  sync: {
    /** Syncs until the outbox is empty and the server has nothing more, or fails. */
    now(): Promise<SyncReport>;
    status: Observable<SyncStatus>;
  };

  /** Deliveries to the country's hooks (PROTOCOL 8), online, for administrators. */
  hooks: {
    deliveries(query?: DeliveryQuery): Promise<{ results: Delivery[]; next: string | null }>;
    /** Makes a pending delivery due now. */
    retry(deliveryId: string): Promise<void>;
  };

  /** Adapters in and out (issue 16), online, for administrators. */
  adapters: {
    /** Every configured adapter with its status, last run, lag and latest errors. */
    list(): Promise<{ results: AdapterStatus[] }>;
    /** Runs an adapter in now, from its checkpoint. */
    run(adapterId: string): Promise<void>;
  };

  /**
   * The consent portal (PROTOCOL 12): the calls of a citizen deciding on a consent about them,
   * open without a staff login, online only.
   */
  consents: ConsentPortal;

  /** Stops timers and listeners and closes the database. */
  close(): void;
}

export type { OfflineVerification } from './credentials.js';
export type {
  AccessEntry,
  CitizenSession,
  ConsentPortal,
  ConsentView,
  MyAccess,
} from './consents.js';
export interface DeliveryQuery {
  hook?: string;
  state?: 'pending' | 'failing' | 'done';
  recordId?: string;
  after?: string;
  limit?: number;
}

/** A delivery to a hook as GET /api/v1/hooks/deliveries shows it. */
export interface Delivery {
  id: string;
  hook: string;
  /** The hook's (or adapter's) name as people read it, and its translations. */
  hookLabel: string;
  hookTranslations: Translations | null;
  recordId: string;
  trackingId: string | null;
  recordType: string | null;
  entryId: string;
  state: 'pending' | 'failing' | 'done';
  outcome: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
}
