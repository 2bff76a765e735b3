import { LoginRequired, ServerProblem, Unreachable } from './errors.js';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface TransportOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** Current tokens, or null when logged out. */
  tokens(): Tokens | null;
  /** Called with fresh tokens after a refresh (to store them). */
  refreshed(tokens: Tokens): Promise<void>;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** gzip through the platform's CompressionStream (browsers and Node ≥ 18 alike). */
async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * HTTP to the Registra API: bearer tokens, one refresh on 401 (shared by concurrent callers),
 * gzip request bodies, and problem+json answers turned into typed errors.
 */
export class Transport {
  #refreshing: Promise<void> | null = null;

  constructor(private readonly options: TransportOptions) {}

  async request<T>(
    method: string,
    path: string,
    options: {
      body?: unknown;
      auth?: boolean;
      compress?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer<T>> {
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      let body: BodyInit | undefined;
      if (options.body !== undefined) {
        const json = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
        if (options.compress) {
          headers['content-encoding'] = 'gzip';
          body = (await gzip(json)) as BodyInit;
        } else {
          body = json;
        }
      }
      const tokens = this.options.tokens();
      if (options.auth !== false && tokens)
        headers['authorization'] = `Bearer ${tokens.accessToken}`;
      try {
        return await this.options.fetch(this.options.baseUrl + path, {
          method,
          headers,
          ...(body ? { body } : {}),
        });
      } catch (error) {
        throw new Unreachable(`could not reach the server: ${(error as Error).message}`);
      }
    };

    let response = await send();
    if (response.status === 401 && options.auth !== false) {
      await this.refresh();
      response = await send();
    }
    return this.#read<T>(response);
  }

  /** A binary answer (a certificate's PDF): the bytes on 200, the usual errors otherwise. */
  async blob(path: string): Promise<Blob> {
    const send = async (): Promise<Response> => {
      const tokens = this.options.tokens();
      try {
        return await this.options.fetch(this.options.baseUrl + path, {
          headers: tokens ? { authorization: `Bearer ${tokens.accessToken}` } : {},
        });
      } catch (error) {
        throw new Unreachable(`could not reach the server: ${(error as Error).message}`);
      }
    };
    let response = await send();
    if (response.status === 401) {
      await this.refresh();
      response = await send();
    }
    if (response.ok) return response.blob();
    await this.#read(response);
    throw new ServerProblem(response.status, 'ERROR', response.statusText);
  }

  async #read<T>(response: Response): Promise<Answer<T>> {
    if (response.status === 304)
      return { status: 304, body: undefined as T, headers: response.headers };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      if (response.status >= 500) throw new Unreachable(`the server answered ${response.status}`);
      throw new ServerProblem(
        response.status,
        'UNREADABLE',
        `unreadable answer (${response.status})`,
      );
    }
    if (response.ok) return { status: response.status, body: body as T, headers: response.headers };
    const problem = (body ?? {}) as Record<string, unknown>;
    if (response.status >= 500 || response.status === 429) {
      throw new Unreachable(
        `the server answered ${response.status}: ${String(problem['detail'] ?? '')}`,
      );
    }
    if (response.status === 401) throw new LoginRequired();
    throw new ServerProblem(
      response.status,
      String(problem['code'] ?? 'ERROR'),
      String(problem['detail'] ?? response.statusText),
      problem,
    );
  }

  /** Trades the refresh token for a new pair; LoginRequired when the session is gone. */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const tokens = this.options.tokens();
        if (!tokens) throw new LoginRequired();
        const response = await this.options
          .fetch(`${this.options.baseUrl}/api/v1/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              grant_type: 'refresh_token',
              refreshToken: tokens.refreshToken,
            }),
          })
          .catch((error: Error) => {
            throw new Unreachable(`could not reach the server: ${error.message}`);
          });
        if (response.status === 401 || response.status === 400) throw new LoginRequired();
        if (!response.ok) throw new Unreachable(`the server answered ${response.status}`);
        const body = (await response.json()) as Tokens;
        await this.options.refreshed({
          accessToken: body.accessToken,
          refreshToken: body.refreshToken,
        });
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }
}
