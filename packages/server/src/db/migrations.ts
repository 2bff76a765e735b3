import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type pg from 'pg';
import { migrateJobQueue } from '../store/jobs.js';
import { credentialsMigration } from './credentials-migration.js';
import type { Database } from './schema.js';

/**
 * The schema, as ordered migrations kept in code so that the CLI and the tests migrate the same
 * way. A migration, once released, is never edited: add a new one.
 */
const migrations: Record<string, Migration> = {
  '0001_log_and_read_model': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
      await sql`CREATE EXTENSION IF NOT EXISTS btree_gin`.execute(db);

      await sql`
        CREATE TABLE configurations (
          version text PRIMARY KEY,
          document jsonb NOT NULL,
          loaded_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);

      await sql`
        CREATE TABLE users (
          id uuid PRIMARY KEY,
          username text NOT NULL UNIQUE,
          name text NOT NULL,
          role text NOT NULL,
          office_id text NOT NULL,
          kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'client')),
          password_hash text NOT NULL,
          active boolean NOT NULL DEFAULT true,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);

      await sql`
        CREATE TABLE refresh_tokens (
          id uuid PRIMARY KEY,
          user_id uuid NOT NULL REFERENCES users (id),
          family uuid NOT NULL,
          token_hash text NOT NULL UNIQUE,
          expires_at timestamptz NOT NULL,
          used_at timestamptz,
          revoked_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
      await sql`CREATE INDEX refresh_tokens_family ON refresh_tokens (family)`.execute(db);

      await sql`
        CREATE TABLE signing_keys (
          kid text PRIMARY KEY,
          private_jwk jsonb NOT NULL,
          public_jwk jsonb NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);

      await sql`
        CREATE TABLE devices (
          id uuid PRIMARY KEY,
          user_id uuid NOT NULL REFERENCES users (id),
          ack_through bigint NOT NULL DEFAULT 0,
          created_at timestamptz NOT NULL DEFAULT now(),
          last_seen_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);

      // Outcomes of actions rejected without being stored, so a resent action gets the same answer.
      await sql`
        CREATE TABLE device_rejections (
          device_id uuid NOT NULL REFERENCES devices (id),
          device_seq bigint NOT NULL,
          action_id uuid NOT NULL,
          code text NOT NULL,
          message text NOT NULL,
          errors jsonb,
          PRIMARY KEY (device_id, device_seq)
        )`.execute(db);

      // The log. (tx, pos) orders the change feed: readers only see transactions older than every
      // transaction still in flight (the snapshot's xmin), so a cursor never skips a late commit.
      await sql`
        CREATE TABLE entries (
          pos bigint GENERATED ALWAYS AS IDENTITY,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
          id uuid PRIMARY KEY,
          record_id uuid NOT NULL,
          seq integer NOT NULL CHECK (seq > 0),
          record_type text NOT NULL,
          type text NOT NULL,
          body jsonb NOT NULL,
          device_id uuid,
          device_seq bigint,
          status text NOT NULL CHECK (status IN ('accepted', 'requested', 'rejected')),
          code text,
          message text,
          registration_number text,
          created_by uuid NOT NULL,
          created_by_role text NOT NULL,
          created_at_location text NOT NULL,
          recorded_at timestamptz NOT NULL,
          config_version text NOT NULL,
          UNIQUE (record_id, seq)
        )`.execute(db);
      await sql`CREATE INDEX entries_feed ON entries (tx, pos)`.execute(db);

      await sql`
        CREATE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the log is append-only: % on entries is refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$`.execute(db);
      await sql`
        CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
        FOR EACH ROW EXECUTE FUNCTION refuse_log_change()`.execute(db);
      await sql`
        CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()`.execute(db);

      await createRecordsTable0001(db);

      await sql`
        CREATE TABLE registration_counters (
          key text PRIMARY KEY,
          value bigint NOT NULL
        )`.execute(db);
    },
  },

  // The status joins the name in the search index, so that a search within one status (a
  // registrar's queue) stops reading the heap rows of every other status: p95 at 1,000,000 records
  // went from 105 ms to about 50 (bench/README.md, Search).
  '0002_search_by_status_and_name': {
    async up(db: Kysely<unknown>) {
      await sql`CREATE EXTENSION IF NOT EXISTS btree_gin`.execute(db);
      await sql`DROP INDEX IF EXISTS records_name`.execute(db);
      await sql`CREATE INDEX records_name ON records USING gin (status, name gin_trgm_ops)`.execute(
        db,
      );
    },
  },

  // The fold's carry beside each record's state, so that an append folds one entry onto the
  // stored state instead of re-reading and re-folding the whole log (PROTOCOL 7). Rows written
  // before it have none until their next append, which folds their log once.
  '0003_fold_carry': {
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE records ADD COLUMN fold jsonb`.execute(db);
    },
  },

  // Login attempts still in their throttling window (PROTOCOL 7): in the database, so that every
  // API node counts the same attempts. A row is written before the password is checked and
  // deleted if it was right, so `failed = false` marks a check in progress. Rows older than the
  // longest window are pruned by the logins themselves (services/login-throttle.ts).
  '0004_login_attempts': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE login_attempts (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          username text NOT NULL,
          address text NOT NULL,
          attempted_at timestamptz NOT NULL,
          failed boolean NOT NULL DEFAULT false
        )`.execute(db);
      await sql`CREATE INDEX login_attempts_username ON login_attempts (username, attempted_at)`.execute(
        db,
      );
      await sql`CREATE INDEX login_attempts_address ON login_attempts (address, attempted_at)`.execute(
        db,
      );
      await sql`CREATE INDEX login_attempts_age ON login_attempts (attempted_at)`.execute(db);
    },
  },

  // Jobs added inside any transaction, the appending one included (jobs/index.ts): a row inserted
  // here is handed to graphile-worker's add_jobs by the statement trigger and deleted, so the job
  // commits or vanishes with the transaction. One add_jobs call per statement and key mode; of two
  // rows with one key in a statement the last wins (add_jobs would refuse both at once).
  // graphile-worker's schema is migrated before these migrations (store/jobs.ts).
  '0008_1_jobs': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE job_requests (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          task text NOT NULL,
          payload json NOT NULL,
          run_at timestamptz,
          job_key text,
          preserve_run_at boolean NOT NULL DEFAULT false,
          queue_name text,
          max_attempts integer,
          priority integer
        )`.execute(db);
      await sql`
        CREATE FUNCTION forward_job_requests() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          mode boolean;
          specs graphile_worker.job_spec[];
        BEGIN
          FOREACH mode IN ARRAY ARRAY[false, true] LOOP
            specs := ARRAY(
              SELECT ROW(task, payload, queue_name, run_at, max_attempts, job_key, priority,
                         NULL)::graphile_worker.job_spec
              FROM (SELECT DISTINCT ON (coalesce(job_key, id::text)) *
                    FROM added WHERE preserve_run_at = mode
                    ORDER BY coalesce(job_key, id::text), id DESC) AS latest
              ORDER BY job_key);
            IF cardinality(specs) > 0 THEN
              PERFORM graphile_worker.add_jobs(specs, mode);
            END IF;
          END LOOP;
          DELETE FROM job_requests WHERE id IN (SELECT id FROM added);
          RETURN NULL;
        END $$`.execute(db);
      await sql`
        CREATE TRIGGER job_requests_forward AFTER INSERT ON job_requests
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION forward_job_requests()`.execute(db);
    },
  },

  // PROTOCOL 10. Search and deduplication find records through one GIN index over keys that core's
  // searchKeys makes (name words exactly, by sound and by their deletion forms; identifier
  // fields), with the status beside them as in 0002; partial tracking ids through a trigram index.
  // The trigram index of `name` has no reader left. Rows written before this have no keys until
  // `registra rebuild` (verify lists them). Entries appended by the server itself (createdBy
  // "system") or on a hook's behalf ("hook:<id>") are not by a user: created_by becomes text
  // (only if it is still uuid, so that another migration may have done it first).
  // See bench/README.md, Search, for each index and its EXPLAIN.
  '0013_search_keys_and_deduplication': {
    async up(db: Kysely<unknown>) {
      await sql`
        DO $$ BEGIN
          IF (SELECT data_type FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'entries'
                AND column_name = 'created_by') = 'uuid' THEN
            ALTER TABLE entries ALTER COLUMN created_by TYPE text;
          END IF;
        END $$`.execute(db);
      await sql`ALTER TABLE records ADD COLUMN search_keys text[] NOT NULL DEFAULT '{}'`.execute(
        db,
      );
      await sql`DROP INDEX IF EXISTS records_name`.execute(db);
      await sql`CREATE INDEX records_search ON records USING gin (status, search_keys)`.execute(db);
      await sql`
        CREATE INDEX records_tracking_fragment ON records USING gin (tracking_id gin_trgm_ops)`.execute(
        db,
      );
    },
  },

  // The tamper-evident chain (PROTOCOL 13): each entry's hash over its canonical JSON with the
  // previous entry's hash, and each record's head, so that an append needs no earlier entry.
  // Entries stored before have no hash; the chain is computed over them where it is checked.
  '0011_hash_chain': {
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE entries ADD COLUMN hash text, ADD COLUMN prev_hash text`.execute(db);
      await sql`ALTER TABLE records ADD COLUMN head_hash text`.execute(db);
    },
  },

  // Who read what (PROTOCOL 13, read audit): append-only like the log. `record_ids` holds every
  // record a read, search or export answered with, so a record's audit is one GIN lookup.
  '0012_read_audit': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE read_audit (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          at timestamptz NOT NULL,
          user_id uuid NOT NULL,
          role text NOT NULL,
          route text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('read', 'search', 'export')),
          record_ids uuid[] NOT NULL,
          query jsonb
        )`.execute(db);
      await sql`CREATE INDEX read_audit_records ON read_audit USING gin (record_ids)`.execute(db);
      await sql`
        CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON read_audit
        FOR EACH ROW EXECUTE FUNCTION refuse_log_change()`.execute(db);
      await sql`
        CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON read_audit
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()`.execute(db);
    },
  },

  // Signed checkpoints (issue 14): a Merkle root over every record's head hash, signed with the
  // credential key, kept so that a copy held elsewhere proves the log was not rewritten since.
  // `snapshot` is the database snapshot the heads were read in, from which the leaves of an old
  // checkpoint are found again for inclusion proofs. Append-only like the log.
  '0040_checkpoints': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE checkpoints (
          id uuid PRIMARY KEY,
          created_at timestamptz NOT NULL,
          root text NOT NULL,
          records bigint NOT NULL,
          snapshot pg_snapshot NOT NULL,
          kid text NOT NULL,
          signature text NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX checkpoints_created ON checkpoints (created_at DESC, id DESC)`.execute(
        db,
      );
      await sql`
        CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
        FOR EACH ROW EXECUTE FUNCTION refuse_log_change()`.execute(db);
      await sql`
        CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()`.execute(db);
    },
  },

  // Single sign-on through an OpenID Connect provider (issue 14): a person's account at the
  // provider (issuer and subject) linked to one user; logins under way (state, PKCE verifier,
  // nonce), kept in the database so that any API node may receive the provider's redirect; and
  // the one-time codes that hand the signed-on person to the web app, which exchanges one for
  // Registra's own tokens. Codes are stored as their SHA-256 only.
  '0040_single_sign_on': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE user_identities (
          issuer text NOT NULL,
          subject text NOT NULL,
          user_id uuid NOT NULL REFERENCES users (id),
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (issuer, subject)
        )`.execute(db);
      await sql`
        CREATE TABLE sign_on_requests (
          state text PRIMARY KEY,
          code_verifier text NOT NULL,
          nonce text NOT NULL,
          expires_at timestamptz NOT NULL
        )`.execute(db);
      await sql`
        CREATE TABLE sign_on_codes (
          code_hash text PRIMARY KEY,
          user_id uuid NOT NULL REFERENCES users (id),
          expires_at timestamptz NOT NULL
        )`.execute(db);
    },
  },

  '0006_credentials': credentialsMigration,
  // The size of each entry's body as JSON text, computed once when it is appended, so that a
  // changes page can be cut at 4 MiB (PROTOCOL 7) without converting every candidate body to
  // text on every pull.
  '0005_entry_body_bytes': {
    async up(db: Kysely<unknown>) {
      await sql`
        ALTER TABLE entries
        ADD COLUMN body_bytes integer GENERATED ALWAYS AS (octet_length(body::text)) STORED`.execute(
        db,
      );
    },
  },

  // Data exchange (PROTOCOL 12). Consents are records like any other (type 'consent'); these
  // indexes find a consumer's latest consent about a subject, and a subject's consents. The audit
  // of every exchange is append-only like the log. One-time codes and the citizen's sessions are
  // kept as hashes only.
  '0020_exchange': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE INDEX records_consent_by_consumer ON records
        ((state->'declaration'->>'consumer'), (state->'declaration'->>'subjectId'), created_at DESC)
        WHERE type = 'consent'`.execute(db);
      await sql`
        CREATE INDEX records_consent_by_subject ON records ((state->'declaration'->>'subjectId'))
        WHERE type = 'consent'`.execute(db);
      await sql`
        CREATE TABLE exchange_audit (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          at timestamptz NOT NULL,
          consumer text NOT NULL,
          subject_id text NOT NULL,
          purpose text,
          consent_id uuid,
          fields jsonb NOT NULL,
          latencies jsonb NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX exchange_audit_subject ON exchange_audit (subject_id, id DESC)`.execute(
        db,
      );
      await sql`
        CREATE INDEX exchange_audit_consumer ON exchange_audit (consumer, id DESC)`.execute(db);
      await sql`
        CREATE TRIGGER exchange_audit_append_only BEFORE UPDATE OR DELETE ON exchange_audit
        FOR EACH ROW EXECUTE FUNCTION refuse_log_change()`.execute(db);
      await sql`
        CREATE TRIGGER exchange_audit_no_truncate BEFORE TRUNCATE ON exchange_audit
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()`.execute(db);
      await sql`
        CREATE TABLE exchange_codes (
          consent_id uuid NOT NULL,
          code_hash text NOT NULL,
          expires_at timestamptz NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (consent_id, code_hash)
        )`.execute(db);
      await sql`
        CREATE TABLE exchange_sessions (
          token_hash text PRIMARY KEY,
          subject_id text NOT NULL,
          expires_at timestamptz NOT NULL
        )`.execute(db);
    },
  },

  // Files (PROTOCOL 9). Bytes live in the file storage (a directory, or an S3 bucket) under their
  // SHA-256; a row here says they are held. `condemned_at` marks a file the cleanup is deleting:
  // from then on it counts as not held, until an upload of the same bytes takes it back.
  // Who uploaded a file may read it; `file_references` says which entries name it (`kept`: an
  // accepted or requested entry, which keeps it as long as the log).
  '0014_files': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE files (
          sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
          type text NOT NULL,
          size bigint NOT NULL CHECK (size >= 0),
          first_uploaded_at timestamptz NOT NULL,
          last_uploaded_at timestamptz NOT NULL,
          condemned_at timestamptz
        )`.execute(db);
      await sql`CREATE INDEX files_unreferenced ON files (last_uploaded_at)`.execute(db);
      await sql`
        CREATE TABLE file_uploaders (
          sha256 text NOT NULL REFERENCES files (sha256) ON DELETE CASCADE,
          user_id uuid NOT NULL,
          uploaded_at timestamptz NOT NULL,
          PRIMARY KEY (sha256, user_id)
        )`.execute(db);
      await sql`
        CREATE TABLE file_references (
          sha256 text NOT NULL,
          record_id uuid NOT NULL,
          entry_id uuid NOT NULL,
          kept boolean NOT NULL,
          PRIMARY KEY (sha256, entry_id)
        )`.execute(db);
      await sql`CREATE INDEX file_references_kept ON file_references (sha256) WHERE kept`.execute(
        db,
      );
    },
  },

  // PROTOCOL 8: hooks. Entries a hook causes are created by `hook:<id>`, not a user's uuid. The
  // outbox of deliveries is written in the appending transaction; a delivery is `pending` until
  // answered, a record's deliveries to one hook go out in seq order (the head first), and a lease
  // keeps two workers off one delivery (a killed worker's lease runs out; services/hooks/sweep.ts).
  '0015_hook_deliveries': {
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE entries ALTER COLUMN created_by TYPE text`.execute(db);
      await sql`
        CREATE TABLE hook_deliveries (
          id uuid PRIMARY KEY,
          hook text NOT NULL,
          record_id uuid NOT NULL,
          entry_id uuid NOT NULL,
          seq integer NOT NULL,
          state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
          outcome text,
          attempts integer NOT NULL DEFAULT 0,
          next_attempt_at timestamptz NOT NULL DEFAULT now(),
          leased_until timestamptz,
          last_error text,
          created_at timestamptz NOT NULL DEFAULT now(),
          done_at timestamptz,
          UNIQUE (hook, entry_id)
        )`.execute(db);
      await sql`
        CREATE INDEX hook_deliveries_head ON hook_deliveries (hook, record_id, seq)
        WHERE state = 'pending'`.execute(db);
      await sql`
        CREATE INDEX hook_deliveries_due ON hook_deliveries (next_attempt_at)
        WHERE state = 'pending'`.execute(db);
      await sql`CREATE INDEX hook_deliveries_record ON hook_deliveries (record_id)`.execute(db);
      await sql`CREATE INDEX hook_deliveries_list ON hook_deliveries (hook, state, id)`.execute(db);
    },
  },
  // Envelope encryption (PROTOCOL 13): each record's data key, wrapped by a key-encryption key
  // that is kept outside the database (services/vault). Erasure sets `wrapped` to null.
  '0050_record_keys': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE record_keys (
          record_id uuid PRIMARY KEY,
          record_type text NOT NULL,
          kek_id text NOT NULL,
          wrapped bytea,
          created_at timestamptz NOT NULL DEFAULT now(),
          erased_at timestamptz,
          erased_by text,
          CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
        )`.execute(db);
      await sql`CREATE INDEX record_keys_kek ON record_keys (kek_id) WHERE wrapped IS NOT NULL`.execute(
        db,
      );
    },
  },

  // What backups did (backup/): each base backup taken and each restore test, with its outcome,
  // so that every API node reports the latest in its metrics, whichever process did the work.
  '0030_backup_runs': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE backup_runs (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          kind text NOT NULL CHECK (kind IN ('base-backup', 'restore-test')),
          label text,
          ok boolean NOT NULL,
          finished_at timestamptz NOT NULL DEFAULT now(),
          seconds double precision NOT NULL,
          bytes bigint,
          records integer,
          entries integer,
          differences integer,
          message text
        )`.execute(db);
      await sql`CREATE INDEX backup_runs_latest ON backup_runs (kind, finished_at DESC)`.execute(
        db,
      );
    },
  },

  // Bulk imports (services/imports): one row per import source, its progress and outcome, and the
  // per-row errors to download. Rows land as ordinary entries; these tables only report on them.
  '0060_imports': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE imports (
          id uuid PRIMARY KEY,
          record_type text NOT NULL,
          source text NOT NULL,
          format text NOT NULL CHECK (format IN ('csv', 'jsonl')),
          mapping jsonb NOT NULL,
          created_by uuid NOT NULL,
          state text NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed')),
          occurred_at timestamptz NOT NULL,
          started_at timestamptz NOT NULL DEFAULT now(),
          finished_at timestamptz,
          bytes_total bigint,
          bytes_done bigint NOT NULL DEFAULT 0,
          rows_done integer NOT NULL DEFAULT 0,
          rows_imported integer NOT NULL DEFAULT 0,
          rows_requested integer NOT NULL DEFAULT 0,
          rows_already integer NOT NULL DEFAULT 0,
          rows_failed integer NOT NULL DEFAULT 0,
          message text
        )`.execute(db);
      await sql`
        CREATE TABLE import_errors (
          import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
          row integer NOT NULL,
          row_key text NOT NULL,
          field text,
          message text NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX import_errors_row ON import_errors (import_id, row)`.execute(db);
    },
  },

  // The DCI registry API (issue 16): partners' subscriptions to life events, and the outbox of
  // callbacks to partners (on-search, on-subscribe, on-unsubscribe, notify), each sent by a job
  // and retried until the partner answers 2xx; `response` keeps what was answered for txn/status.
  '0061_dci': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE dci_subscriptions (
          code text PRIMARY KEY,
          partner text NOT NULL,
          record_type text NOT NULL,
          event text NOT NULL,
          transaction_id text NOT NULL,
          reference_id text NOT NULL,
          criteria jsonb NOT NULL,
          status text NOT NULL DEFAULT 'subscribe' CHECK (status IN ('subscribe', 'unsubscribe')),
          created_at timestamptz NOT NULL DEFAULT now(),
          ended_at timestamptz
        )`.execute(db);
      await sql`
        CREATE INDEX dci_subscriptions_event ON dci_subscriptions (record_type, event)
        WHERE status = 'subscribe'`.execute(db);
      await sql`CREATE INDEX dci_subscriptions_partner ON dci_subscriptions (partner, transaction_id)`.execute(
        db,
      );
      await sql`
        CREATE TABLE dci_callbacks (
          id uuid PRIMARY KEY,
          partner text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('on-search', 'on-subscribe', 'on-unsubscribe', 'notify')),
          transaction_id text NOT NULL,
          correlation_id text NOT NULL,
          payload jsonb NOT NULL,
          response jsonb,
          state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
          attempts integer NOT NULL DEFAULT 0,
          last_error text,
          created_at timestamptz NOT NULL DEFAULT now(),
          done_at timestamptz
        )`.execute(db);
      await sql`CREATE INDEX dci_callbacks_partner ON dci_callbacks (partner, transaction_id)`.execute(
        db,
      );
    },
  },

  // Adapters in (issue 16): each one's checkpoint in the external source (what its expressions
  // made of the last page, and the page's ETag), a lease that keeps two runs apart, what its runs
  // did, and the latest errors, for administrators. Adapters out keep theirs in hook_deliveries.
  '0062_adapters': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE adapter_state (
          adapter text PRIMARY KEY,
          checkpoint jsonb,
          etag text,
          leased_until timestamptz,
          last_run_at timestamptz,
          last_success_at timestamptz,
          last_error text,
          last_error_at timestamptz,
          applied bigint NOT NULL DEFAULT 0,
          unchanged bigint NOT NULL DEFAULT 0,
          failed bigint NOT NULL DEFAULT 0
        )`.execute(db);
      await sql`
        CREATE TABLE adapter_errors (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          adapter text NOT NULL,
          at timestamptz NOT NULL DEFAULT now(),
          item_key text,
          message text NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX adapter_errors_latest ON adapter_errors (adapter, id DESC)`.execute(
        db,
      );
    },
  },

  '0065_cron_runs': {
    async up(db) {
      // Each scheduled job that completed, with the time it was scheduled for (jobs/index.ts).
      await sql`
        CREATE TABLE cron_runs (
          task text NOT NULL,
          scheduled_for timestamptz NOT NULL,
          finished_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
      await sql`CREATE INDEX cron_runs_task ON cron_runs (task, scheduled_for DESC)`.execute(db);
    },
  },

  // The async transaction status of the DCI API (issue 16): its answer is a callback of its own
  // kind (`/registry/txn/on-status`), sent through the same outbox.
  '0066_dci_txn_status': {
    async up(db) {
      await sql`ALTER TABLE dci_callbacks DROP CONSTRAINT dci_callbacks_kind_check`.execute(db);
      await sql`
        ALTER TABLE dci_callbacks ADD CONSTRAINT dci_callbacks_kind_check
        CHECK (kind IN ('on-search', 'on-subscribe', 'on-unsubscribe', 'notify', 'txn-on-status'))`.execute(
        db,
      );
    },
  },

  // A notification the subject's consent does not permit (no consent, or one revoked, expired or
  // rejected) is settled `withheld`, its code in last_error: nothing of it is sent, and it is not
  // retried (services/dci/callbacks.ts).
  '0070_dci_callback_withheld': {
    async up(db) {
      await sql`ALTER TABLE dci_callbacks DROP CONSTRAINT dci_callbacks_state_check`.execute(db);
      await sql`
        ALTER TABLE dci_callbacks ADD CONSTRAINT dci_callbacks_state_check
        CHECK (state IN ('pending', 'done', 'withheld'))`.execute(db);
    },
  },
};

/** The read model's table as migration 0001 made it. Frozen with the migration. */
async function createRecordsTable0001(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE records (
      id uuid PRIMARY KEY,
      type text NOT NULL,
      status text NOT NULL,
      flags text[] NOT NULL,
      tracking_id text NOT NULL,
      registration_number text,
      assigned_to uuid,
      created_at_location text NOT NULL,
      created_by uuid NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      seq integer NOT NULL,
      name text NOT NULL,
      state jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX records_queue ON records (type, status, updated_at DESC, id)`.execute(db);
  await sql`CREATE INDEX records_updated ON records (updated_at DESC, id)`.execute(db);
  await sql`CREATE INDEX records_flags ON records USING gin (flags)`.execute(db);
  await sql`CREATE INDEX records_tracking ON records (tracking_id)`.execute(db);
  await sql`CREATE INDEX records_registration ON records (registration_number)`.execute(db);
  await sql`CREATE INDEX records_assigned ON records (assigned_to)`.execute(db);
  await sql`CREATE INDEX records_location ON records (created_at_location)`.execute(db);
  await sql`CREATE INDEX records_name ON records USING gin (name gin_trgm_ops)`.execute(db);
}

class InlineProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * The key of the session-level advisory lock that migrations take (`pg_advisory_lock`): several
 * API nodes starting at once against one database migrate one after another, and each after the
 * first finds nothing left to do. A fixed number, the same for every Registra of every version.
 */
export const MIGRATION_LOCK = 7_352_019_001;

/**
 * Migrates a database: graphile-worker's schema first (the job queue: migration 0008_1 forwards
 * jobs to it), then Registra's. Takes the pool as well, which graphile-worker's migrations need.
 *
 * Both run under one advisory lock, held by a connection of its own for the whole run, so that
 * nodes that start together run each migration exactly once. Kysely's Migrator refuses to run a
 * migration whose name sorts before one already run ("corrupted migrations"); that stays so on
 * purpose: a migration added late must sort after every landed one (hence each branch's prefix),
 * so that every database runs the same migrations in the same order.
 */
export async function migrate({
  db,
  pool,
}: {
  db: Kysely<Database>;
  pool: pg.Pool;
}): Promise<string[]> {
  const holder = await pool.connect();
  let lost: Error | undefined;
  try {
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrateJobQueue(pool);
    const migrator = new Migrator({ db, provider: new InlineProvider() });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    // A session that cannot unlock is gone, and its lock with it: it is not given back to the pool.
    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch((e: unknown) => {
      lost = e instanceof Error ? e : new Error(String(e));
    });
    holder.release(lost);
  }
}
