import {
  DeleteObjectsCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { s3ClientConfig, type S3Settings } from '../services/files/s3-storage.js';
import { baseDir, walDir } from './archive.js';
import { BaseBackupInfoSchema, INFO, type BaseBackupInfo } from './base-backup.js';
import { ownForPostgres } from './restore.js';
import { isWalBefore, isWalFrom } from './retention.js';
import { readdirSafe, removeLocalWal, type BackupTarget } from './target.js';

/** Where backups go in the bucket, and how to reach it. */
export interface BackupS3Settings extends S3Settings {
  /** Keys start with this (e.g. `registra/`); empty: the bucket's root. */
  prefix: string;
}

/** What the archiver leaves in `<dir>/wal/` once whole (a `.part` is still being written). */
const ARCHIVED = /^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

/**
 * Backups in an S3-compatible bucket (@aws-sdk/client-s3, multipart uploads by lib-storage):
 *
 * ```
 * <prefix>wal/<segment>            archived WAL, uploaded from <dir>/wal/ then removed there
 * <prefix>base/<label>.tar         a base backup's data directory, as a tar stream
 * <prefix>base/<label>.json        what registra-backup.json says: written last, so a base
 *                                  backup is listed only once its tar and WAL are whole
 * ```
 */
export class S3Target implements BackupTarget {
  readonly description: string;
  readonly remote = true;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(
    readonly dir: string,
    settings: BackupS3Settings,
  ) {
    this.#client = new S3Client(s3ClientConfig(settings));
    this.#bucket = settings.bucket;
    this.#prefix = settings.prefix;
    this.description =
      `S3 bucket ${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ''}` +
      (settings.endpoint ? ` at ${settings.endpoint}` : '');
  }

  #url = (key: string) => `s3://${this.#bucket}/${key}`;

  async #keys(under: string): Promise<string[]> {
    const keys: string[] = [];
    const pages = paginateListObjectsV2(
      { client: this.#client },
      { Bucket: this.#bucket, Prefix: this.#prefix + under },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    }
    return keys;
  }

  async #get(key: string): Promise<Readable> {
    const answer = await this.#client.send(
      new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
    );
    return answer.Body as Readable;
  }

  async list(): Promise<BaseBackupInfo[]> {
    const found: BaseBackupInfo[] = [];
    for (const key of await this.#keys('base/')) {
      if (!key.endsWith('.json')) continue;
      const body = await this.#get(key);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const parsed = BaseBackupInfoSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString()));
      if (parsed.success)
        found.push({ ...parsed.data, path: this.#url(key.replace(/\.json$/, '.tar')) });
    }
    return found.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  async store(backup: BaseBackupInfo): Promise<BaseBackupInfo> {
    // The WAL up to the backup's end is archived (pg_backup_stop waited for it): upload it first.
    await this.shipWal();
    const key = `${this.#prefix}base/${backup.label}.tar`;
    const tar = spawn('tar', ['-C', backup.path, '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = exitOf(tar, 'tar -c');
    try {
      await new Upload({
        client: this.#client,
        params: { Bucket: this.#bucket, Key: key, Body: tar.stdout },
        queueSize: 4,
        partSize: 16 * 1024 * 1024,
      }).done();
      // A tar that failed midway uploaded a truncated file: it is never listed (no .json).
      await exited;
    } catch (error) {
      tar.kill();
      await exited.catch(() => undefined);
      throw error;
    }
    const { path: _local, ...info } = backup;
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${this.#prefix}base/${backup.label}.json`,
        Body: JSON.stringify(info, null, 2),
        ContentType: 'application/json',
      }),
    );
    rmSync(backup.path, { recursive: true, force: true });
    return { ...info, path: this.#url(key) };
  }

  async shipWal(): Promise<number> {
    const wal = walDir(this.dir);
    const names = readdirSafe(wal).filter((name) => ARCHIVED.test(name));
    const limit = pLimit(4);
    const shipped = await Promise.all(
      names.map((name) =>
        limit(async () => {
          const file = path.join(wal, name);
          if (!existsSync(file)) return 0; // shipped meanwhile by another process
          await this.#client.send(
            new PutObjectCommand({
              Bucket: this.#bucket,
              Key: `${this.#prefix}wal/${name}`,
              Body: createReadStream(file),
              ContentLength: statSync(file).size,
            }),
          );
          rmSync(file, { force: true });
          return 1;
        }),
      ),
    );
    return shipped.reduce<number>((sum, n) => sum + n, 0);
  }

  async open(to: Date | undefined, scratch: string) {
    const backups = await this.list();
    const base = (to ? backups.filter((b) => new Date(b.finishedAt) <= to) : backups).at(-1);
    if (!base) {
      throw new Error(
        to
          ? `no base backup in ${this.description} ended before ${to.toISOString()}`
          : `no base backup in ${this.description}`,
      );
    }
    // Reachable by `postgres`, which runs PostgreSQL (and its restore_command) when we are root.
    mkdirSync(baseDir(scratch), { recursive: true, mode: 0o755 });
    chmodSync(scratch, 0o755);
    const target = path.join(baseDir(scratch), base.label);
    mkdirSync(target, { mode: 0o700 });
    const tar = spawn('tar', ['-C', target, '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = exitOf(tar, 'tar -x');
    await pipeline(await this.#get(base.path.slice(`s3://${this.#bucket}/`.length)), tar.stdin);
    await exited;
    const { path: _remote, ...info } = base;
    await writeFile(path.join(target, INFO), JSON.stringify(info, null, 2));

    // The WAL from the backup's start on: the bucket's, then what the spool has not shipped yet.
    const wal = walDir(scratch);
    mkdirSync(wal, { recursive: true });
    const needed = (name: string) => !base.startWal || isWalFrom(name, base.startWal);
    const limit = pLimit(4);
    await Promise.all(
      (await this.#keys('wal/'))
        .map((key) => ({ key, name: path.posix.basename(key) }))
        .filter(({ name }) => needed(name))
        .map(({ key, name }) =>
          limit(async () => {
            await pipeline(await this.#get(key), createWriteStream(path.join(wal, name)));
          }),
        ),
    );
    const spool = walDir(this.dir);
    for (const name of readdirSafe(spool)) {
      if (ARCHIVED.test(name) && needed(name) && !existsSync(path.join(wal, name))) {
        copyFileSync(path.join(spool, name), path.join(wal, name));
      }
    }
    ownForPostgres(wal);
    return { dir: scratch, downloaded: true };
  }

  async remove(backups: BaseBackupInfo[], walBefore: string | null) {
    const tars = backups.map((backup) => backup.path.slice(`s3://${this.#bucket}/`.length));
    // The listings first: a backup half removed is never offered for a restore.
    await this.#delete(tars.map((tar) => tar.replace(/\.tar$/, '.json')));
    const keys = [...tars];
    let segments = 0;
    if (walBefore) {
      for (const key of await this.#keys('wal/')) {
        if (!isWalBefore(path.posix.basename(key), walBefore)) continue;
        keys.push(key);
        segments += 1;
      }
      segments += removeLocalWal(this.dir, walBefore);
    }
    await this.#delete(keys);
    return { segments };
  }

  async #delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  close(): void {
    this.#client.destroy();
  }
}

/** Resolves when a child process exits 0; rejects with its stderr otherwise. */
function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} ended with ${code}: ${stderr.trim()}`)),
    );
  });
}
