/**
 * The dashboard's HTTP server (fastify): the page, its JSON API over a `ScoreSink`, and optionally
 * the ops endpoints (`/healthz`, `/metrics`) so the evaluator needs one port only.
 *
 * A run is (tenant, run id): every path that names a run names its tenant.
 *
 *   GET /                                    the dashboard: runs (`/#tenant=T&run=R`), live view (`/#live=T`)
 *   GET /api/runs                            { runs: RunSummary[] }, most recent first (?limit=N, default
 *                                            200; ?tenant=T: that tenant's only)
 *   GET /api/tenants/:tenant/runs            the same, of one tenant
 *   GET /api/tenants/:tenant/runs/:runId     RunReport without per-update rows; 404 { error } when
 *                                            unknown; ?wait=MS waits up to MS for the run (long poll)
 *   PUT /api/tenants/:tenant/runs/:runId/facts  { info?, baselines? }: run facts the streams do not
 *                                            carry (before the run; for `live`: labeled_dimensions)
 *   GET /api/live                            { tenants: [{ tenant, last_ms }] }: tenants with live
 *                                            updates in the last ?hours=H (default 24)
 *   GET /api/tenants/:tenant/live            { tenant, from_ms, to_ms, minutes: LiveMinute[],
 *                                            tags: LiveTagShare[] }: the last ?minutes=M (default 60,
 *                                            at most 1440) up to ?to=MS (default now), per minute
 *
 * Every `/api/` request carries a bearer token (`Authorization: Bearer <token>`, see `AccessTokens`):
 * none or an unknown one → 401 { error, code: 'unauthenticated' }. A tenant token sees its own
 * tenant only — `/api/runs` and `/api/live` list its tenant's, a path or `?tenant=` naming another
 * tenant answers 403 { error, code: 'permission_denied' } (before any lookup, so it says nothing about
 * what the other tenant has) — and writes its own runs' facts; the admin token reads and writes all.
 * The page, its assets, `/healthz` and `/metrics` need no token (no tenant's data).
 *
 * Tenant ids in paths are checked (`tenantIdProblem`): 400 { error } when invalid.
 */
import { isLiveRun, tenantIdProblem } from '@personastream/contracts';
import { httpsServerOptions, type Registry, type ServerTls } from '@personastream/runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type AccessTokens, type Caller, mayAccess } from '../../core/access.js';
import { MINUTE_MS, minuteOf } from '../../core/live.js';
import type { RunFactsStore } from '../run-info.js';
import type { ScoreSink } from '../sink.js';
import { DASHBOARD_CSS, DASHBOARD_JS, INDEX_HTML } from './page.js';

export interface DashboardServerOptions {
  sink: ScoreSink;
  /** Bearer tokens of the JSON API (tenant tokens and the admin token). */
  access: AccessTokens;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Adds GET /metrics. */
  registry?: Registry;
  /** Adds GET /healthz (200 ok / 503). */
  health?: () => boolean | Promise<boolean>;
  /** Enables PUT /api/tenants/:tenant/runs/:runId/facts. */
  facts?: RunFactsStore;
  /** Enables ?wait=MS on GET /api/tenants/:tenant/runs/:runId: resolves when the run is complete and stored. */
  waitForRun?: (tenant: string, runId: string, timeoutMs: number) => Promise<unknown>;
  /** Clock of the live view's default range (default Date.now). */
  now?: () => number;
  /** Serve HTTPS with this certificate (see `loadServerTls`); default plain HTTP. */
  tls?: ServerTls;
}

export interface DashboardServer {
  url: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Routes that need no token: the page, its assets and the ops endpoints (no tenant's data). */
const PUBLIC_ROUTES = new Set(['/', '/dashboard.js', '/dashboard.css', '/favicon.ico', '/healthz', '/metrics']);

/** A whole number from a query string within [min, max], or the default. */
function intParam(v: string | undefined, def: number, min: number, max: number): number {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) ? def : Math.min(max, Math.max(min, Math.floor(n)));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of an `/api/` request (set by the token check). */
    caller?: Caller;
  }
}

