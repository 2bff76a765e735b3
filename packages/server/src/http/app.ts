import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlib } from 'node:zlib';
import { adapterRoutes } from '../routes/adapters.js';
import { authRoutes } from '../routes/auth.js';
import { certificateRoutes } from '../routes/certificates.js';
import { checkpointRoutes } from '../routes/checkpoints.js';
import { directoryRoutes } from '../routes/directory.js';
import { dciRoutes } from '../routes/dci.js';
import { exchangeRoutes } from '../routes/exchange.js';
import { fileRoutes } from '../routes/files.js';
import { hookRoutes } from '../routes/hooks.js';
import { importRoutes } from '../routes/imports.js';
import { operationRoutes } from '../routes/operations.js';
import { recordRoutes } from '../routes/records.js';
import { syncRoutes } from '../routes/sync.js';
import { userRoutes } from '../routes/users.js';
import { workqueueRoutes } from '../routes/workqueues.js';
import type { PoolStats } from '../db/database.js';
import type { AuthService } from '../services/auth.js';
import type { FileStorage } from '../services/files/storage.js';
import { Certificates } from '../services/certificates.js';
import { Credentials } from '../services/credentials.js';
import { DciService } from '../services/dci/index.js';
import { openExchange } from '../services/exchange.js';
import { Issuer } from '../services/issuer.js';
import { PdfRenderer } from '../services/pdf-renderer.js';
import type { Registry } from '../services/context.js';
import { ReadAudit } from '../services/read-audit.js';
import type { SignOn } from '../services/sign-on.js';
import { registerJsonParser } from './json.js';
import { auditReads } from './read-audit.js';
import { announceWritePositions } from './replica-reads.js';
import type { Metrics } from './metrics.js';
import { shedLoad } from './shedding.js';
import { Drain } from './drain.js';
import {
  handleClientError,
  handleError,
  handleFrameworkError,
  sendProblem,
  wasTimedOut,
} from './problem.js';

export interface AppOptions {
  registry: Registry;
  auth: AuthService;
  metrics: Metrics;
  /** Drains on shutdown (drain.ts): the server keeps it to close the app with. */
  drain?: Drain;
  /** Where file bytes live (PROTOCOL 9); without it, /api/v1/files is not served. */
  files?: FileStorage;
  logger?: FastifyServerOptions['logger'];
  /** Largest request body, after decompression. */
  bodyLimit?: number;
  /** The built web app to serve at `/` (default: packages/web/dist, when it has been built). */
  webRoot?: string;
  /** The database connection pool: with it, requests are shed when too many wait for it. */
  pool?: PoolStats;
  /** How many requests may wait for a database connection before new ones are shed. */
  maxWaiting?: number;
  /** Milliseconds a request (headers and body) may take to arrive; then 408. Default 30 s. */
  requestTimeout?: number;
  /**
   * The load balancers whose X-Forwarded-For gives the caller's address (login throttling counts
   * failures per address): addresses or CIDR ranges, comma-separated. Default: none.
   */
  trustProxy?: string;
  /** The read audit's writer (default: one on the registry's database, flushed on close). */
  readAudit?: ReadAudit;
  /** The deployment's public URL: the issuer of its credentials (REGISTRA_PUBLIC_URL). */
  publicUrl?: string;
  /** Where the DCI signing key and partners' callback URLs are read (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Chromium, which prints certificates (REGISTRA_CHROMIUM). */
  chromiumPath?: string;
  /** Single sign-on through an OpenID Connect provider, when configured. */
  signOn?: SignOn;
}

/** PROTOCOL 7: a request whose body has not arrived within 30 seconds is answered 408. */
export const REQUEST_TIMEOUT = 30_000;

/**
 * Content-Security-Policy of pages, assets and API answers (PROTOCOL 7). Tokens live in the web
 * app's IndexedDB, so no script may run but the app's own files: no inline script, no
 * eval, no other origin, no framing (clickjacking). upgrade-insecure-requests is left out: on a
 * plain-HTTP deployment in an office network it would send the app's requests to a port that does
 * not listen.
 */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    // Inline styles (not scripts): a certificate's template is an HTML document with its own
    // <style>, previewed in a sandboxed srcdoc frame, which takes this policy. The app's own
    // styles are files.
    styleSrc: ["'self'", "'unsafe-inline'"],
    // The certificate's PDF, printed from a frame on a blob: URL the app made.
    frameSrc: ["'self'", 'blob:'],
    // blob: previews of photos taken offline and of files read with a token (the SDK's blobs).
    imgSrc: ["'self'", 'data:', 'blob:'],
    fontSrc: ["'self'"],
    // blob: the app reads back the PDF it was handed (and tests read it the same way).
    connectSrc: ["'self'", 'blob:'],
    workerSrc: ["'self'"],
    manifestSrc: ["'self'"],
    objectSrc: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** About a second of queueing at the throughput of a small server (bench/README.md, Latency). */
const MAX_WAITING = 500;

const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/**
 * The PWA at `/`: its files, and index.html for any other page path so that deep links work.
 * The service worker script must not be cached by HTTP, or updates would not reach devices.
 */
async function serveWebApp(app: FastifyInstance, root: string, built: boolean): Promise<void> {
  if (!built) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>Registra</title><h1>Registra</h1>' +
            '<p>The API is running; the web app is not built (npm run build -w @registra/web). ' +
            'Contract: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    setHeaders: (res, file) => {
      if (/(sw\.js|workbox-[^/]*\.js|index\.html|manifest\.webmanifest)$/.test(file)) {
        res.header('cache-control', 'no-cache');
      }
    },
  });
}

