import { Counter, httpsServerOptions, type Logger, type Registry, type ServerTls } from '@personastream/runtime';
import type { StreamProducer } from '@personastream/stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IngestAppConfig } from '../config.js';
import type { ApiKeyStore } from '../core/api-keys.js';
import {
  createIngestService,
  type EndRunOutcome,
  type IngestOutcome,
  type IngestService,
  type IngestTopics,
} from '../service.js';
import type { EventShape } from '../steps/map-event.js';
import { coalescingProducer } from './coalescing-producer.js';
import { bodyCodingOf, gunzipCapped, InflatedTooLargeError } from './gunzip.js';
import { openApiDocument } from './openapi.js';
import type { RunCoordinator } from './run-coordinator.js';

export interface IngestAppDeps {
  producer: StreamProducer;
  keys: ApiKeyStore;
  logger: Logger;
  registry: Registry;
  topics?: Partial<IngestTopics>;
  /** Partition count of the events topic (end-of-run markers); default: the contract's default. */
  eventPartitions?: () => Promise<number>;
  /** Coordinates finite runs with the other replicas (Redis); default: in memory (one replica). */
  coordinator?: RunCoordinator;
  now?: () => number;
  /** Serve HTTPS with this certificate (see `loadServerTls`); default plain HTTP. */
  tls?: ServerTls;
}

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
  }
  interface FastifyInstance {
    ingest: IngestService;
  }
}

const ROUTES: ReadonlyArray<[string, EventShape]> = [
  ['events', 'native'],
  ['track', 'track'],
  ['page', 'page'],
  ['screen', 'screen'],
  ['identify', 'identify'],
  ['batch', 'segment'],
];

/**
 * The API key of a request: `Authorization: Bearer <key>`, `X-API-Key: <key>`, or HTTP Basic with
 * the key as user name (Segment's write-key convention).
 */
export function apiKeyOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const [scheme, value] = auth.split(/\s+/, 2);
    if (value && scheme?.toLowerCase() === 'bearer') return value;
    if (value && scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(0, colon) : decoded;
    }
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

function send(reply: FastifyReply, outcome: IngestOutcome | EndRunOutcome): FastifyReply {
  if (outcome.retryAfterS !== undefined) reply.header('retry-after', String(outcome.retryAfterS));
  return reply.code(outcome.status).send(outcome.body);
}

/**
 * The ingest HTTP API (fastify). Tenant: taken from the API key; the optional path form
 * `/v1/tenants/:tenant/…` must name the key's tenant (else 403), and so must any event's `tenant`.
 * Call `listen` on the result, or `inject` in tests.
 */