/** The bearer token of a request, or undefined. */
function bearerOf(req: FastifyRequest): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** The request's caller, or a 401 sent and undefined. */
function authenticate(req: FastifyRequest, reply: FastifyReply, access: AccessTokens): Caller | undefined {
  const token = bearerOf(req);
  const caller = token === undefined ? undefined : access.callerOf(token);
  if (caller) return caller;
  const missing = req.headers.authorization === undefined;
  void reply
    .code(401)
    .header('www-authenticate', `Bearer realm="personastream"${missing ? '' : ', error="invalid_token"'}`)
    .send({
      error: missing ? 'a bearer token is required (Authorization: Bearer <token>)' : 'invalid bearer token',
      code: 'unauthenticated',
    });
  return undefined;
}

/**
 * Sends 400 when `tenant` is not a valid tenant id, 403 when the caller's token belongs to another
 * tenant; returns true when it sent one.
 */
function refuseTenant(tenant: string, req: FastifyRequest, reply: FastifyReply): boolean {
  const problem = tenantIdProblem(tenant);
  if (problem) {
    void reply.code(400).send({ error: `tenant id "${tenant}" ${problem}` });
    return true;
  }
  if (req.caller && mayAccess(req.caller, tenant)) return false;
  void reply.code(403).send({
    error: `this token belongs to another tenant than "${tenant}"`,
    code: 'permission_denied',
  });
  return true;
}

/** The tenant a listing is limited to: the caller's own, or for the admin token the one asked for. */
const ownTenant = (caller: Caller | undefined, asked: string | undefined) =>
  caller && !caller.admin ? caller.tenant : asked;

const storeDown = (reply: FastifyReply, err: unknown) =>
  reply.code(503).send({ error: `score store unavailable: ${(err as Error).message}` });

