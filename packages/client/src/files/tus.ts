import {
  Upload,
  type DetailedError,
  type HttpRequest,
  type HttpResponse,
  type HttpStack,
} from 'tus-js-client';

/**
 * tus-js-client over `fetch`, where there is no XMLHttpRequest (Node) or where the app gives its
 * own fetch (tests that cut the network). Progress is reported per request, not per byte.
 */
export class FetchHttpStack implements HttpStack {
  constructor(private readonly fetch: typeof globalThis.fetch) {}

  createRequest(method: string, url: string): HttpRequest {
    return new FetchRequest(this.fetch, method, url);
  }

  getName(): string {
    return 'FetchHttpStack';
  }
}

class FetchRequest implements HttpRequest {
  readonly #headers: Record<string, string> = {};
  readonly #controller = new AbortController();
  #progress: ((bytesSent: number) => void) | null = null;

  constructor(
    private readonly fetch: typeof globalThis.fetch,
    private readonly method: string,
    private readonly url: string,
  ) {}

  getMethod(): string {
    return this.method;
  }

  getURL(): string {
    return this.url;
  }

  setHeader(header: string, value: string): void {
    this.#headers[header.toLowerCase()] = value;
  }

  getHeader(header: string): string | undefined {
    return this.#headers[header.toLowerCase()];
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.#progress = handler;
  }

  async send(body?: Blob | null): Promise<HttpResponse> {
    const response = await this.fetch(this.url, {
      method: this.method,
      headers: this.#headers,
      signal: this.#controller.signal,
      ...(body ? { body } : {}),
    });
    const text = await response.text();
    if (body) this.#progress?.(body.size);
    return new FetchResponse(response, text);
  }

  async abort(): Promise<void> {
    this.#controller.abort();
  }

  getUnderlyingObject(): unknown {
    return null;
  }
}

class FetchResponse implements HttpResponse {
  constructor(
    private readonly response: Response,
    private readonly body: string,
  ) {}

  getStatus(): number {
    return this.response.status;
  }

  getHeader(header: string): string | undefined {
    return this.response.headers.get(header) ?? undefined;
  }

  getBody(): string {
    return this.body;
  }

  getUnderlyingObject(): unknown {
    return this.response;
  }
}

/** tus-js-client's file reader over a Blob, the same in browsers and Node. */
const blobReader = {
  async openFile(input: Blob) {
    return {
      size: input.size,
      slice: async (start: number, end: number) => ({
        value: input.slice(start, end),
        done: end >= input.size,
      }),
      close: () => undefined,
    };
  },
};

export interface UploadOptions {
  endpoint: string;
  /** The upload to resume, from an earlier attempt. */
  uploadUrl: string | null;
  metadata: Record<string, string>;
  chunkSize: number;
  /** The access token to send now (it may be refreshed between requests). */
  token(): string | null;
  httpStack?: HttpStack | undefined;
  /** The upload's URL, as soon as it is known: kept so that a reload resumes there. */
  onUrl(url: string): void;
  /** Bytes the server has acknowledged. */
  onProgress(bytesAccepted: number): void;
}

/** Why an upload stopped: the server refused it for good, or it may be tried again. */
export class UploadFailed extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when the network failed. */
    readonly status: number,
    /** The problem+json `code`, when the server gave one. */
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'UploadFailed';
  }

  /** 4xx other than the token, a lock or a conflict of offsets: sending it again cannot help. */
  get final(): boolean {
    return (
      this.status >= 400 && this.status < 500 && ![401, 408, 409, 423, 429].includes(this.status)
    );
  }
}

/**
 * Uploads `file` with tus 1.0, resuming `uploadUrl` when given (tus-js-client asks the server's
 * offset first, so a broken upload goes on where it stopped). A few quick retries ride out a
 * dropped connection; anything longer is the caller's to retry later.
 */
export function tusUpload(file: Blob, options: UploadOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(file, {
      endpoint: options.endpoint,
      uploadUrl: options.uploadUrl,
      metadata: options.metadata,
      chunkSize: options.chunkSize,
      retryDelays: [0, 1000, 3000],
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      fileReader: blobReader,
      ...(options.httpStack ? { httpStack: options.httpStack } : {}),
      onBeforeRequest: (request) => {
        const token = options.token();
        if (token) request.setHeader('Authorization', `Bearer ${token}`);
      },
      onUploadUrlAvailable: () => {
        if (upload.url) options.onUrl(upload.url);
      },
      onChunkComplete: (_size, accepted) => options.onProgress(accepted),
      onSuccess: () => resolve(),
      onError: (error) => reject(failure(error)),
    });
    upload.start();
  });
}

function failure(error: Error | DetailedError): UploadFailed {
  const response = 'originalResponse' in error ? error.originalResponse : null;
  const status = response?.getStatus() ?? 0;
  let code: string | null = null;
  let detail = error.message;
  try {
    const problem = JSON.parse(response?.getBody() ?? '') as { code?: string; detail?: string };
    code = problem.code ?? null;
    detail = problem.detail ?? detail;
  } catch {
    // not a problem+json answer
  }
  return new UploadFailed(detail, status, code);
}
