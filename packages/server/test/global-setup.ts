import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test cluster's maintenance database; each test file makes its own database. */
    postgresUrl: string;
  }
}

/** One real PostgreSQL for the whole test run, in a temporary directory. */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-test-'));
  const cluster = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  project.provide('postgresUrl', cluster.url.replace(/\/registra$/, '/postgres'));
  return async () => {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