/** Builds the fastify app (not listening); see {@link startDashboardServer}. */
export function buildDashboardApp(options: DashboardServerOptions): FastifyInstance {
  // HTTPS when a certificate is configured (the instance's type is the same for both: cast once)
  const app = Fastify({
    logger: false,
    ...((options.tls ? { https: httpsServerOptions(options.tls) } : {}) as object),
  });
  const { sink } = options;
  const now = options.now ?? Date.now;

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  // every route needs a token except the public ones (closed by default: a new route is too)
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route === undefined ? !req.url.startsWith('/api/') : PUBLIC_ROUTES.has(route)) return;
    const caller = authenticate(req, reply, options.access);
    if (!caller) return reply;
    req.caller = caller;
  });

  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(INDEX_HTML),
  );
  app.get('/dashboard.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_JS),
  );
  app.get('/dashboard.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(DASHBOARD_CSS),
  );
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  const listRuns = async (reply: FastifyReply, limitParam: string | undefined, tenant?: string) => {
    try {
      return { runs: await sink.listRuns(intParam(limitParam, 200, 1, 1000), tenant) };
    } catch (err) {
      return storeDown(reply, err);
    }
  };
  app.get<{ Querystring: { limit?: string; tenant?: string } }>('/api/runs', async (req, reply) => {
    const tenant = req.query.tenant;
    if (tenant !== undefined && refuseTenant(tenant, req, reply)) return reply;
    return listRuns(reply, req.query.limit, ownTenant(req.caller, tenant));
  });
  app.get<{ Params: { tenant: string }; Querystring: { limit?: string } }>(
    '/api/tenants/:tenant/runs',
    async (req, reply) => {
      if (refuseTenant(req.params.tenant, req, reply)) return reply;
      return listRuns(reply, req.query.limit, req.params.tenant);
    },
  );

  app.get<{ Params: { tenant: string; runId: string }; Querystring: { wait?: string } }>(
    '/api/tenants/:tenant/runs/:runId',
    async (req, reply) => {
      const { tenant, runId } = req.params;
      if (refuseTenant(tenant, req, reply)) return reply;
      if (isLiveRun(runId)) {
        return reply.code(400).send({
          error: `the live run of tenant ${tenant} has no report: its metrics are per minute, GET /api/tenants/${tenant}/live`,
        });
      }
      const wait = intParam(req.query.wait, 0, 0, 600_000);
      if (wait > 0 && options.waitForRun) {
        try {
          await options.waitForRun(tenant, runId, wait);
        } catch {
          // not complete in time: answer from the store (404 while the run is unknown)
        }
      }
      try {
        const run = await sink.getRun(tenant, runId, { updates: false });
        if (!run) return reply.code(404).send({ error: `run ${runId} of tenant ${tenant} not found` });
        return run;
      } catch (err) {
        return storeDown(reply, err);
      }
    },
  );
  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req, reply) =>
    reply.code(404).send({
      error: `runs are per tenant: GET /api/tenants/{tenant}/runs/${encodeURIComponent(req.params.id)}`,
    }),
  );

  app.get<{ Querystring: { hours?: string } }>('/api/live', async (req, reply) => {
    const hours = intParam(req.query.hours, 24, 1, 24 * 31);
    try {
      const tenants = await sink.liveTenants(minuteOf(now()) - hours * 60 * MINUTE_MS);
      const own = ownTenant(req.caller, undefined);
      return { tenants: own === undefined ? tenants : tenants.filter((t) => t.tenant === own) };
    } catch (err) {
      return storeDown(reply, err);
    }
  });
  app.get<{ Params: { tenant: string }; Querystring: { minutes?: string; to?: string } }>(
    '/api/tenants/:tenant/live',
    async (req, reply) => {
      const { tenant } = req.params;
      if (refuseTenant(tenant, req, reply)) return reply;
      const minutes = intParam(req.query.minutes, 60, 1, 1440);
      const to = minuteOf(intParam(req.query.to, now(), 0, Number.MAX_SAFE_INTEGER)) + MINUTE_MS; // the current minute too
      const from = to - minutes * MINUTE_MS;
      try {
        const [perMinute, tags] = await Promise.all([
          sink.liveMinutes(tenant, from, to),
          sink.liveTags(tenant, from, to),
        ]);
        return { tenant, from_ms: from, to_ms: to, minutes: perMinute, tags };
      } catch (err) {
        return storeDown(reply, err);
      }
    },
  );

  if (options.facts) {
    const facts = options.facts;
    app.put<{ Params: { tenant: string; runId: string }; Body: unknown }>(
      '/api/tenants/:tenant/runs/:runId/facts',
      async (req, reply) => {
        if (refuseTenant(req.params.tenant, req, reply)) return reply;
        const body = req.body as { info?: unknown; baselines?: unknown } | null;
        if (!body || typeof body !== 'object' || Array.isArray(body)) {
          return reply.code(400).send({ error: 'body must be a JSON object { info?, baselines? }' });
        }
        if (body.info !== undefined && (typeof body.info !== 'object' || body.info === null)) {
          return reply.code(400).send({ error: 'info must be an object' });
        }
        if (body.baselines !== undefined && (typeof body.baselines !== 'object' || body.baselines === null)) {
          return reply.code(400).send({ error: 'baselines must be an object' });
        }
        try {
          await facts.set(req.params.tenant, req.params.runId, body as Parameters<RunFactsStore['set']>[2]);
        } catch (err) {
          req.log.error({ err }, 'run facts not stored');
          return reply.code(503).send({ error: 'the run facts could not be stored (ClickHouse); retry' });
        }
        return reply.code(204).send();
      },
    );
  }

  if (options.health) {
    const health = options.health;
    app.get('/healthz', async (_req, reply) => {
      const ok = await health();
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unhealthy' });
    });
  }
  if (options.registry) {
    const registry = options.registry;
    app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  return app;
}

/** Starts the dashboard on `host:port` (default 127.0.0.1); usable standalone (the CLI starts it). */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const app = buildDashboardApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    close: () => app.close(),
  };
}
