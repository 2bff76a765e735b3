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
  hook_deliveries: HookDeliveriesTable;
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
