import type { DciConfig } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import { insertExchangeAudit } from '../../store/exchange.js';
import type { Registry } from '../context.js';
import { dciProblem, ProblemError } from '../problem.js';
import {
  signEnvelope,
  signingJwkFrom,
  signingKey,
  type DciEnvelope,
  type SigningKey,
} from './envelope.js';
import { SearchRequestSchema, type Envelope } from './messages.js';
import { loadPartners, receiveEnvelope, type Partner } from './partners.js';
import { searchRegistry } from './search.js';

export { DCI_SEARCH_PURPOSE } from './search.js';

/**
 * The DCI / SPDCI registry API (issue 16): partners' signed requests in, signed answers out. Off
 * (null) when the configuration has no `dci` or its signing key is not in the environment.
 */
export class DciService {
  private constructor(
    readonly registry: Registry,
    readonly dci: DciConfig,
    readonly signer: SigningKey,
    readonly partners: ReadonlyMap<string, Partner>,
  ) {}

  static async open(
    registry: Registry,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): Promise<DciService | null> {
    const dci = registry.config.document.dci;
    if (!dci) return null;
    const jwk = signingJwkFrom(env, dci.signingKeyEnv);
    if (!jwk) return null;
    return new DciService(registry, dci, await signingKey(jwk), await loadPartners(dci, env));
  }

  /** The checked envelope of a request, or a refusal that is audited like any access. */
  async receive(body: unknown, action: string): Promise<{ partner: Partner; envelope: Envelope }> {
    try {
      return await receiveEnvelope(this.partners, this.dci.registryId, body, action);
    } catch (error) {
      if (error instanceof ProblemError) {
        const sender = (body as { header?: { sender_id?: unknown } } | null)?.header?.sender_id;
        await insertExchangeAudit(this.registry.db, {
          at: this.registry.now().toISOString(),
          consumer: typeof sender === 'string' ? sender.slice(0, 99) : '?',
          subjectId: '-',
          purpose: `dci.${action}`,
          consentId: null,
          fields: [{ field: `dci.${action}`, outcome: 'withheld', code: error.code }],
          latencies: {},
        });
      }
      throw error;
    }
  }

  /** The header of an answer to `partner`. */
  header(
    action: string,
    partner: Partner,
    status: 'succ' | 'rjct' | 'rcvd' | 'pdng',
    total: number,
    completed: number,
  ) {
    return {
      version: '1.0.0',
      message_id: uuidv7(),
      message_ts: this.registry.now().toISOString(),
      action,
      status,
      total_count: total,
      completed_count: completed,
      sender_id: this.dci.registryId,
      receiver_id: partner.config.id,
      is_msg_encrypted: false,
    };
  }

  /** `POST /dci/registry/sync/search`: the signed SearchResponse. */
  async syncSearch(body: unknown): Promise<DciEnvelope> {
    const { partner, envelope } = await this.receive(body, 'search');
    const message = SearchRequestSchema.safeParse(envelope.message);
    if (!message.success) {
      const issue = message.error.issues[0];
      throw dciProblem(
        400,
        'INVALID_INPUT',
        'err.request.bad',
        `message.${issue?.path.join('.') ?? ''}`,
        `not a SearchRequest: ${issue?.message ?? ''}`,
      );
    }
    const response = await searchRegistry(this.registry, this.dci, partner, message.data);
    const succeeded = response.search_response.filter((r) => r.status === 'succ').length;
    const header = this.header(
      'on-search',
      partner,
      succeeded > 0 ? 'succ' : 'rjct',
      response.search_response.length,
      response.search_response.length,
    );
    return signEnvelope(this.signer, header, response);
  }
}
