import { MediaTypeSchema, uploadRule, type UploadRule } from '@registra/core';
import { Server as TusServer, type Upload } from '@tus/server';
import { createHash } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import { z } from 'zod';
import { recordUpload } from '../../store/files.js';
import type { Caller, Registry } from '../context.js';
import {
  hashMismatch,
  invalidInput,
  notFound,
  payloadTooLarge,
  ProblemError,
  unsupportedMediaType,
} from '../problem.js';
import type { FileStorage } from './storage.js';

/** Where tus uploads are created (PROTOCOL 9). */
export const UPLOADS_PATH = '/api/v1/files/uploads';

/** How many bytes of a file's head the type is sniffed from. */
const SNIFF_BYTES = 64 * 1024;

const MetadataSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in lowercase hex'),
  name: z.string().trim().min(1).max(255),
  type: MediaTypeSchema,
  recordType: z.string().min(1).max(64).optional(),
  field: z.string().min(1).max(128).optional(),
  // tus-js-client and other clients add these of their own: allowed, not used.
  filename: z.string().max(255).optional(),
  filetype: z.string().max(255).optional(),
});
type UploadMetadata = z.infer<typeof MetadataSchema>;

/** The metadata key under which the server keeps who created an upload. */
const UPLOADER = 'registraUploader';

export interface UploadServerOptions {
  registry: Registry;
  storage: FileStorage;
  /** The authenticated caller of a request tus hands to a hook (set by the route). */
  callerOf(request: Request): Caller;
  /** The answer to an error a hook threw (a ProblemError, a database outage), by the route. */
  answerError(error: unknown): { status_code: number; body: string } | undefined;
}

/**
 * The tus 1.0 server of uploads (PROTOCOL 9), on @tus/server: creation checks the metadata
 * against the field's `accept` and `maxBytes` (413 for a length over the limit); each request on
 * an upload must come from the user who created it (404 to anyone else); at the end the bytes are
 * hashed and sniffed, kept once under their SHA-256, and the upload itself is discarded. Hooks
 * throw ProblemError; the route turns every error answer into problem+json.
 */
export function createUploadServer(options: UploadServerOptions): TusServer {
  const { registry, storage, callerOf, answerError } = options;
  return new TusServer({
    path: UPLOADS_PATH,
    datastore: storage.uploads,
    relativeLocation: true,
    // Terminating a finished upload means nothing: it is discarded once accepted or refused.
    disableTerminationForFinishedUploads: true,
    maxSize: () => uploadRule(registry.config)?.maxBytes ?? 0,
    onIncomingRequest: async (request, uploadId) => {
      if (request.method === 'POST') return;
      const upload = await storage.uploads.getUpload(uploadId).catch(() => null);
      if (upload?.metadata?.[UPLOADER] !== callerOf(request).user.id) {
        throw notFound('no such upload');
      }
    },
    onUploadCreate: async (request, upload) => {
      const metadata = readMetadata(upload);
      const rule = ruleFor(registry, metadata);
      if (upload.size === undefined) {
        throw invalidInput('Upload-Length is required: the length cannot be deferred', [
          { path: 'headers.upload-length', message: 'is required' },
        ]);
      }
      if (upload.size > rule.maxBytes) {
        throw payloadTooLarge(`the file may have at most ${rule.maxBytes} bytes`);
      }
      if (rule.accept && !rule.accept.includes(metadata.type)) {
        throw unsupportedMediaType(`the file must be one of ${rule.accept.join(', ')}`);
      }
      return { metadata: { ...upload.metadata, [UPLOADER]: callerOf(request).user.id } };
    },
    onUploadFinish: async (request, upload) => {
      await acceptUpload(registry, storage, callerOf(request), upload);
      return {};
    },
    onResponseError: (_request, error) => answerError(error),
  });
}

