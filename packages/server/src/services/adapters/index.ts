import type { AdapterStatus } from '@registra/core';
import { z } from 'zod';
import { addJob, defineTask, type JobQueue, type TaskRef } from '../../jobs/index.js';
import { adapterStates, latestAdapterErrors, outAdapterStats } from '../../store/adapters.js';
import type { Registry } from '../context.js';
import { deliveries, MANAGE_HOOKS } from '../hooks/deliveries.js';
import { adapterNotRunnable, notFound } from '../problem.js';
import { inAdapterPullers, pullAdapter } from './in.js';

export { inAdapterPullers, pullAdapter, type InAdapterPuller } from './in.js';
export { outAdapterSenders } from './out.js';

/** Who may see adapters and run them (administrators, as for hooks' deliveries). */
export const MANAGE_ADAPTERS = MANAGE_HOOKS;

/** Run an adapter in: a page after the other from its checkpoint (in.ts). */
export const pullTask: TaskRef<{ adapter: string }> = {
  name: 'adapters.pull',
  payload: z.object({ adapter: z.string() }),
};

/**
 * The job that runs the adapters in, defined on the process's job queue, with each adapter's
 * schedule; the expressions are compiled (and their errors reported) here, at start.
 */
export function defineAdapterJobs(
  jobs: JobQueue,
  registry: Registry,
  env: Readonly<Record<string, string | undefined>> = process.env,
): JobQueue {
  const pullers = inAdapterPullers(registry.config, env);
  const task = defineTask(pullTask.name, pullTask.payload, async ({ adapter }, job) => {
    const puller = pullers.get(adapter);
    if (!puller) return;
    const result = await pullAdapter(registry, puller);
    if (result.error) job.logger.warn(`adapter ${adapter}: ${result.error}`);
  });
  jobs.define(task);
  for (const puller of pullers.values()) {
    jobs.cron(
      task,
      puller.adapter.schedule,
      { adapter: puller.adapter.id },
      `adapters.pull:${puller.adapter.id}`,
    );
  }
  return jobs;
}

const ERRORS_SHOWN = 10;

/** Every configured adapter and how it is doing. */
export async function adapterStatuses(registry: Registry): Promise<AdapterStatus[]> {
  const { config } = registry;
  const declared = config.document.adapters;
  const now = registry.now().getTime();
  const seconds = (since: Date | null) =>
    since ? Math.max(0, Math.round((now - since.getTime()) / 1000)) : null;
  const iso = (at: Date | null) => (at ? at.toISOString() : null);
  const [states, stats] = await Promise.all([
    adapterStates(registry.db),
    outAdapterStats(
      registry.db,
      declared.filter((a) => a.direction === 'out').map((a) => a.id),
    ),
  ]);
  return Promise.all(
    declared.map(async (adapter): Promise<AdapterStatus> => {
      const common = {
        id: adapter.id,
        label: adapter.label,
        translations: adapter.translations ?? null,
      };
      if (adapter.direction === 'out') {
        const on = config.hooks.has(adapter.id);
        const s = stats.get(adapter.id);
        const failing = on
          ? (
              await deliveries(registry, {
                hook: adapter.id,
                state: 'failing',
                limit: ERRORS_SHOWN,
              })
            ).results
          : [];
        return {
          ...common,
          direction: 'out',
          recordTypes: adapter.recordTypes ?? [...config.recordTypes.keys()],
          status: !on ? 'off' : !s ? 'never' : s.failing > 0 ? 'failing' : 'ok',
          lastRunAt: iso(s?.lastDeliveredAt ?? null),
          lastSuccessAt: iso(s?.lastDeliveredAt ?? null),
          lagSeconds: on ? (seconds(s?.oldestPendingAt ?? null) ?? 0) : null,
          lastError: s?.lastError ?? null,
          counts: {
            delivered: s?.delivered ?? 0,
            pending: s?.pending ?? 0,
            failing: s?.failing ?? 0,
          },
          errors: failing.map((d) => ({
            at: d.createdAt,
            key: d.trackingId,
            message: d.lastError ?? '',
          })),
        };
      }
      const on = config.inAdapters.has(adapter.id);
      const state = states.get(adapter.id);
      const failed =
        state?.lastErrorAt != null &&
        (state.lastSuccessAt === null || state.lastErrorAt > state.lastSuccessAt);
      const errors = state ? await latestAdapterErrors(registry.db, adapter.id, ERRORS_SHOWN) : [];
      return {
        ...common,
        direction: 'in',
        recordTypes: [adapter.recordType],
        status: !on
          ? 'off'
          : !state?.lastRunAt
            ? 'never'
            : state.running
              ? 'running'
              : failed
                ? 'failing'
                : 'ok',
        lastRunAt: iso(state?.lastRunAt ?? null),
        lastSuccessAt: iso(state?.lastSuccessAt ?? null),
        lagSeconds: seconds(state?.lastSuccessAt ?? null),
        lastError: failed ? (state?.lastError ?? null) : null,
        counts: {
          applied: state?.applied ?? 0,
          unchanged: state?.unchanged ?? 0,
          failed: state?.failed ?? 0,
        },
        errors: errors.map((e) => ({ at: e.at.toISOString(), key: e.key, message: e.message })),
      };
    }),
  );
}

/** Runs an adapter in now (one job per adapter at a time: a second ask joins the first). */
export async function runAdapterNow(registry: Registry, id: string): Promise<void> {
  const declared = registry.config.document.adapters.find((a) => a.id === id);
  if (!declared) throw notFound('no adapter with this id');
  if (declared.direction !== 'in') {
    throw adapterNotRunnable('an adapter out is not run: it sends each entry it covers');
  }
  if (!registry.config.inAdapters.has(id)) {
    throw adapterNotRunnable(`the adapter is off: ${declared.urlEnv ?? 'its address'} is not set`);
  }
  await addJob(registry.db, pullTask, {
    payload: { adapter: id },
    jobKey: `adapters.pull-now:${id}`,
  });
}
