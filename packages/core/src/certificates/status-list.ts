/**
 * Bitstring Status List (W3C): a credential's status is one bit at its index in a list that
 * verifiers fetch and cache. Registra keeps two lists side by side, with the same index for a
 * credential in both: `revocation-N` (statusPurpose "revocation") and `supersession-N`
 * (statusPurpose "message", 1: superseded by a later correction).
 *
 * The list is gzip-compressed with the platform's CompressionStream (Node and browsers alike),
 * so the core needs no compression package for it.
 */
export const STATUS_LIST_LENGTH = 131_072; // the specification's minimum, for herd privacy

export const STATUS_PURPOSES = ['revocation', 'supersession'] as const;
export type StatusListPurpose = (typeof STATUS_PURPOSES)[number];

export type CredentialStatus = 'active' | 'revoked' | 'superseded';

/** `revocation-3` → {purpose: 'revocation', number: 3}. */
export function parseStatusListId(
  listId: string,
): { purpose: StatusListPurpose; number: number } | undefined {
  const match = /^(revocation|supersession)-(0|[1-9][0-9]{0,8})$/.exec(listId);
  if (!match) return undefined;
  return { purpose: match[1] as StatusListPurpose, number: Number(match[2]) };
}

/** Where a credential's bits are: list number and index from its position in issuance order. */
export function statusPosition(ordinal: number): { list: number; index: number } {
  return { list: Math.floor(ordinal / STATUS_LIST_LENGTH), index: ordinal % STATUS_LIST_LENGTH };
}

async function transform(bytes: Uint8Array, stream: GenericTransformStream): Promise<Uint8Array> {
  const output = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}

function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The list's `encodedList`: bit 0 is the left-most bit of the first byte, the bytes gzipped,
 * base64url without padding, with the multibase prefix `u`.
 */
export async function encodeStatusList(set: Iterable<number>): Promise<string> {
  const bits = new Uint8Array(STATUS_LIST_LENGTH / 8);
  for (const index of set) {
    if (index >= 0 && index < STATUS_LIST_LENGTH) bits[index >> 3]! |= 0x80 >> (index & 7);
  }
  return `u${toBase64url(await transform(bits, new CompressionStream('gzip')))}`;
}

/** A decoded list: whether the bit at an index is set. Throws on a list it cannot read. */
export async function decodeStatusList(encoded: string): Promise<(index: number) => boolean> {
  if (!encoded.startsWith('u')) throw new Error('the encoded list has no multibase prefix "u"');
  const bits = await transform(fromBase64url(encoded.slice(1)), new DecompressionStream('gzip'));
  return (index) =>
    Number.isInteger(index) && index >= 0 && index < bits.length * 8
      ? ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0
      : false;
}
