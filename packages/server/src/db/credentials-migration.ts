import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Certificates' credentials (PROTOCOL 11). Issuer keys are kept apart from the keys that sign
 * access tokens, and never deleted: a retired key still verifies what it signed. A credential
 * row says which record state it was issued for (`issued_seq`) and where its status bits are;
 * the status itself is derived from the record's log after that seq, never stored.
 */
export const credentialsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      CREATE TABLE issuer_keys (
        kid text PRIMARY KEY,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      )`.execute(db);
    await sql`CREATE SEQUENCE credential_ordinal AS bigint MINVALUE 0 START 0`.execute(db);
    await sql`
      CREATE TABLE credentials (
        id uuid PRIMARY KEY,
        record_id uuid NOT NULL,
        record_type text NOT NULL,
        issued_seq integer NOT NULL,
        issued_at timestamptz NOT NULL,
        kid text NOT NULL REFERENCES issuer_keys (kid),
        status_list integer NOT NULL,
        status_index integer NOT NULL,
        jwt text NOT NULL,
        UNIQUE (status_list, status_index),
        UNIQUE (record_id, issued_seq)
      )`.execute(db);
  },
};
