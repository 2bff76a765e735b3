import type { CertificateConfig } from '../config/certificates.js';
import type { RecordState } from '../contracts/record.js';
import type { StatusListPurpose } from './status-list.js';

export const VC_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** The JWT `typ` of a W3C credential secured as a JWT (VC-JOSE-COSE). */
export const VC_JWT_TYPE = 'vc+jwt';
export const CREDENTIAL_ALGORITHM = 'ES256';
/** The JWK member that says what a published key is for (`credential` or `access-token`). */
export const KEY_PURPOSE = 'purpose';

export interface StatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: 'revocation' | 'message';
  statusListIndex: string;
  statusListCredential: string;
  statusSize?: number;
  statusMessage?: { status: string; message: string }[];
}

/** The status list URL of a deployment: `<base>/api/v1/credentials/status/<listId>`. */
export function statusListUrl(baseUrl: string, listId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v1/credentials/status/${listId}`;
}

/** The listId at the end of a status list URL. */
export function statusListIdOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export function statusEntries(baseUrl: string, list: number, index: number): StatusListEntry[] {
  const entry = (purpose: StatusListPurpose): StatusListEntry => {
    const url = statusListUrl(baseUrl, `${purpose}-${list}`);
    return purpose === 'revocation'
      ? {
          id: `${url}#${index}`,
          type: 'BitstringStatusListEntry',
          statusPurpose: 'revocation',
          statusListIndex: String(index),
          statusListCredential: url,
        }
      : {
          id: `${url}#${index}`,
          type: 'BitstringStatusListEntry',
          statusPurpose: 'message',
          statusListIndex: String(index),
          statusListCredential: url,
          statusSize: 1,
          statusMessage: [
            { status: '0x0', message: 'active' },
            { status: '0x1', message: 'superseded' },
          ],
        };
  };
  return [entry('revocation'), entry('supersession')];
}

/** The configured claims of a record: claim name → the field's value as declared. */
export function credentialClaims(
  certificate: CertificateConfig,
  record: RecordState,
): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(certificate.claims)) {
    const value = record.declaration[field];
    if (value !== undefined && value !== null) claims[name] = value;
  }
  return claims;
}

/**
 * The credential as its JWT's claims set (VC-JOSE-COSE: the payload is the credential itself).
 * The subject is the registration: the record's id, type and number, and the configured claims.
 */
export function credentialPayload(options: {
  id: string;
  issuer: { id: string; name: string };
  record: RecordState;
  claims: Record<string, unknown>;
  validFrom: string;
  status: StatusListEntry[];
}): Record<string, unknown> {
  const { record } = options;
  return {
    '@context': [VC_CONTEXT],
    id: `urn:uuid:${options.id}`,
    type: ['VerifiableCredential', 'RegistrationCredential'],
    issuer: options.issuer,
    validFrom: options.validFrom,
    credentialSubject: {
      id: `urn:uuid:${record.id}`,
      recordType: record.type,
      registrationNumber: record.registrationNumber,
      ...options.claims,
    },
    credentialStatus: options.status,
  };
}