export function buildIngestApp(config: IngestAppConfig, deps: IngestAppDeps): FastifyInstance {
  const app = Fastify({
    // HTTPS when a certificate is configured (the instance's type is the same for both: cast once)
    ...((deps.tls ? { https: httpsServerOptions(deps.tls) } : {}) as object),
    // no per-request child loggers (a measurable share of the per-request cost); errors are logged below
    logger: false,
    bodyLimit: config.maxBytes,
    // run ids are up to 256 characters (fastify's default stops path parameters at 100: a 404)
    routerOptions: { maxParamLength: 1024 },
    // a load balancer in front may keep connections open for long
    keepAliveTimeout: 65_000,
  });
  // concurrent requests share produce calls (fewer, larger Kafka requests)
  const service = createIngestService(config, {
    ...deps,
    producer: coalescingProducer(deps.producer, { lingerMs: config.produceLingerMs }),
  });
  app.decorate('ingest', service);
  app.decorateRequest('tenant', '');
  app.addHook('onClose', async () => service.close());

  const decompressed =
    (deps.registry.getSingleMetric('ingest_decompressed_bytes_total') as Counter | undefined) ??
    new Counter({
      name: 'ingest_decompressed_bytes_total',
      help: 'Bytes inflated from gzip request bodies (an inflation stops just past INGEST_MAX_BYTES)',
      registers: [deps.registry],
    });
  const requests =
    (deps.registry.getSingleMetric('ingest_requests_total') as Counter | undefined) ??
    new Counter({
      name: 'ingest_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: [deps.registry],
    });
  app.addHook('onResponse', async (req, reply) => {
    requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  // Plain JSON.parse: nothing here copies parsed objects onto prototypes (no __proto__ poisoning
  // path), and it saves the second scan of every body that secure-json-parse makes.
  // Segment's browser library sends JSON as text/plain (no CORS preflight): parsed the same way.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new Error('body is not valid JSON') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status === 413) {
      const message =
        err instanceof InflatedTooLargeError ? err.message : `request body is larger than ${config.maxBytes} bytes`;
      return reply.code(413).send({ error: 'payload_too_large', message });
    }
    if (status === 415) return reply.code(415).send({ error: 'unsupported_media_type', message: err.message });
    if (status >= 400 && status < 500) return reply.code(status).send({ error: 'invalid_body', message: err.message });
    deps.logger.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const key = apiKeyOf(req);
    if (key === undefined) {
      reply.header('www-authenticate', 'Bearer realm="personastream"');
      return reply
        .code(401)
        .send({ error: 'unauthenticated', message: 'an API key is required (Authorization: Bearer <key>)' });
    }
    const tenant = deps.keys.tenantOf(key);
    if (tenant === undefined) {
      reply.header('www-authenticate', 'Bearer realm="personastream", error="invalid_token"');
      return reply.code(401).send({ error: 'unauthenticated', message: 'unknown API key' });
    }
    const pathTenant = (req.params as { tenant?: string }).tenant;
    if (pathTenant !== undefined && pathTenant !== tenant) {
      return reply.code(403).send({
        error: 'permission_denied',
        message: `this API key belongs to another tenant than "${pathTenant}"`,
      });
    }
    const encoding = req.headers['content-encoding'];
    if (bodyCodingOf(encoding) === 'unsupported') {
      return reply.code(415).send({
        error: 'unsupported_media_type',
        message: `content-encoding ${String(encoding)} is not supported (gzip and identity are)`,
      });
    }
    req.tenant = tenant;
  };

  // A gzip body is inflated as it streams in, and INGEST_MAX_BYTES applies to the inflated bytes
  // (413 as soon as they pass it; the compressed bytes are limited too, by fastify).
  const inflate = async (req: FastifyRequest, _reply: FastifyReply, payload: NodeJS.ReadableStream) => {
    if (bodyCodingOf(req.headers['content-encoding']) !== 'gzip') return payload;
    return gunzipCapped(payload, config.maxBytes, (stats) => decompressed.inc(stats.inflated));
  };
  const routeOptions = { onRequest: authenticate, preParsing: inflate };

  for (const [name, shape] of ROUTES) {
    const handler = async (req: FastifyRequest, reply: FastifyReply) =>
      send(reply, await service.ingest({ tenant: req.tenant, shape, body: req.body }));
    app.post(`/v1/${name}`, routeOptions, handler);
    app.post(`/v1/tenants/:tenant/${name}`, routeOptions, handler);
  }

  const endRun = async (req: FastifyRequest, reply: FastifyReply) => {
    const { runId } = req.params as { runId: string };
    return send(reply, await service.endRun(req.tenant, runId));
  };
  app.post('/v1/runs/:runId/end', routeOptions, endRun);
  app.post('/v1/tenants/:tenant/runs/:runId/end', routeOptions, endRun);

  const doc = openApiDocument({ maxBatch: config.maxBatch, maxBytes: config.maxBytes });
  app.get('/openapi.json', async () => doc);
  app.get('/healthz', async () => ({ status: 'ok', kafka: service.kafkaUp() ? 'up' : 'unavailable' }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  return app;
}
