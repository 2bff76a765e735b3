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
