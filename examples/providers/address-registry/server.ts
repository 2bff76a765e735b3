/**
 * An example REST provider for the exchange (PROTOCOL 12): a legacy address registry that answers
 * `GET /addresses/{subjectId}` with the person's current address, or 404. The civil registry
 * example maps it into `currentAddress` with JSONata (examples/civil-registry/config.json).
 *
 *   PORT=4100 npx tsx examples/providers/address-registry/server.ts
 *   REGISTRA_ADDRESS_REGISTRY_URL=http://127.0.0.1:4100 npm start
 *
 * Its addresses are made up from the subject's id, the same every time. For tests of failures:
 * ADDRESS_REGISTRY_DELAY_MS delays every answer, and ADDRESS_REGISTRY_UNKNOWN (a comma-separated
 * list of ids) answers 404 for those.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const STREETS = ['Cha Cha Cha Road', 'Independence Avenue', 'Great East Road', 'Lumumba Road'];
const CITIES = ['Ibombo', 'Isamba', 'Ilanga', 'Irundu'];

export interface Address {
  line1: string;
  line2: string | null;
  city: string;
  postcode: string;
}

/** The made-up address of a subject. */
export function addressOf(subjectId: string): Address {
  const digest = createHash('sha256').update(subjectId).digest();
  const at = (i: number) => digest[i] ?? 0;
  return {
    line1: `${(at(0) % 200) + 1} ${STREETS[at(1) % STREETS.length]}`,
    line2: at(2) % 3 === 0 ? `Flat ${(at(3) % 20) + 1}` : null,
    city: CITIES[at(4) % CITIES.length] as string,
    postcode: String(10_000 + ((at(5) * 256 + at(6)) % 90_000)),
  };
}

export interface AddressRegistryOptions {
  port?: number;
  host?: string;
  delayMs?: number;
  unknown?: string[];
}

export function startAddressRegistry(options: AddressRegistryOptions = {}): Promise<Server> {
  const unknown = new Set(options.unknown ?? []);
  const server = createServer((request, response) => {
    const match = /^\/addresses\/([^/?]+)$/.exec(request.url ?? '');
    const answer = () => {
      if (request.method !== 'GET' || !match) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'not found' }));
        return;
      }
      const subjectId = decodeURIComponent(match[1] as string);
      if (unknown.has(subjectId)) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'no address for this person' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ subjectId, ...addressOf(subjectId) }));
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
  return new Promise((resolve) =>
    server.listen(options.port ?? 4100, options.host ?? '127.0.0.1', () => resolve(server)),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const server = await startAddressRegistry({
    port: Number(process.env.PORT ?? 4100),
    delayMs: Number(process.env.ADDRESS_REGISTRY_DELAY_MS ?? 0),
    unknown: (process.env.ADDRESS_REGISTRY_UNKNOWN ?? '').split(',').filter(Boolean),
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // One line a test (or a person) can read the address from.
  console.log(JSON.stringify({ provider: 'address-registry', url: `http://127.0.0.1:${port}` }));
}
