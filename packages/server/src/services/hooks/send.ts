import { Webhook } from 'standardwebhooks';

/** What an attempt got: the answer's status and (at most 64 KiB of) its body, or why none. */
export type Answer = { status: number; body: string } | { error: string };

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The signer of a hook's deliveries (PROTOCOL 8, Standard Webhooks): the key is the secret's UTF-8
 * bytes, or, for a secret written `whsec_<base64>`, the decoded bytes.
 */
export function webhookSigner(secret: string): Webhook {
  return secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(new TextEncoder().encode(secret), { format: 'raw' });
}

/**
 * POSTs one delivery with the Standard Webhooks headers: `webhook-id` (the delivery id, the same
 * on every attempt), `webhook-timestamp` and `webhook-signature`. Redirects are not followed (an
 * answer like any other); a timeout or a refused connection is an error, never a throw.
 */
export async function postDelivery(
  url: string,
  signer: Webhook,
  deliveryId: string,
  body: string,
  timeoutMs: number,
): Promise<Answer> {
  const at = new Date();
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Registra-Hooks/1',
        'webhook-id': deliveryId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(deliveryId, at, body),
      },
      body,
    });
    return { status: response.status, body: await readCapped(response) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { error: `no answer within ${timeoutMs / 1000} s` };
    }
    return { error: cause ? `no connection (${cause})` : (error as Error).message };
  }
}

/** The answer's body as text, cut at MAX_ANSWER_BYTES: a hook cannot fill the server's memory. */
async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}
