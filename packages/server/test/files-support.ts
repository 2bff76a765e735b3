import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { S3Settings } from '../src/services/files/s3-storage.js';
import { freePort } from './ports.js';

/**
 * An S3-compatible server for the tests of the S3 path: moto's (`moto_server`, installed by
 * .ci/run with pip). s3rver, the npm one, lacks ListParts and ListMultipartUploads, which
 * @tus/s3-store needs for every upload in progress; moto implements them as S3 does, part-size
 * rules included.
 */
export interface S3Server {
  settings: S3Settings;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'registra-files'): Promise<S3Server> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(`moto_server could not start (pip install 'moto[server]'): ${error.message}`),
      ),
    );
    child.once('exit', (code) => reject(new Error(`moto_server ended (${code}): ${stderr}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await Promise.race([
      fetch(`${endpoint}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      ),
      failed,
    ]);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`moto_server did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const settings: S3Settings = {
    bucket,
    endpoint,
    region: 'us-east-1',
    accessKeyId: 'test',
    secretAccessKey: 'test',
    forcePathStyle: true,
  };
  const client = new S3Client({
    region: settings.region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  failed.catch(() => undefined);
  return {
    settings,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A JPEG's first bytes (SOI, JFIF APP0) and noise: file-type sniffs it as image/jpeg. */
export function jpeg(size: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]).copy(bytes);
  return bytes;
}

/** A PNG's signature, IHDR chunk and an IDAT chunk of noise (checksums not computed). */
export function png(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from('89504e470d0a1a0a0000000d494844520000001000000010080200000000000000', 'hex').copy(
    bytes,
  );
  bytes.writeUInt32BE(size - 33 - 12, 33);
  bytes.write('IDAT', 37, 'latin1');
  return bytes;
}

/** A PDF's header, then noise. */
export function pdf(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from('%PDF-1.7\n').copy(bytes);
  return bytes;
}

/** tus's Upload-Metadata: comma-separated `key base64(value)` pairs. */
export function uploadMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** A tus 1.0 client over fetch, for tests that look at the protocol itself. */
export class TusClient {
  /** Body bytes sent in PATCH requests, cut ones included. */
  sent = 0;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  headers(more: Record<string, string> = {}): Record<string, string> {
    return { 'tus-resumable': '1.0.0', authorization: `Bearer ${this.token}`, ...more };
  }

  /** POST: creates an upload; answers the response (Location is the upload's URL). */
  create(length: number, metadata: Record<string, string>): Promise<Response> {
    return fetch(`${this.baseUrl}/api/v1/files/uploads`, {
      method: 'POST',
      headers: this.headers({
        'upload-length': String(length),
        'upload-metadata': uploadMetadata(metadata),
      }),
    });
  }

  /** Creates an upload and answers its absolute URL. */
  async start(length: number, metadata: Record<string, string>): Promise<string> {
    const response = await this.create(length, metadata);
    if (response.status !== 201)
      throw new Error(`create: ${response.status} ${await response.text()}`);
    return new URL(response.headers.get('location') ?? '', this.baseUrl).toString();
  }

  patch(url: string, offset: number, body: Uint8Array): Promise<Response> {
    this.sent += body.length;
    return fetch(url, {
      method: 'PATCH',
      headers: this.headers({
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
      }),
      body: body as BodyInit,
    });
  }

  async offset(url: string): Promise<number> {
    const response = await fetch(url, { method: 'HEAD', headers: this.headers() });
    if (response.status !== 200) throw new Error(`HEAD upload: ${response.status}`);
    return Number(response.headers.get('upload-offset'));
  }

  /** Sends `bytes` from `offset` in chunks; answers the last response. */
  async send(url: string, bytes: Uint8Array, chunk: number, offset = 0): Promise<Response> {
    let last: Response | null = null;
    for (let at = offset; at < bytes.length; at += chunk) {
      last = await this.patch(url, at, bytes.subarray(at, Math.min(at + chunk, bytes.length)));
      if (last.status !== 204) return last;
    }
    return last as Response;
  }

  /** Uploads a whole file; answers the final PATCH's response. */
  async upload(
    bytes: Uint8Array,
    metadata: Record<string, string>,
    chunk = 256 * 1024,
  ): Promise<Response> {
    const url = await this.start(bytes.length, metadata);
    return this.send(url, bytes, chunk);
  }

  /**
   * A PATCH whose connection is cut after `sentBytes` of its `body` went out: what a phone losing
   * its signal mid-request does. Resolves once the socket is closed.
   */
  cutPatch(url: string, offset: number, body: Uint8Array, sentBytes: number): Promise<void> {
    this.sent += sentBytes;
    return new Promise((resolve) => {
      const target = new URL(url);
      const request = http.request({
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'PATCH',
        headers: this.headers({
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(body.length),
        }),
      });
      request.on('error', () => resolve());
      request.on('close', () => resolve());
      request.write(body.subarray(0, sentBytes), () => setTimeout(() => request.destroy(), 200));
    });
  }
}
