import {
  filesIn,
  FileValueSchema,
  type Action,
  type FileValue,
  type HeldFile,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import type { HttpStack } from 'tus-js-client';
import type { FileStatus } from '../api.js';
import type { FileRow, OutboxItem, UserDatabase } from '../db.js';
import { LoginRequired, Unreachable } from '../errors.js';
import { Store } from '../observable.js';
import type { Transport } from '../transport.js';
import { tusUpload, UploadFailed } from './tus.js';

export interface FileQueueOptions {
  db: UserDatabase;
  transport: Transport;
  baseUrl: string;
  /** tus-js-client's HTTP stack: its own (XMLHttpRequest, per-byte progress) unless given. */
  httpStack: HttpStack | undefined;
  /** Bytes per PATCH: each must arrive within the server's 30-second request timeout. */
  chunkSize: number;
  /** Bytes of files downloaded for offline reading the device may keep. */
  budgetBytes: number;
  config: () => Promise<RegistryConfig>;
  now: () => Date;
}

/**
 * The file queue beside the outbox (PROTOCOL 9): a file is kept on the device from the moment it
 * is chosen, uploaded with tus as soon as there is a network (resuming where a broken upload
 * stopped, across reloads), and the sync engine pushes a record's actions only once their files
 * are on the server. Files of the records on the device are downloaded for offline reading within
 * a budget; the least recently used downloads leave first.
 */
export class FileQueue {
  /** Every file the device knows, without bytes: what the app shows per file. */
  readonly status = new Store<Record<string, FileStatus>>({});

  constructor(private readonly options: FileQueueOptions) {}

  /** Loads the statuses of the files kept on the device. */
  async open(): Promise<void> {
    const rows = await this.options.db.files.toArray();
    this.status.set(Object.fromEntries(rows.map((row) => [row.sha256, statusOf(row)])));
  }

  /**
   * Keeps a chosen file on the device (committed before this resolves) and answers the value a
   * file field holds. Choosing the same bytes again changes nothing.
   */
  async add(
    file: Blob,
    details: { name?: string; type?: string; recordType?: string; field?: string } = {},
  ): Promise<FileValue> {
    const { db, now } = this.options;
    const data = await file.arrayBuffer();
    const sha256 = hex(await crypto.subtle.digest('SHA-256', data));
    const name =
      details.name || (typeof File === 'function' && file instanceof File ? file.name : '');
    const value: FileValue = {
      sha256,
      name: name.trim() || 'file',
      // A Blob of unknown type says '': the server's sniffing will refuse what it is not.
      type: details.type || file.type || 'application/octet-stream',
      size: data.byteLength,
    };
    const at = now().toISOString();
    await db.transaction('rw', [db.files, db.fileData], async () => {
      const known = await db.files.get(sha256);
      if (!known?.held) await db.fileData.put({ sha256, data });
      const row: FileRow = known
        ? { ...known, held: true, lastUsedAt: at }
        : {
            ...value,
            state: 'local',
            uploaded: 0,
            uploadUrl: null,
            error: null,
            addedAt: at,
            lastUsedAt: at,
            held: true,
          };
      if (details.recordType && details.field && !known) {
        row.recordType = details.recordType;
        row.field = details.field;
      }
      await db.files.put(row);
      this.#show(row);
    });
    return value;
  }

  /** What the decision may know of files on this device (core's `DecisionContext.file`). */
  async held(hashes: readonly string[]): Promise<Map<string, HeldFile | null>> {
    const rows = await this.options.db.files.bulkGet([...new Set(hashes)]);
    const known = new Map<string, HeldFile | null>();
    for (const row of rows) {
      if (row) known.set(row.sha256, row.state === 'refused' ? null : row);
    }
    return known;
  }

  /** The bytes of a file: from the device, else downloaded (and kept); null when unavailable. */
  async read(sha256: string): Promise<Blob | null> {
    const { db } = this.options;
    const row = await db.files.get(sha256);
    const stored = row?.held ? await db.fileData.get(sha256) : undefined;
    if (row && stored) {
      await db.files.update(sha256, { lastUsedAt: this.options.now().toISOString() });
      return new Blob([stored.data], { type: row.type });
    }
    try {
      return await this.#download(sha256, row);
    } catch (error) {
      if (error instanceof Unreachable || error instanceof LoginRequired) return null;
      throw error;
    }
  }

  /**
   * Uploads the files chosen on this device that are not on the server yet: those the outbox's
   * actions name first, in outbox order. Stops at the first failure of the network (Unreachable);
   * a file the server refuses is marked `refused` with its reason and the others go on.
   */
  async upload(outbox: readonly OutboxItem[]): Promise<void> {
    const { db } = this.options;
    const pending = await db.files.where('state').anyOf('local', 'uploading').toArray();
    if (pending.length === 0) return;
    const order = new Map<string, number>();
    for (const hash of outbox.flatMap((item) => namedFiles(item.action)))
      if (!order.has(hash)) order.set(hash, order.size);
    pending.sort(
      (a, b) =>
        (order.get(a.sha256) ?? Infinity) - (order.get(b.sha256) ?? Infinity) ||
        a.addedAt.localeCompare(b.addedAt),
    );
    for (const row of pending) await this.#upload(row);
  }

  /**
   * How many of the outbox's first items may be pushed: up to the first action naming a file of
   * this device that is not on the server yet (a refused file no longer holds anything back: the
   * server answers its action FILE_MISSING, and the person sees why).
   */
  async pushable(items: readonly OutboxItem[]): Promise<number> {
    const hashes = items.flatMap((item) => namedFiles(item.action));
    const rows = await this.options.db.files.bulkGet([...new Set(hashes)]);
    const waiting = new Set(
      rows.flatMap((row) =>
        row && (row.state === 'local' || row.state === 'uploading') ? [row.sha256] : [],
      ),
    );
    if (waiting.size === 0) return items.length;
    const blocked = items.findIndex((item) =>
      namedFiles(item.action).some((hash) => waiting.has(hash)),
    );
    return blocked === -1 ? items.length : blocked;
  }

  /**
   * Downloads the files of the records on the device, newest records first, until the budget is
   * used; then lets go of downloaded files beyond it, least recently used first. Files chosen on
   * this device and not yet on the server are never let go.
   */
  async prefetch(): Promise<{ downloaded: number; bytes: number }> {
    const { db, budgetBytes } = this.options;
    const config = await this.options.config();
    const records = await db.records.orderBy('updatedAt').reverse().toArray();
    const wanted = new Map<string, FileValue>();
    let bytes = 0;
    for (const record of records) {
      for (const file of filesOf(record, config)) {
        if (wanted.has(file.sha256) || bytes + file.size > budgetBytes) continue;
        wanted.set(file.sha256, file);
        bytes += file.size;
      }
    }
    let downloaded = 0;
    let downloadedBytes = 0;
    for (const [sha256] of wanted) {
      const row = await db.files.get(sha256);
      if (row?.held) continue;
      const blob = await this.#download(sha256, row);
      if (blob) {
        downloaded += 1;
        downloadedBytes += blob.size;
      }
    }
    await this.#trim(new Set(wanted.keys()));
    return { downloaded, bytes: downloadedBytes };
  }

  async #upload(row: FileRow): Promise<void> {
    const { db, transport } = this.options;
    // Already on the server (by this person, or named by a record they see): nothing to send.
    const found = await transport.raw('HEAD', `/api/v1/files/${row.sha256}`);
    if (found.status === 200)
      return this.#save(row, { state: 'uploaded', uploaded: row.size, uploadUrl: null });
    const stored = await db.fileData.get(row.sha256);
    if (!stored)
      return this.#save(row, { state: 'refused', error: 'the file is no longer on this device' });
    const file = new Blob([stored.data], { type: row.type });
    let current = row;
    for (let attempt = 0; ; attempt++) {
      try {
        await tusUpload(file, {
          endpoint: `${this.options.baseUrl}/api/v1/files/uploads`,
          uploadUrl: current.uploadUrl,
          metadata: {
            sha256: row.sha256,
            name: row.name,
            type: row.type,
            ...(row.recordType && row.field
              ? { recordType: row.recordType, field: row.field }
              : {}),
          },
          chunkSize: this.options.chunkSize,
          token: () => transport.accessToken(),
          httpStack: this.options.httpStack,
          onUrl: (uploadUrl) => {
            current = { ...current, uploadUrl };
            void db.files.update(row.sha256, { uploadUrl });
          },
          onProgress: (uploaded) => {
            current = { ...current, state: 'uploading', uploaded };
            this.#show(current);
            void db.files.update(row.sha256, { state: 'uploading', uploaded });
          },
        });
        return await this.#finished(current);
      } catch (error) {
        if (!(error instanceof UploadFailed)) throw error;
        if (error.status === 401 && attempt < 2) {
          // The access token expired mid-upload: a request through the transport refreshes it.
          await transport.raw('HEAD', `/api/v1/files/${row.sha256}`);
          continue;
        }
        if (error.final) {
          return this.#save(current, { state: 'refused', error: error.message, uploadUrl: null });
        }
        await this.#save(current, { state: current.uploaded > 0 ? 'uploading' : 'local' });
        throw new Unreachable(`the upload of ${row.name} stopped: ${error.message}`);
      }
    }
  }

  /**
   * tus says the upload is complete; the server says whether it holds the file. If it finished
   * the bytes but not the rest (it failed or stopped right then), an empty PATCH at the end makes
   * it finish again without the bytes being sent again.
   */
  async #finished(row: FileRow): Promise<void> {
    const { transport } = this.options;
    const path = `/api/v1/files/${row.sha256}`;
    if ((await transport.raw('HEAD', path)).status === 200)
      return this.#save(row, {
        state: 'uploaded',
        uploaded: row.size,
        uploadUrl: null,
        error: null,
      });
    if (row.uploadUrl) {
      const url = new URL(row.uploadUrl, this.options.baseUrl || undefined);
      await transport.raw('PATCH', url.pathname, {
        'tus-resumable': '1.0.0',
        'upload-offset': String(row.size),
        'content-type': 'application/offset+octet-stream',
      });
      if ((await transport.raw('HEAD', path)).status === 200)
        return this.#save(row, {
          state: 'uploaded',
          uploaded: row.size,
          uploadUrl: null,
          error: null,
        });
    }
    await this.#save(row, { state: 'local', uploaded: 0, uploadUrl: null });
    throw new Unreachable(`the server did not keep ${row.name}; it will be sent again`);
  }

  async #download(sha256: string, row: FileRow | undefined): Promise<Blob | null> {
    const { db, transport, now } = this.options;
    const response = await transport.raw('GET', `/api/v1/files/${sha256}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      return null;
    }
    const data = await response.arrayBuffer();
    const type = response.headers.get('content-type') ?? row?.type ?? 'application/octet-stream';
    const at = now().toISOString();
    const next: FileRow = row
      ? { ...row, held: true, lastUsedAt: at }
      : {
          sha256,
          name: sha256.slice(0, 12),
          type,
          size: data.byteLength,
          state: 'downloaded',
          uploaded: data.byteLength,
          uploadUrl: null,
          error: null,
          addedAt: at,
          lastUsedAt: at,
          held: true,
        };
    await db.transaction('rw', [db.files, db.fileData], async () => {
      await db.fileData.put({ sha256, data });
      await db.files.put(next);
    });
    this.#show(next);
    return new Blob([data], { type });
  }

  /** Lets go of the bytes of downloaded (or uploaded) files past the budget, least used first. */
  async #trim(keep: ReadonlySet<string>): Promise<void> {
    const { db, budgetBytes } = this.options;
    const rows = await db.files.orderBy('lastUsedAt').reverse().toArray();
    let bytes = 0;
    for (const row of rows) {
      if (!row.held || (row.state !== 'downloaded' && row.state !== 'uploaded')) continue;
      bytes += row.size;
      if (bytes <= budgetBytes || keep.has(row.sha256)) continue;
      await db.transaction('rw', [db.files, db.fileData], async () => {
        await db.fileData.delete(row.sha256);
        await db.files.update(row.sha256, { held: false });
      });
      this.#show({ ...row, held: false });
    }
  }

  async #save(row: FileRow, change: Partial<FileRow>): Promise<void> {
    const next = { ...row, ...change };
    await this.options.db.files.update(row.sha256, change);
    this.#show(next);
  }

  #show(row: FileRow): void {
    this.status.set({ ...this.status.get(), [row.sha256]: statusOf(row) });
  }
}

function statusOf(row: FileRow): FileStatus {
  return {
    sha256: row.sha256,
    name: row.name,
    type: row.type,
    size: row.size,
    state: row.state,
    uploaded: row.uploaded,
    held: row.held,
    error: row.error,
  };
}

/** The file values of a record's declaration. */
export function filesOf(record: RecordState, config: RegistryConfig): FileValue[] {
  const recordType = config.recordTypes.get(record.type);
  return recordType
    ? filesIn(recordType, record.declaration).map(({ path: _path, ...file }) => file)
    : [];
}

/**
 * The files an action names: its declaration's file values. Only a file field can hold one (any
 * other field refuses it), so the record's type need not be known.
 */
export function namedFiles(action: Action): string[] {
  return Object.values(action.declaration ?? {}).flatMap((value) => {
    const file = FileValueSchema.safeParse(value);
    return file.success ? [file.data.sha256] : [];
  });
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
