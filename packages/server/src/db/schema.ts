import type { JWK } from 'jose';
import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables that migrations.ts creates. */
export interface Database {
  configurations: ConfigurationsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  devices: DevicesTable;
  device_rejections: DeviceRejectionsTable;
  entries: EntriesTable;
  records: RecordsTable;
  /** Built by `registra rebuild`, then swapped in as `records`. */
  records_rebuild: RecordsTable;
  registration_counters: RegistrationCountersTable;
  login_attempts: LoginAttemptsTable;
  files: FilesTable;
  file_uploaders: FileUploadersTable;
  file_references: FileReferencesTable;
  read_audit: ReadAuditTable;
  issuer_keys: IssuerKeysTable;
  checkpoints: CheckpointsTable;
  user_identities: UserIdentitiesTable;
  sign_on_requests: SignOnRequestsTable;
  sign_on_codes: SignOnCodesTable;
  credentials: CredentialsTable;
  exchange_audit: ExchangeAuditTable;
  exchange_codes: ExchangeCodesTable;
  exchange_sessions: ExchangeSessionsTable;
  hook_deliveries: HookDeliveriesTable;
  record_keys: RecordKeysTable;
  backup_runs: BackupRunsTable;
  adapter_state: AdapterStateTable;
  adapter_errors: AdapterErrorsTable;
  imports: ImportsTable;
  import_errors: ImportErrorsTable;
  cron_runs: CronRunsTable;
}

/** An adapter in's checkpoint, lease and counts (migration 0062). */
export interface AdapterStateTable {
  adapter: string;
  checkpoint: unknown;
  etag: string | null;
  leased_until: Timestamp | null;
  last_run_at: Timestamp | null;
  last_success_at: Timestamp | null;
  last_error: string | null;
  last_error_at: Timestamp | null;
  applied: ColumnType<string, string | number | undefined, string | number>;
  unchanged: ColumnType<string, string | number | undefined, string | number>;
  failed: ColumnType<string, string | number | undefined, string | number>;
}

export interface AdapterErrorsTable {
  id: Generated<string>;
  adapter: string;
  at: GeneratedTimestamp;
  item_key: string | null;
  message: string;
}

export interface ImportsTable {
  id: string;
  record_type: string;
  source: string;
  format: string;
  mapping: JsonColumn<Record<string, unknown>>;
  created_by: string;
  state: string;
  occurred_at: Timestamp;
  started_at: Generated<Timestamp>;
  finished_at: Timestamp | null;
  bytes_total: ColumnType<string | null, number | null, number | null>;
  bytes_done: ColumnType<string, number | undefined, number>;
  rows_done: Generated<number>;
  rows_imported: Generated<number>;
  rows_requested: Generated<number>;
  rows_already: Generated<number>;
  rows_failed: Generated<number>;
  message: string | null;
}

export interface ImportErrorsTable {
  import_id: string;
  row: number;
  row_key: string;
  field: string | null;
  message: string;
}

/** A scheduled job that completed (jobs/index.ts): kept 30 days. */
export interface CronRunsTable {
  task: string;
  scheduled_for: Timestamp;
  finished_at: GeneratedTimestamp;
}

export interface RecordKeysTable {
  record_id: string;
  record_type: string;
  kek_id: string;
  wrapped: Buffer | null;
  created_at: Generated<Timestamp>;
  erased_at: Timestamp | null;
  erased_by: string | null;
}

/** Signed Merkle roots over every record's head hash (migration 0040). */
export interface CheckpointsTable {
  id: string;
  created_at: Timestamp;
  root: string;
  records: ColumnType<string, number, never>;
  /** pg_snapshot, as text. */
  snapshot: string;
  kid: string;
  signature: string;
}

/** A person's account at the OpenID Connect provider, linked to a user (migration 0040). */
export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: GeneratedTimestamp;
}

/** A single sign-on under way: the provider has not redirected back yet. */
export interface SignOnRequestsTable {
  state: string;
  code_verifier: string;
  nonce: string;
  expires_at: Timestamp;
}

/** A one-time code handing a signed-on person to the web app, by its SHA-256. */
export interface SignOnCodesTable {
  code_hash: string;
  user_id: string;
  expires_at: Timestamp;
}

export interface ExchangeAuditTable {
  id: Generated<string>;
  at: Timestamp;
  consumer: string;
  subject_id: string;
  purpose: string | null;
  consent_id: string | null;
  fields: JsonColumn<unknown>;
  latencies: JsonColumn<unknown>;
}

export interface ExchangeCodesTable {
  consent_id: string;
  code_hash: string;
  expires_at: Timestamp;
  attempts: Generated<number>;
  created_at: GeneratedTimestamp;
}

export interface ExchangeSessionsTable {
  token_hash: string;
  subject_id: string;
  expires_at: Timestamp;
}

