/** The characters of a tracking id (Crockford base32). */
export const TRACKING_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CROCKFORD = TRACKING_ALPHABET;

/** Length of a tracking id: 12 Crockford base32 characters carry 60 bits. */
export const TRACKING_ID_LENGTH = 12;

/**
 * The tracking id a person reads out over the phone, derived from the record id so that a device
 * can show it offline. It takes the UUID's last 60 bits, which are random in UUIDv4 and UUIDv7:
 * at 100 million records the chance that any two share one is about 0.4%, and lookups by tracking
 * id tolerate that by returning every match.
 */
export function trackingIdOf(recordId: string): string {
  const hex = recordId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a UUID: ${recordId}`);
  let bits = BigInt(`0x${hex.slice(17)}`) & ((1n << 60n) - 1n);
  let id = '';
  for (let i = 0; i < TRACKING_ID_LENGTH; i++) {
    id = CROCKFORD[Number(bits & 31n)] + id;
    bits >>= 5n;
  }
  return id;
}

/** Normalises what a person typed: case, spaces, dashes and the letters Crockford maps (O→0, I/L→1). */
export function normaliseTrackingId(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}
