import { ConfigurationError, type RegistryConfig } from '@registra/core';
import { Counter, Gauge, Registry as MetricsRegistry } from 'prom-client';
import type { Webhook } from 'standardwebhooks';
import type { JobQueue } from '../../jobs/index.js';
import { pendingByHook } from '../../store/deliveries.js';
import type { Registry } from '../context.js';
import type { Signer } from '../tokens.js';
import { outAdapterSenders } from '../adapters/out.js';
import { deliverRecord } from './deliver.js';
import { webhookSigner } from './send.js';
import { sweepHooks } from './sweep.js';
import { deliverTask, sweepTask } from './tasks.js';

export { hookOutbox } from './outbox.js';
export { sweepHooks } from './sweep.js';

/**
 * The signing secret of every hook that is on, read from its `secretEnv` at start: a hook with an
 * address but no secret is a configuration error, reported like the others.
 */
export function hookSigners(
  config: RegistryConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, Webhook> {
  const signers = new Map<string, Webhook>();
  const errors: { path: string; message: string }[] = [];
  const index = new Map<string, string>([
    ...config.document.hooks.map((hook, i) => [hook.id, `hooks.${i}`] as const),
    ...config.document.adapters.map((adapter, i) => [adapter.id, `adapters.${i}`] as const),
  ]);
  for (const hook of config.hooks.values()) {
    // An adapter out signs only when it names a secret.
    if (hook.secretEnv === undefined) continue;
    const secret = env[hook.secretEnv];
    const path = `${index.get(hook.id)}.secretEnv`;
    if (!secret) {
      errors.push({ path, message: `hook "${hook.id}" is on, but ${hook.secretEnv} is not set` });
      continue;
    }
    try {
      signers.set(hook.id, webhookSigner(secret));
    } catch (error) {
      errors.push({ path, message: `${hook.secretEnv}: ${(error as Error).message}` });
    }
  }
  if (errors.length > 0) throw new ConfigurationError(errors);
  return signers;
}

/** Deliveries by hook and outcome, pending deliveries and the age of the oldest (PROTOCOL 8). */
export class HookMetrics {
  readonly registry = new MetricsRegistry();
  readonly deliveries = new Counter({
    name: 'registra_hook_deliveries_total',
    help: 'Delivery attempts by hook and outcome (delivered, approved, declined, deferred, decided, failed)',
    labelNames: ['hook', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(registry: Registry) {
    // One query per scrape for both gauges.
    let snapshot: Promise<Awaited<ReturnType<typeof pendingByHook>>> | null = null;
    const read = () => {
      snapshot ??= pendingByHook(registry.db).finally(() =>
        setTimeout(() => (snapshot = null), 100),
      );
      return snapshot;
    };
    const gauge = (
      name: string,
      help: string,
      value: (row: { pending: number; oldestSeconds: number }) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['hook'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const hook of registry.config.hooks.keys()) this.set({ hook }, 0);
          for (const row of await read()) this.set({ hook: row.hook }, value(row));
        },
      });
    gauge(
      'registra_hook_deliveries_pending',
      'Deliveries not yet answered, by hook',
      (r) => r.pending,
    );
    gauge(
      'registra_hook_oldest_pending_seconds',
      'Age of the oldest delivery not yet answered, by hook',
      (r) => r.oldestSeconds,
    );
  }
}

/**
 * The jobs that deliver and sweep (PROTOCOL 8), defined on the job queue of the process that runs
 * it; `signer` makes the confirmation tokens. The outbox effect (hookOutbox) is set on the
 * registry of every process that appends.
 */
export function defineHookJobs(
  jobs: JobQueue,
  registry: Registry,
  signer: Signer,
  metrics: HookMetrics,
  env: Readonly<Record<string, string | undefined>> = process.env,
): JobQueue {
  const context = {
    registry,
    signers: hookSigners(registry.config, env),
    adapters: outAdapterSenders(registry.config, env),
    confirmationToken: (hookId: string, requestId: string) =>
      signer.signConfirmation(hookId, requestId),
    count: (hook: string, outcome: string, n: number) =>
      metrics.deliveries.inc({ hook, outcome }, n),
  };
  jobs.define({
    ...deliverTask,
    run: ({ hook, recordId }) => deliverRecord(context, hook, recordId),
  });
  return jobs.cron(
    {
      ...sweepTask,
      run: async () => {
        await sweepHooks(registry);
      },
    },
    '* * * * *',
    {},
  );
}