/**
 * Zod schemas become JSON Schema in the OpenAPI document; a route that brings its own JSON Schema
 * (mercurius's GraphQL endpoint, PROTOCOL 12) keeps it as it is.
 */
const openApiTransform: typeof jsonSchemaTransform = (input) => {
  const { body, querystring, params, headers } = (input.schema ?? {}) as Record<string, unknown>;
  const parts = [body, querystring, params, headers].filter((part) => part !== undefined);
  const zod = parts.every((part) => typeof part === 'object' && part !== null && '_zod' in part);
  return zod ? jsonSchemaTransform(input) : { schema: input.schema, url: input.url };
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { registry, auth, metrics } = options;
  const requestTimeout = options.requestTimeout ?? REQUEST_TIMEOUT;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024,
    // Slow-body connections (slowloris) are answered 408 and closed once the request has taken
    // longer than this to arrive, headers included (handleClientError writes the 408). Node looks
    // for them every `connectionsCheckingInterval` (30 s by default, which would double the wait).
    requestTimeout,
    http: {
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 10))),
    },
    trustProxy: options.trustProxy || false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200 },
    // One line per answered request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    // While closing, requests on kept-alive connections are answered by the drain (drain.ts).
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by the services from the same schemas; serialising them needs no re-check.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(handleError);
  const webRoot = options.webRoot ?? WEB_DIST;
  const hasWebApp = existsSync(path.join(webRoot, 'index.html'));
  app.setNotFoundHandler((request, reply) => {
    // A page path of the web app (a deep link, a reload): the app itself answers it.
    const page =
      request.method === 'GET' &&
      !request.url.startsWith('/api/') &&
      (request.headers.accept ?? '').includes('text/html');
    if (hasWebApp && page) return reply.sendFile('index.html');
    const route = request.url.split('?')[0];
    return sendProblem(reply, 404, 'NOT_FOUND', `no route ${request.method} ${route}`);
  });
  registerJsonParser(app);

  // First among the hooks, so that every answer carries the headers, a shed 503 included.
  await app.register(helmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    // HSTS for this host only: a registry's domain may have subdomains that do not speak HTTPS.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  (options.drain ?? new Drain()).install(app);
  if (options.pool) shedLoad(app, options.pool, options.maxWaiting ?? MAX_WAITING);
  // A request whose caller hung up, or that the request timeout cut off, is never answered, so
  // onResponse never sees it: it is counted here.
  app.addHook('onRequestAbort', async (request) => {
    metrics.aborted.inc({
      route: request.routeOptions.url ?? 'unmatched',
      reason: wasTimedOut(request.raw.socket) ? 'timeout' : 'hang-up',
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    // Successful requests at debug: at the default level a terminal shows what needs a look.
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    request.log[level](
      { status, ms: Math.round(reply.elapsedTime) },
      `${request.method} ${request.url.split('?')[0]} ${status}`,
    );
    metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(compress, {
    global: true,
    threshold: 1024,
    encodings: ['br', 'gzip'],
    requestEncodings: ['gzip', 'deflate', 'br'],
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Registra API',
        version: '1',
        description: 'Offline-first, event-sourced public registers. Contract: PROTOCOL.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearer: [] }],
    },
    transform: openApiTransform,
  });

  const readAudit =
    options.readAudit ??
    new ReadAudit(registry.db, (error) =>
      app.log.error({ err: error }, 'read audit not written yet'),
    );
  auditReads(app, registry, readAudit);
  announceWritePositions(app, registry);
  app.addHook('onClose', () => readAudit.close());

  const issuer = new Issuer(
    registry.db,
    options.publicUrl ?? 'http://127.0.0.1:3000',
    registry.config.document.name,
  );
  const renderer = new PdfRenderer({ executablePath: options.chromiumPath ?? '/usr/bin/chromium' });
  app.addHook('onClose', () => renderer.close());
  const certificates = new Certificates(registry, new Credentials(registry, issuer), renderer);

  await app.register(authRoutes(auth, issuer, options.signOn));
  await app.register(certificateRoutes(auth, certificates));
  await app.register(syncRoutes(registry, auth, metrics));
  await app.register(recordRoutes(registry, auth));
  await app.register(checkpointRoutes(registry, auth));
  await app.register(directoryRoutes(registry, auth));
  await app.register(userRoutes(registry, auth));
  await app.register(workqueueRoutes(registry, auth));
  await app.register(operationRoutes(registry, auth, metrics));
  // PROTOCOL 12, when the configuration has an exchange; its Cedar policies are validated here.
  const exchange = await openExchange(registry, {
    publicUrl: options.publicUrl ?? 'http://127.0.0.1:3000',
    auth,
    // No message hook: the one-time code goes to the log, a development default (PROTOCOL 12).
    logCode: (line) => app.log.info(line, 'consent code (no message hook configured)'),
  });
  if (exchange) await app.register(exchangeRoutes(exchange));
  // Issue 16: the DCI registry API, when the configuration has `dci` and its signing key is set.
  const dci = await DciService.open(registry, options.env);
  if (dci) await app.register(dciRoutes(dci));
  if (options.files) await app.register(fileRoutes(registry, auth, options.files));
  await app.register(hookRoutes(registry, auth));
  await app.register(adapterRoutes(registry, auth));
  await app.register(importRoutes(registry, auth));

  await serveWebApp(app, webRoot, hasWebApp);
  return app;
}
