import {
  Counter,
  collectDefaultMetrics,
  Histogram,
  Registry as MetricsRegistry,
} from 'prom-client';

/** Prometheus metrics of one process, served at GET /metrics. */
export class Metrics {
  readonly registry = new MetricsRegistry();
  readonly requestDuration = new Histogram({
    name: 'registra_http_request_duration_seconds',
    help: 'HTTP request durations by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'registra_' });
  }
}
