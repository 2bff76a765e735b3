import path from 'node:path';
import type { RegistryConfig } from '@registra/core';
import { LocalFileStorage } from './local-storage.js';
import { S3FileStorage, type S3Settings } from './s3-storage.js';
import type { FileStorage } from './storage.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The file storage: an S3-compatible bucket when one is configured, else a directory under the
 * data directory (nothing to set up). Uploads in progress expire after the grace period.
 */
export function openFileStorage(
  config: RegistryConfig,
  where: { dataDir: string; s3?: S3Settings | undefined },
): FileStorage {
  const expirationMs = config.document.files.graceDays * DAY_MS;
  if (where.s3) return new S3FileStorage(where.s3, expirationMs);
  return new LocalFileStorage(path.join(where.dataDir, 'files'), expirationMs);
}
