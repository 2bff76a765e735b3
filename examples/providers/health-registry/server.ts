/**
 * An example GraphQL provider for the exchange (PROTOCOL 12): a ministry of health's registry that
 * answers `POST /graphql` with graphql-js (the reference implementation, already a dependency of
 * the exchange). Its schema:
 *
 *   type Query { person(registrationNumber: String!): HealthRecord }
 *   type HealthRecord { registrationNumber: String!, bloodGroup: String,
 *                       immunisations: [Immunisation!]! }
 *   type Immunisation { vaccine: String!, date: String! }
 *
 * A provider of kind `graphql` sends it its configured query with the variable `$subjectId`, for
 * example
 *
 *   { "id": "health-registry", "kind": "graphql", "urlEnv": "REGISTRA_HEALTH_REGISTRY_URL",
 *     "query": "query ($subjectId: String!) { person(registrationNumber: $subjectId) {
 *               bloodGroup immunisations { vaccine date } } }", "timeoutMs": 2000 }
 *
 * and maps the answer's `data` with JSONata (`person.bloodGroup`,
 * `$join(person.immunisations.vaccine, ', ')`).
 *
 *   PORT=4101 npx tsx examples/providers/health-registry/server.ts
 *
 * Its records are made up from the subject's id, the same every time. For tests of failures:
 * HEALTH_REGISTRY_DELAY_MS delays every answer, and HEALTH_REGISTRY_UNKNOWN (a comma-separated list
 * of ids) answers `person: null` for those.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSchema, graphql } from 'graphql';

const BLOOD_GROUPS = ['O+', 'O-', 'A+', 'A-', 'B+', 'B-', 'AB+', 'AB-'];
const VACCINES = ['BCG', 'OPV0', 'OPV1', 'DTP-HepB-Hib1', 'PCV1', 'Rotavirus1', 'Measles-Rubella1'];

const SCHEMA = buildSchema(`
  type Immunisation {
    vaccine: String!
    date: String!
  }
  type HealthRecord {
    registrationNumber: String!
    bloodGroup: String
    immunisations: [Immunisation!]!
  }
  type Query {
    person(registrationNumber: String!): HealthRecord
  }
`);

export interface HealthRecord {
  registrationNumber: string;
  bloodGroup: string;
  immunisations: { vaccine: string; date: string }[];
}

/** The made-up health record of a subject. */
export function healthRecordOf(registrationNumber: string): HealthRecord {
  const digest = createHash('sha256').update(`health:${registrationNumber}`).digest();
  const at = (i: number) => digest[i] ?? 0;
  const count = 1 + (at(1) % 3);
  return {
    registrationNumber,
    bloodGroup: BLOOD_GROUPS[at(0) % BLOOD_GROUPS.length] as string,
    immunisations: VACCINES.slice(0, count).map((vaccine, i) => ({
      vaccine,
      date: `2026-${String(1 + ((at(2) + i) % 12)).padStart(2, '0')}-${String(1 + (at(3) % 28)).padStart(2, '0')}`,
    })),
  };
}

export interface HealthRegistryOptions {
  port?: number;
  host?: string;
  delayMs?: number;
  unknown?: string[];
}

const MAX_BODY = 64 * 1024;

export function startHealthRegistry(options: HealthRegistryOptions = {}): Promise<Server> {
  const unknown = new Set(options.unknown ?? []);
  const root = {
    person: ({ registrationNumber }: { registrationNumber: string }) =>
      unknown.has(registrationNumber) ? null : healthRecordOf(registrationNumber),
  };
  const send = (response: import('node:http').ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/graphql') {
      send(response, 404, { errors: [{ message: 'not found: POST /graphql' }] });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      const answer = async () => {
        if (size > MAX_BODY) return send(response, 413, { errors: [{ message: 'too large' }] });
        let body: { query?: unknown; variables?: unknown };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          return send(response, 400, { errors: [{ message: 'the body is not JSON' }] });
        }
        if (typeof body.query !== 'string') {
          return send(response, 400, { errors: [{ message: 'no query' }] });
        }
        const result = await graphql({
          schema: SCHEMA,
          source: body.query,
          rootValue: root,
          variableValues:
            body.variables && typeof body.variables === 'object'
              ? (body.variables as Record<string, unknown>)
              : {},
        });
        send(response, result.errors && !result.data ? 400 : 200, result);
      };
      const run = () =>
        void answer().catch(() => send(response, 500, { errors: [{ message: 'failed' }] }));
      if (options.delayMs) setTimeout(run, options.delayMs);
      else run();
    });
  });
  return new Promise((resolve) =>
    server.listen(options.port ?? 4101, options.host ?? '127.0.0.1', () => resolve(server)),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const server = await startHealthRegistry({
    port: Number(process.env.PORT ?? 4101),
    delayMs: Number(process.env.HEALTH_REGISTRY_DELAY_MS ?? 0),
    unknown: (process.env.HEALTH_REGISTRY_UNKNOWN ?? '').split(',').filter(Boolean),
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // One line a test (or a person) can read the address from.
  console.log(
    JSON.stringify({ provider: 'health-registry', url: `http://127.0.0.1:${port}/graphql` }),
  );
}
