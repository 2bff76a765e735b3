import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { S3Store } from '@tus/s3-store';
import type { Readable } from 'node:stream';
import type { ByteRange, FileStorage } from './storage.js';

export interface S3Settings {
  bucket: string;
  /** An S3-compatible server's URL; unset, AWS's own for the region. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Bucket in the path rather than the host name (most S3-compatible servers need it). */
  forcePathStyle: boolean;
}

const FILES = 'files/';

/** The AWS SDK's client settings for a bucket (credentials unset: the SDK's own chain). */
export function s3ClientConfig(settings: S3Settings): S3ClientConfig {
  return {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? {
          credentials: {
            accessKeyId: settings.accessKeyId,
            secretAccessKey: settings.secretAccessKey,
          },
        }
      : {}),
  };
}

/**
 * Files in an S3-compatible bucket through @aws-sdk/client-s3: tus uploads in progress as
 * @tus/s3-store keeps them (multipart uploads, `<id>.info`, `<id>.part`), accepted files under
 * `files/<sha256>`. An upload is adopted by a copy inside the bucket, so its bytes cross the
 * network to the bucket once.
 */
export class S3FileStorage implements FileStorage {
  readonly uploads: S3Store;
  readonly description: string;
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(settings: S3Settings, expirationMs: number) {
    const config = s3ClientConfig(settings);
    this.#client = new S3Client(config);
    this.#bucket = settings.bucket;
    this.uploads = new S3Store({
      s3ClientConfig: { ...config, bucket: settings.bucket },
      expirationPeriodInMilliseconds: expirationMs,
      // Tags only serve bucket lifecycle rules; the cleanup deletes expired uploads itself.
      useTags: false,
    });
    this.description = `S3 bucket ${settings.bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`;
  }

  #key(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return FILES + sha256;
  }

  async readUpload(uploadId: string): Promise<Readable> {
    return this.#get(uploadId);
  }

  async adopt(uploadId: string, sha256: string): Promise<void> {
    if (await this.has(sha256)) return;
    await this.#client.send(
      new CopyObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(sha256),
        CopySource: `${this.#bucket}/${encodeURIComponent(uploadId)}`,
      }),
    );
  }

  async discardUpload(uploadId: string): Promise<void> {
    // S3Store.remove gives up on a completed upload (its multipart upload is gone): delete the
    // objects directly, and abort the multipart upload of an unfinished one.
    const listed = await this.#client.send(
      new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: uploadId }),
    );
    for (const upload of listed.Uploads ?? []) {
      if (upload.Key !== uploadId) continue;
      await this.#client
        .send(
          new AbortMultipartUploadCommand({
            Bucket: this.#bucket,
            Key: uploadId,
            UploadId: upload.UploadId,
          }),
        )
        .catch(() => undefined);
    }
    await this.#client.send(
      new DeleteObjectsCommand({
        Bucket: this.#bucket,
        Delete: {
          Objects: [{ Key: uploadId }, { Key: `${uploadId}.info` }, { Key: `${uploadId}.part` }],
          Quiet: true,
        },
      }),
    );
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(sha256) }),
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  read(sha256: string, range?: ByteRange): Promise<Readable> {
    return this.#get(this.#key(sha256), range);
  }

  async delete(sha256: string): Promise<void> {
    await this.#client.send(
      new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(sha256) }),
    );
  }

  deleteExpiredUploads(): Promise<number> {
    return this.uploads.deleteExpired();
  }

  async #get(key: string, range?: ByteRange): Promise<Readable> {
    const answer = await this.#client.send(
      new GetObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    return answer.Body as Readable;
  }
}

export function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = 'name' in error ? String(error.name) : '';
  const status =
    '$metadata' in error
      ? (error.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode
      : undefined;
  return name === 'NotFound' || name === 'NoSuchKey' || status === 404;
}
