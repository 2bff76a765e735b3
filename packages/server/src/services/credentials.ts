import {
  credentialClaims,
  credentialPayload,
  CredentialVerifier,
  encodeStatusList,
  parseStatusListId,
  statusEntries,
  statusListUrl,
  statusPosition,
  VC_CONTEXT,
  type CertificateConfig,
  type CredentialStatus,
  type RecordState,
  type VerificationResult,
} from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import {
  actionsAfterIssuance,
  insertCredential,
  latestCredential,
  nextCredentialOrdinal,
  recordActionsAfter,
  statusListExists,
  type CredentialRow,
} from '../store/credentials.js';
import type { Registry } from './context.js';
import type { Issuer } from './issuer.js';
import { ProblemError } from './problem.js';

/** What an action taken after issuance does to a credential: nothing, supersede or revoke. */
type Effect = 'superseded' | 'revoked' | null;

export class Credentials {
  readonly #verifier: CredentialVerifier;

  constructor(
    private readonly registry: Registry,
    readonly issuer: Issuer,
  ) {
    this.#verifier = new CredentialVerifier({
      keyFor: (kid) => issuer.publicKey(kid),
      statusOf: async (_entries, payload) => {
        const id = /^urn:uuid:([0-9a-f-]{36})$/.exec(String(payload['id'] ?? ''))?.[1];
        if (!id) return null;
        const rows = await actionsAfterIssuance(this.registry.db, { credentialId: id });
        return rows.length === 0 ? null : this.#statusOf(rows);
      },
    });
  }

  #certificateOf(recordType: string): CertificateConfig | undefined {
    return this.registry.config.document.certificates.find((c) => c.recordType === recordType);
  }

  /** ARCHIVE and the configured revocation actions revoke; an accepted CORRECT supersedes. */
  #effect(recordType: string, action: { type: string | null; customType: string | null }): Effect {
    if (action.type === null) return null;
    const name = action.type === 'CUSTOM' ? action.customType : action.type;
    if (action.type === 'ARCHIVE') return 'revoked';
    if (name && this.#certificateOf(recordType)?.revokedBy.includes(name)) return 'revoked';
    return action.type === 'CORRECT' ? 'superseded' : null;
  }

  #statusOf(rows: { recordType: string; type: string | null; customType: string | null }[]) {
    let status: CredentialStatus = 'active';
    for (const row of rows) {
      const effect = this.#effect(row.recordType, row);
      if (effect === 'revoked') return 'revoked';
      if (effect === 'superseded') status = 'superseded';
    }
    return status;
  }

  /**
   * The record's credential for its current state: the latest one while it is active, a new one
   * when a correction superseded it. A revoked registration gets none (409 REVOKED).
   */
  async forRecord(record: RecordState): Promise<CredentialRow> {
    const { db } = this.registry;
    const latest = await latestCredential(db, record.id);
    const since = await recordActionsAfter(db, record.id, latest?.issuedSeq ?? 0);
    const effects = since.map((action) => this.#effect(record.type, action));
    if (effects.includes('revoked') || record.status === 'ARCHIVED') {
      throw new ProblemError(
        409,
        'REVOKED',
        'this registration was revoked: no certificate can be issued for it',
      );
    }
    if (latest && !effects.includes('superseded')) return latest;
    return this.#issue(record);
  }

  async #issue(record: RecordState): Promise<CredentialRow> {
    const { db, config } = this.registry;
    const certificate = this.#certificateOf(record.type);
    if (!certificate) throw new Error(`no certificates for ${record.type}`);
    const { list, index } = statusPosition(await nextCredentialOrdinal(db));
    const id = uuidv7();
    const issuedAt = this.registry.now();
    const { jwt, kid } = await this.issuer.sign(
      credentialPayload({
        id,
        issuer: { id: this.issuer.id, name: config.document.name },
        record,
        claims: credentialClaims(certificate, record),
        validFrom: issuedAt.toISOString(),
        status: statusEntries(this.issuer.id, list, index),
      }),
    );
    return insertCredential(db, {
      id,
      recordId: record.id,
      recordType: record.type,
      issuedSeq: record.seq,
      issuedAt,
      kid,
      statusList: list,
      statusIndex: index,
      jwt,
    });
  }

  /** The signed Bitstring Status List credential of `listId`, or undefined if there is none. */
  async statusList(listId: string): Promise<string | undefined> {
    const parsed = parseStatusListId(listId);
    if (!parsed || !(await statusListExists(this.registry.db, parsed.number))) return undefined;
    const rows = await actionsAfterIssuance(this.registry.db, { list: parsed.number });
    const byCredential = new Map<string, typeof rows>();
    for (const row of rows) {
      const group = byCredential.get(row.credentialId) ?? [];
      group.push(row);
      byCredential.set(row.credentialId, group);
    }
    const set: number[] = [];
    const wanted: CredentialStatus = parsed.purpose === 'revocation' ? 'revoked' : 'superseded';
    for (const group of byCredential.values()) {
      const status = this.#statusOf(group);
      // A revoked credential is only marked revoked; its supersession bit says nothing more.
      if (status === wanted) set.push((group[0] as (typeof rows)[number]).statusIndex);
    }
    const url = statusListUrl(this.issuer.id, listId);
    const { jwt } = await this.issuer.sign({
      '@context': [VC_CONTEXT],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: { id: this.issuer.id, name: this.registry.config.document.name },
      validFrom: this.registry.now().toISOString(),
      credentialSubject: {
        id: `${url}#list`,
        type: 'BitstringStatusList',
        statusPurpose: parsed.purpose === 'revocation' ? 'revocation' : 'message',
        ...(parsed.purpose === 'supersession'
          ? {
              statusSize: 1,
              statusMessage: [
                { status: '0x0', message: 'active' },
                { status: '0x1', message: 'superseded' },
              ],
            }
          : {}),
        encodedList: await encodeStatusList(set),
      },
    });
    return jwt;
  }

  verify(credential: unknown): Promise<VerificationResult> {
    return this.#verifier.verify(typeof credential === 'string' ? credential : '');
  }
}
