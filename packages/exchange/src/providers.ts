import type { ProviderConfig } from '@registra/core';
import jsonata from 'jsonata';

/**
 * Providers of exchanged fields (PROTOCOL 12): this registry's records, an external REST source
 * or an external GraphQL endpoint. Each answers one document per subject; each field is a JSONata
 * expression over it. A provider that cannot answer in time fails its own fields only.
 */

export type ProviderFailure = 'PROVIDER_UNAVAILABLE' | 'PROVIDER_TIMEOUT';

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Fetches the subject's document of one provider; null: the provider holds nothing about them. */
export type ProviderFetch = (subjectId: string) => Promise<unknown>;

export interface RegistrySource {
  subject(subjectId: string): Promise<Record<string, unknown> | null>;
}

/** The document fetcher of a provider, or null when it is off (its URL's variable unset). */
export function providerFetch(
  provider: ProviderConfig,
  registry: RegistrySource,
  env: Readonly<Record<string, string | undefined>>,
): ProviderFetch | null {
  if (provider.kind === 'registry') return (subjectId) => registry.subject(subjectId);
  const base = provider.url ?? (provider.urlEnv ? env[provider.urlEnv] : undefined);
  if (!base) return null;
  if (provider.kind === 'rest') {
    return async (subjectId) => {
      const response = await call(
        joinUrl(base, provider.path, subjectId),
        { method: 'GET', headers: { accept: 'application/json' } },
        provider.timeoutMs,
      );
      if (response.status === 404) return null;
      if (!response.ok) throw unavailable(`answered ${response.status}`);
      return readJson(response);
    };
  }
  return async (subjectId) => {
    const response = await call(
      base,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: provider.query, variables: { subjectId } }),
      },
      provider.timeoutMs,
    );
    if (!response.ok) throw unavailable(`answered ${response.status}`);
    const body = (await readJson(response)) as { data?: unknown; errors?: unknown[] } | null;
    if (!body || typeof body !== 'object') throw unavailable('answered no GraphQL document');
    if (Array.isArray(body.errors) && body.errors.length > 0 && !body.data) {
      throw unavailable(`answered errors: ${JSON.stringify(body.errors).slice(0, 200)}`);
    }
    return body.data ?? null;
  };
}

function joinUrl(base: string, path: string, subjectId: string): string {
  return base.replace(/\/+$/, '') + path.replace('{subjectId}', encodeURIComponent(subjectId));
}

const unavailable = (message: string) => new ProviderError('PROVIDER_UNAVAILABLE', message);

async function call(url: string | URL, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new ProviderError('PROVIDER_TIMEOUT', `no answer within ${timeoutMs} ms`);
    }
    throw unavailable(`cannot be reached (${(error as Error).message})`);
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw unavailable('answered something that is not JSON');
  }
}

/** A field's JSONata expression, compiled once. */
export class FieldPath {
  readonly #expression: jsonata.Expression;

  constructor(readonly source: string) {
    this.#expression = jsonata(source);
  }

  /** The field's value in the document, as PROTOCOL 12's scalar (a string), or null. */
  async valueIn(document: unknown): Promise<string | null> {
    const value: unknown = await this.#expression.evaluate(document);
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  }
}
