import type { RegistryConfig } from '@registra/core';
import type { Webhook } from 'standardwebhooks';
import { postDelivery, type Answer } from '../hooks/send.js';
import { ExpressionCompiler, MappingError, type Expression } from './expressions.js';

/**
 * An adapter out (issue 16) as the hooks' delivery sees it: its deliveries are those of a notify
 * hook (services/hooks: written with the entries, retried with backoff, listed for
 * administrators); only what is sent differs. The body is the adapter's JSONata mapping of the
 * notice `{hook, entry, record}`, and its headers come from the environment.
 */
export class OutAdapterSender {
  constructor(
    readonly id: string,
    readonly url: string,
    readonly timeoutMs: number,
    readonly mapping: Expression,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  /**
   * Sends one notice, mapped. A mapping that selects nothing sends nothing (the delivery is
   * done); a mapping that fails is a failed attempt, retried like an unanswered one, its error
   * shown on the delivery.
   */
  async send(deliveryId: string, notice: object, signer: Webhook | undefined): Promise<Answer> {
    let body: unknown;
    try {
      body = await this.mapping.evaluate(notice);
    } catch (error) {
      if (error instanceof MappingError) return { error: `mapping failed: ${error.message}` };
      throw error;
    }
    if (body === undefined) return { status: 204, body: '' };
    return postDelivery(
      this.url,
      signer,
      deliveryId,
      JSON.stringify(body),
      this.timeoutMs,
      this.headers,
    );
  }
}

/**
 * The senders of the adapters out that are on, their mappings compiled and their headers read
 * from `env` at start: a syntax error or a header whose variable is not set stops the start with
 * the configuration's other problems.
 */
export function outAdapterSenders(
  config: RegistryConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, OutAdapterSender> {
  const compiler = new ExpressionCompiler();
  const senders = new Map<string, OutAdapterSender>();
  config.document.adapters.forEach((adapter, a) => {
    const hook = config.hooks.get(adapter.id);
    if (adapter.direction !== 'out' || !hook?.adapter) return;
    const path = `adapters.${a}`;
    senders.set(
      adapter.id,
      new OutAdapterSender(
        adapter.id,
        hook.url,
        adapter.timeout * 1000,
        compiler.compile(adapter.mapping, `${path}.mapping`),
        compiler.headers(adapter.headers, env, path),
      ),
    );
  });
  compiler.done();
  return senders;
}
