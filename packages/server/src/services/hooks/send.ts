import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';

/** What an attempt got: the answer's status and (at most 64 KiB of) its body, or why none. */
export type Answer = { status: number; body: string } | { error: string };

const MAX_ANSWER_BYTES = 64 * 1024;

/** Keep-alive connections to the hooks, shared by every delivery of the process. */
const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });

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
 * on every attempt), `webhook-timestamp` and `webhook-signature` (without a signer, an adapter
 * out that names no secret, only `webhook-id`, the receivers' idempotency key). Redirects are not followed (an
 * answer like any other); a timeout or a refused connection is an error, never a throw.
 */
export async function postDelivery(
  url: string,
  signer: Webhook | undefined,
  deliveryId: string,
  body: string,
  timeoutMs: number,
  /** More headers (an adapter out's, issue 16); they cannot replace the ones above. */
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Answer> {
  const at = new Date();
  try {
    // undici's request, not fetch: a third of the CPU per delivery (bench/README.md, Hooks).
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        ...extraHeaders,
        'content-type': 'application/json',
        'user-agent': 'Registra-Hooks/1',
        'webhook-id': deliveryId,
        ...(signer
          ? {
              'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
              'webhook-signature': signer.sign(deliveryId, at, body),
            }
          : {}),
      },
      body,
    });
    return { status: response.statusCode, body: await readCapped(response.body) };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { error: `no answer within ${timeoutMs / 1000} s` };
    }
    return { error: code ? `no connection (${code})` : (error as Error).message };
  }
}

/** The answer's body as text, cut at MAX_ANSWER_BYTES: a hook cannot fill the server's memory. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}
