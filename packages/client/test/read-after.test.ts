import { expect, it } from 'vitest';
import { Transport } from '../src/transport.js';

/**
 * Read-your-writes through a replica (docs/protocol-notes.md): the SDK sends back the latest WAL
 * position a write's answer named, and never an older one.
 */
it('sends back the latest Registra-LSN it was given as Registra-Read-After', async () => {
  const sent: (string | null)[] = [];
  const answers = ['0/5000', null, '0/4FFF', '1/0', null];
  const transport = new Transport({
    baseUrl: 'http://registra.test',
    tokens: () => null,
    fetch: async (_input, init) => {
      sent.push(new Headers(init?.headers).get('registra-read-after'));
      const lsn = answers[sent.length - 1];
      return new Response('{}', {
        status: 200,
        headers: { 'content-type': 'application/json', ...(lsn ? { 'registra-lsn': lsn } : {}) },
      });
    },
  });
  for (let i = 0; i < answers.length; i++) await transport.request('GET', '/api/v1/records');
  // Nothing before the first write; then the highest position seen so far (0/4FFF < 0/5000).
  expect(sent).toEqual([null, '0/5000', '0/5000', '0/5000', '1/0']);
});
