import cluster from 'node:cluster';
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Registry as MetricsRegistry,
} from 'prom-client';
import type { PoolStats } from '../db/database.js';

/** The IPC message by which a cluster worker asks the primary for every worker's metrics. */
export const METRICS_REQUEST = 'registra:metrics';
export interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsAnswer extends MetricsRequest {
  text?: string;
  error?: string;
}

/** The latest run of a kind of backup work, and the latest that succeeded. */
export interface RunStatus {
  latest: { ok: boolean; finishedAt: Date; seconds: number; records: number | null } | null;
  latestOk: { finishedAt: Date } | null;
}
export interface BackupStatus {
  baseBackup: RunStatus;
  restoreTest: RunStatus;
}

/** Prometheus metrics of the server, served at GET /metrics. */
export class Metrics {
  readonly registry = new MetricsRegistry();
  readonly requestDuration = new Histogram({
    name: 'registra_http_request_duration_seconds',
    help: 'HTTP request durations by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly aborted = new Counter({
    name: 'registra_http_requests_aborted_total',
    help: 'Requests that ended before they were answered: the caller hung up, or the request timed out',
    labelNames: ['route', 'reason'] as const,
    registers: [this.registry],
  });
  readonly appended = new Counter({
    name: 'registra_entries_appended_total',
    help: 'Log entries appended, by outcome',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly syncBatchSize = new Histogram({
    name: 'registra_sync_batch_actions',
    help: 'Actions pushed per sync request',
    buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });
  readonly pullLag = new Histogram({
    name: 'registra_pull_lag_seconds',
    help: 'Time from an entry being recorded to its delivery to another device',
    buckets: [0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 86400, 604800],
    registers: [this.registry],
  });

  #asked = 0;

  /**
   * With the connection pool, also its connections in use, idle, and requests waiting for one;
   * `others`: registries of other parts (hooks) served with these.
   */
  constructor(
    pool?: PoolStats,
    private readonly others: MetricsRegistry[] = [],
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'registra_' });
    if (pool) {
      new Gauge({
        name: 'registra_db_connections',
        help: 'Database connections of this process by state, and requests waiting for one',
        labelNames: ['state'] as const,
        registers: [this.registry],
        collect() {
          this.set({ state: 'busy' }, pool.totalCount - pool.idleCount);
          this.set({ state: 'idle' }, pool.idleCount);
          this.set({ state: 'waiting' }, pool.waitingCount);
        },
      });
    }
    // In a cluster worker, prom-client answers the primary's requests from this registry. Its
    // listener for them is installed by constructing an AggregatorRegistry (once per process).
    if (cluster.isWorker) {
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([this.registry]);
    }
  }

  /**
   * Backups and their restore tests (backup/), read from the database at each scrape, so that
   * every node reports the same whichever process did the work ('first': not summed in a cluster).
   */
  observeBackups(read: () => Promise<BackupStatus>): void {
    let cached: { at: number; status: Promise<BackupStatus> } | null = null;
    const status = () => {
      if (!cached || performance.now() - cached.at > 1000) {
        cached = { at: performance.now(), status: read() };
      }
      return cached.status;
    };
    const seconds = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);
    const gauge = (name: string, help: string, value: (s: BackupStatus) => number | undefined) =>
      new Gauge({
        name,
        help,
        aggregator: 'first',
        registers: [this.registry],
        async collect() {
          // Never happened: 0 (never proven, never backed up), which alerts should fire on.
          this.set(value(await status()) ?? 0);
        },
      });
    gauge(
      'registra_backup_last_success_timestamp_seconds',
      'When the latest base backup that succeeded ended',
      (s) => seconds(s.baseBackup.latestOk?.finishedAt),
    );
    gauge(
      'registra_backup_last_ok',
      'Whether the latest base backup succeeded (1) or failed (0)',
      (s) => (s.baseBackup.latest ? Number(s.baseBackup.latest.ok) : undefined),
    );
    gauge(
      'registra_restore_test_ok',
      'Whether the latest restore test (latest backup restored, then verified) passed (1) or not (0)',
      (s) => (s.restoreTest.latest ? Number(s.restoreTest.latest.ok) : undefined),
    );
    gauge(
      'registra_restore_test_last_success_timestamp_seconds',
      'When the latest restore test that passed ended',
      (s) => seconds(s.restoreTest.latestOk?.finishedAt),
    );
    gauge(
      'registra_restore_test_duration_seconds',
      'How long the latest restore test took, restore and verify',
      (s) => s.restoreTest.latest?.seconds,
    );
    gauge(
      'registra_restore_test_records',
      'Records verified by the latest restore test',
      (s) => s.restoreTest.latest?.records ?? undefined,
    );
  }

  /** Reads by where they went (db/replica.ts): the replica, or the primary and why. */
  observeReplica(counts: Readonly<Record<string, number>>): void {
    new Counter({
      name: 'registra_db_reads_total',
      help: "Reads that could go to the replica, by where they went: replica, primary-lagging (the replica had not replayed the caller's write in time), primary-unreachable",
      labelNames: ['target'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [target, n] of Object.entries(counts)) this.inc({ target }, n);
      },
    });
  }

  /** The exposition text: this process's metrics or, in a cluster worker, every worker's, summed. */
  async text(): Promise<string> {
    const send = process.send?.bind(process);
    if (!cluster.isWorker || !send) {
      const texts = await Promise.all([this.registry, ...this.others].map((r) => r.metrics()));
      return texts.join('');
    }
    const id = ++this.#asked;
    return new Promise((resolve, reject) => {
      const answer = (message: MetricsAnswer) => {
        if (message?.type !== METRICS_REQUEST || message.id !== id) return;
        process.off('message', answer);
        if (message.text !== undefined) resolve(message.text);
        else reject(new Error(`metrics of the other workers: ${message.error ?? 'no answer'}`));
      };
      process.on('message', answer);
      send({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
  }
}
