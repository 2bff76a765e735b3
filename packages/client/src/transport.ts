import { LoginRequired, ServerProblem, Unreachable } from './errors.js';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** Where the signed-in person's tokens live (see SessionTokens: shared by the tabs). */
export interface TokenSource {
  /** The pair to send now. */
  current(): Tokens;
  /**
   * The access token of `refused` was turned away: leave a working pair in place, calling
   * `exchange` (POST /auth/token with the refresh token) only if no one else has refreshed it.
   */
  renew(refused: Tokens, exchange: (refreshToken: string) => Promise<Tokens>): Promise<void>;
}

export interface TransportOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** The signed-in person's tokens, or null when logged out or locked. */
  tokens(): TokenSource | null;
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
 * HTTP to the Registra API: bearer tokens, a refresh on 401 (coordinated by the TokenSource, so
 * that concurrent callers and tabs present a refresh token once), gzip request bodies, and
 * problem+json answers turned into typed errors.
 */
export class Transport {
  /**
   * The WAL position after this client's latest write, as the server named it (`Registra-LSN`,
   * only when it reads from a replica), sent back with every request (`Registra-Read-After`) so
   * that reads served by a replica show this client's own writes (read-your-writes).
   */
  #readAfter: string | null = null;

  constructor(private readonly options: TransportOptions) {}

  #remember(response: Response): void {
    const lsn = response.headers.get('registra-lsn');
    if (lsn && /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(lsn)) {
      if (this.#readAfter === null || lsnValue(lsn) > lsnValue(this.#readAfter)) {
        this.#readAfter = lsn;
      }
    }
  }

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
    const source = options.auth === false ? null : this.options.tokens();
    const send = async (tokens: Tokens | undefined): Promise<Response> => {
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
      if (tokens) headers['authorization'] = `Bearer ${tokens.accessToken}`;
      if (this.#readAfter) headers['registra-read-after'] = this.#readAfter;
      try {
        const response = await this.options.fetch(this.options.baseUrl + path, {
          method,
          headers,
          ...(body ? { body } : {}),
        });
        this.#remember(response);
        return response;
      } catch (error) {
        throw new Unreachable(`could not reach the server: ${(error as Error).message}`);
      }
    };

    const sent = source?.current();
    let response = await send(sent);
    if (response.status === 401 && source && sent) {
      await source.renew(sent, (refreshToken) => this.#exchange(refreshToken));
      response = await send(source.current());
    }
    return this.#read<T>(response);
  }

  /**
   * A request whose answer is not JSON (a file's bytes, a HEAD): tokens and their refresh as for
   * `request`, the Response as it came. 401 after a refresh is LoginRequired; a failed network,
   * 429 or 5xx is Unreachable; any other status is the caller's to read.
   */
  async raw(method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const source = this.options.tokens();
    const send = async (tokens: Tokens | undefined): Promise<Response> => {
      try {
        return await this.options.fetch(this.options.baseUrl + path, {
          method,
          headers: tokens ? { ...headers, authorization: `Bearer ${tokens.accessToken}` } : headers,
        });
      } catch (error) {
        throw new Unreachable(`could not reach the server: ${(error as Error).message}`);
      }
    };
    const sent = source?.current();
    let response = await send(sent);
    if (response.status === 401 && source && sent) {
      await response.body?.cancel();
      await source.renew(sent, (refreshToken) => this.#exchange(refreshToken));
      response = await send(source.current());
    }
    if (response.status === 401) throw new LoginRequired();
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      throw new Unreachable(`the server answered ${response.status}`);
    }
    return response;
  }

  /** A binary answer (a certificate's PDF): the bytes on 200, the usual errors otherwise. */
  async blob(path: string): Promise<Blob> {
    const response = await this.raw('GET', path);
    if (response.ok) return response.blob();
    await this.#read(response);
    throw new ServerProblem(response.status, 'ERROR', response.statusText);
  }

  /** The access token to send now, for clients of their own (tus uploads). */
  accessToken(): string | null {
    return this.options.tokens()?.current().accessToken ?? null;
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

  /** Trades a refresh token for a new pair; LoginRequired when the session is gone. */
  async #exchange(refreshToken: string): Promise<Tokens> {
    const response = await this.options
      .fetch(`${this.options.baseUrl}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refreshToken }),
      })
      .catch((error: Error) => {
        throw new Unreachable(`could not reach the server: ${error.message}`);
      });
    if (response.status === 401 || response.status === 400) throw new LoginRequired();
    if (!response.ok) throw new Unreachable(`the server answered ${response.status}`);
    const body = (await response.json()) as Tokens;
    return { accessToken: body.accessToken, refreshToken: body.refreshToken };
  }
}

/** An LSN (`16/B374D848`) as a number that orders them. */
function lsnValue(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}