function readMetadata(upload: Upload): UploadMetadata {
  const given = Object.fromEntries(
    Object.entries(upload.metadata ?? {}).filter(([key]) => key !== UPLOADER),
  );
  const parsed = MetadataSchema.safeParse(given);
  if (!parsed.success) {
    throw invalidInput(
      'Upload-Metadata must carry sha256, name and type (and may carry recordType with field)',
      parsed.error.issues.map((issue) => ({
        path: ['metadata', ...issue.path].join('.'),
        message: issue.message,
      })),
    );
  }
  return parsed.data;
}

/** The field's rule when recordType and field are given, the union of all otherwise. */
function ruleFor(registry: Registry, metadata: UploadMetadata): UploadRule {
  const { recordType, field } = metadata;
  if ((recordType === undefined) !== (field === undefined)) {
    throw invalidInput('recordType and field go together', [
      {
        path: `metadata.${recordType === undefined ? 'recordType' : 'field'}`,
        message: 'is required with the other',
      },
    ]);
  }
  const target =
    recordType !== undefined && field !== undefined ? { recordType, field } : undefined;
  const rule = uploadRule(registry.config, target);
  if (!rule) {
    throw invalidInput(
      target
        ? `${recordType}.${field} is not a file field of this registry`
        : 'this registry has no file fields',
      target ? [{ path: 'metadata.field', message: 'is not a file field' }] : undefined,
    );
  }
  return rule;
}

/**
 * The end of an upload: the bytes must hash to the declared SHA-256 (400 HASH_MISMATCH) and sniff
 * as the declared type, within `accept` (415). Refused bytes are discarded. Accepted ones are
 * kept under their hash, once, while the file's row is locked (so that the cleanup cannot delete
 * them meanwhile), and the caller is recorded as an uploader. Doing it again is harmless.
 */
async function acceptUpload(
  registry: Registry,
  storage: FileStorage,
  caller: Caller,
  upload: Upload,
): Promise<void> {
  try {
    const metadata = readMetadata(upload);
    const rule = ruleFor(registry, metadata);
    const { sha256, head } = await digest(storage, upload.id);
    if (sha256 !== metadata.sha256) {
      throw hashMismatch(`the bytes received hash to ${sha256}, not to the sha256 declared`);
    }
    const sniffed = (await fileTypeFromBuffer(head))?.mime;
    if (!sniffed) {
      throw unsupportedMediaType('the type of the file could not be recognised from its bytes');
    }
    if (sniffed !== metadata.type) {
      throw unsupportedMediaType(`the file is ${sniffed}, not ${metadata.type} as declared`);
    }
    if (rule.accept && !rule.accept.includes(sniffed)) {
      throw unsupportedMediaType(`the file must be one of ${rule.accept.join(', ')}`);
    }
    await registry.db.transaction().execute(async (trx) => {
      await recordUpload(trx, {
        sha256,
        type: sniffed,
        size: upload.offset,
        userId: caller.user.id,
        at: registry.now(),
      });
      await storage.adopt(upload.id, sha256);
    });
  } catch (error) {
    // Nothing refused is kept. A failure of the server's own keeps the bytes, so that the client
    // can finish the upload again (an empty PATCH at the end) without sending them again.
    if (error instanceof ProblemError) await storage.discardUpload(upload.id);
    throw error;
  }
  await storage.discardUpload(upload.id);
}

/** The SHA-256 of a complete upload's bytes, and their head for sniffing the type. */
async function digest(
  storage: FileStorage,
  uploadId: string,
): Promise<{ sha256: string; head: Uint8Array }> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  for await (const chunk of await storage.readUpload(uploadId)) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    if (headBytes < SNIFF_BYTES) {
      head.push(bytes.subarray(0, SNIFF_BYTES - headBytes));
      headBytes += Math.min(bytes.length, SNIFF_BYTES - headBytes);
    }
  }
  return { sha256: hash.digest('hex'), head: Buffer.concat(head) };
}
