export { buildApp, type AppOptions } from './http/app.js';
export { Metrics } from './http/metrics.js';
export { connect, type DB } from './db/database.js';
export { startEmbeddedPostgres } from './db/embedded.js';
export { migrate } from './db/migrations.js';
export { readEnv, type Env } from './env.js';
export { AuthService } from './services/auth.js';
export type { Registry, Caller } from './services/context.js';
export { ReadAudit, type ReadAuditRow } from './services/read-audit.js';
export { rebuildReadModel, verifyReadModel } from './services/read-model.js';
export { entryHash } from './services/chain.js';
export {
  blocksOf,
  deduplicateAll,
  deduplicateRecord,
  findDuplicates,
} from './services/deduplication/index.js';
export { loadConfigFile, resolveConfigDir, seed } from './services/seed.js';
export { loadSigner } from './services/tokens.js';
export { startServer, openDatabase, openRegistry } from './server.js';
export { openFileStorage } from './services/files/open.js';
export type { FileStorage } from './services/files/storage.js';
export { PdfRenderer } from './services/pdf-renderer.js';
export { credentialQr } from './services/certificates.js';