export interface BackupRunsTable {
  id: Generated<string>;
  kind: 'base-backup' | 'restore-test';
  label: string | null;
  ok: boolean;
  finished_at: GeneratedTimestamp;
  seconds: number;
  bytes: string | number | null;
  records: number | null;
  entries: number | null;
  differences: number | null;
  message: string | null;
}

export interface ReadAuditTable {
  id: Generated<string>;
  at: Timestamp;
  user_id: string;
  role: string;
  route: string;
  kind: 'read' | 'search' | 'export';
  record_ids: string[];
  query: JsonColumn<unknown> | null;
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type JsonColumn<T> = ColumnType<T, string, string>;

export interface ConfigurationsTable {
  version: string;
  document: JsonColumn<unknown>;
  loaded_at: GeneratedTimestamp;
}

export interface UsersTable {
  id: string;
  username: string;
  name: string;
  role: string;
  office_id: string;
  kind: 'user' | 'client';
  password_hash: string;
  active: Generated<boolean>;
  created_at: GeneratedTimestamp;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: GeneratedTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: JsonColumn<JsonWebKeyShape>;
  public_jwk: JsonColumn<JsonWebKeyShape>;
  created_at: GeneratedTimestamp;
}

export type JsonWebKeyShape = JWK;

export interface DevicesTable {
  id: string;
  user_id: string;
  ack_through: ColumnType<string, number, number>;
  created_at: GeneratedTimestamp;
  last_seen_at: GeneratedTimestamp;
}

export interface DeviceRejectionsTable {
  device_id: string;
  device_seq: ColumnType<string, number, number>;
  action_id: string;
  code: string;
  message: string;
  errors: JsonColumn<unknown> | null;
}

export interface EntriesTable {
  pos: Generated<string>;
  tx: Generated<string>;
  id: string;
  record_id: string;
  seq: number;
  record_type: string;
  type: string;
  body: JsonColumn<Record<string, unknown>>;
  /** Bytes of the body as PostgreSQL's JSON text; generated by the database. */
  body_bytes: ColumnType<number, never, never>;
  device_id: string | null;
  device_seq: ColumnType<string | null, number | null, never>;
  status: string;
  code: string | null;
  message: string | null;
  registration_number: string | null;
  created_by: string;
  created_by_role: string;
  created_at_location: string;
  recorded_at: Timestamp;
  config_version: string;
  /** The chain (migration 0011); null on entries stored before it. */
  hash: string | null;
  prev_hash: string | null;
}

export interface RecordsTable {
  id: string;
  type: string;
  status: string;
  flags: string[];
  tracking_id: string;
  registration_number: string | null;
  assigned_to: string | null;
  created_at_location: string;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  seq: number;
  name: string;
  state: JsonColumn<unknown>;
  /** The fold's carry (migration 0003); null on rows written before it. */
  fold: JsonColumn<unknown> | null;
  /** The hash of the record's last entry (migration 0011); null on rows written before it. */
  head_hash: string | null;
  /** What search and deduplication find the record by (core's searchKeys; migration 0010). */
  search_keys: Generated<string[]>;
}

export interface RegistrationCountersTable {
  key: string;
  value: ColumnType<string, number, number>;
}

export interface LoginAttemptsTable {
  id: Generated<string>;
  username: string;
  address: string;
  attempted_at: Timestamp;
  failed: Generated<boolean>;
}

export interface FilesTable {
  sha256: string;
  type: string;
  size: ColumnType<string, number, number>;
  first_uploaded_at: Timestamp;
  last_uploaded_at: Timestamp;
  condemned_at: Timestamp | null;
}

export interface FileUploadersTable {
  sha256: string;
  user_id: string;
  uploaded_at: Timestamp;
}

export interface FileReferencesTable {
  sha256: string;
  record_id: string;
  entry_id: string;
  kept: boolean;
}

export interface IssuerKeysTable {
  kid: string;
  private_jwk: JsonColumn<JsonWebKeyShape>;
  public_jwk: JsonColumn<JsonWebKeyShape>;
  created_at: GeneratedTimestamp;
  retired_at: Timestamp | null;
}

export interface CredentialsTable {
  id: string;
  record_id: string;
  record_type: string;
  issued_seq: number;
  issued_at: Timestamp;
  kid: string;
  status_list: number;
  status_index: number;
  jwt: string;
}

export interface HookDeliveriesTable {
  id: string;
  hook: string;
  record_id: string;
  entry_id: string;
  seq: number;
  state: Generated<'pending' | 'done'>;
  outcome: string | null;
  attempts: Generated<number>;
  next_attempt_at: GeneratedTimestamp;
  leased_until: Timestamp | null;
  last_error: string | null;
  created_at: GeneratedTimestamp;
  done_at: Timestamp | null;
}
