import type { DciConfig, DciPartnerConfig } from '@registra/core';
import type { JWK } from 'jose';
import { dciProblem } from '../problem.js';
import { verifyingKey, type VerifyingKey } from './envelope.js';
import { EnvelopeSchema, type Envelope } from './messages.js';

/** A partner and its registered key. */
export interface Partner {
  config: DciPartnerConfig;
  key: VerifyingKey;
  /** Where its callbacks go, or null when it has none. */
  callbackUrl: string | null;
}

export async function loadPartners(
  dci: DciConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Map<string, Partner>> {
  const partners = new Map<string, Partner>();
  for (const config of dci.partners) {
    const callback =
      config.callbackUrl ?? (config.callbackUrlEnv ? env[config.callbackUrlEnv] : undefined);
    partners.set(config.id, {
      config,
      key: await verifyingKey(config.publicJwk as JWK),
      callbackUrl: callback ? callback.replace(/\/+$/, '') : null,
    });
  }
  return partners;
}

/**
 * The envelope of a partner's request, checked: its shape, its action, a registered sender, this
 * registry as the receiver, and the sender's signature over header and message. Anything else is
 * refused whole, before the message is read.
 */
export async function receiveEnvelope(
  partners: ReadonlyMap<string, Partner>,
  registryId: string,
  body: unknown,
  action: string,
): Promise<{ partner: Partner; envelope: Envelope }> {
  const parsed = EnvelopeSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw dciProblem(
      400,
      'INVALID_INPUT',
      'err.request.bad',
      issue ? issue.path.join('.') : '',
      `not a DCI envelope: ${issue?.message ?? 'invalid'}`,
    );
  }
  const envelope = parsed.data;
  const { header } = envelope;
  if (header.action !== action)
    throw dciProblem(
      400,
      'DCI_ACTION_INVALID',
      'err.request.bad',
      'header.action',
      `the action here is "${action}"`,
    );
  const partner = partners.get(header.sender_id);
  if (!partner)
    throw dciProblem(
      401,
      'DCI_SENDER_UNKNOWN',
      'err.sender_id.invalid',
      'header.sender_id',
      'not a registered partner',
    );
  if (
    header.receiver_id !== undefined &&
    header.receiver_id !== '' &&
    header.receiver_id !== registryId
  )
    throw dciProblem(
      400,
      'DCI_RECEIVER_INVALID',
      'err.receiver_id.invalid',
      'header.receiver_id',
      `this registry is "${registryId}"`,
    );
  if (!envelope.signature)
    throw dciProblem(
      401,
      'DCI_SIGNATURE_MISSING',
      'err.signature.missing',
      'signature',
      'the request is not signed',
    );
  const valid = await partner.key.verify({
    signature: envelope.signature,
    header: body && typeof body === 'object' ? (body as { header: unknown }).header : header,
    message:
      body && typeof body === 'object' ? (body as { message: unknown }).message : envelope.message,
  });
  if (!valid)
    throw dciProblem(
      401,
      'DCI_SIGNATURE_INVALID',
      'err.signature.invalid',
      'signature',
      "the signature does not verify with the partner's registered key",
    );
  if (header.is_msg_encrypted === true)
    throw dciProblem(
      400,
      'DCI_ENCRYPTION_UNSUPPORTED',
      'err.encryption.invalid',
      'header.is_msg_encrypted',
      'send the message unencrypted over TLS',
    );
  return { partner, envelope };
}
