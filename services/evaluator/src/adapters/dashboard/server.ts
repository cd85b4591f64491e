/**
 * The dashboard's HTTP server (fastify): the page, its JSON API over a `ScoreSink`, and optionally
 * the ops endpoints (`/healthz`, `/metrics`) so the evaluator needs one port only.
 *
 *   GET /                  the dashboard (runs list, run detail: `/#run=<id>`)
 *   GET /api/runs          { runs: RunSummary[] }, most recent first (?limit=N, default 200)
 *   GET /api/runs/:id      RunReport without per-update rows; 404 { error } when unknown;
 *                          ?wait=MS waits up to MS for the run to complete (long poll)
 *   PUT /api/runs/:id/facts  { info?, baselines? }: run facts the streams do not carry (before the run)
 */
import type { Registry } from '@personastream/runtime';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RunFactsStore } from '../run-info.js';
import type { ScoreSink } from '../sink.js';
import { DASHBOARD_CSS, DASHBOARD_JS, INDEX_HTML } from './page.js';

export interface DashboardServerOptions {
  sink: ScoreSink;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Adds GET /metrics. */
  registry?: Registry;
  /** Adds GET /healthz (200 ok / 503). */
  health?: () => boolean | Promise<boolean>;
  /** Enables PUT /api/runs/:id/facts. */
  facts?: RunFactsStore;
  /** Enables ?wait=MS on GET /api/runs/:id: resolves when the run is complete and stored. */
  waitForRun?: (runId: string, timeoutMs: number) => Promise<unknown>;
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

/** Builds the fastify app (not listening); see {@link startDashboardServer}. */
export function buildDashboardApp(options: DashboardServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { sink } = options;

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
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

  app.get<{ Querystring: { limit?: string } }>('/api/runs', async (req, reply) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 200) || 200));
    try {
      return { runs: await sink.listRuns(limit) };
    } catch (err) {
      return reply.code(503).send({ error: `score store unavailable: ${(err as Error).message}` });
    }
  });

  app.get<{ Params: { id: string }; Querystring: { wait?: string } }>('/api/runs/:id', async (req, reply) => {
    const wait = Math.min(600_000, Math.max(0, Number(req.query.wait ?? 0) || 0));
    if (wait > 0 && options.waitForRun) {
      try {
        await options.waitForRun(req.params.id, wait);
      } catch {
        // not complete in time: answer from the store (404 while the run is unknown)
      }
    }
    try {
      const run = await sink.getRun(req.params.id, { updates: false });
      if (!run) return reply.code(404).send({ error: `run ${req.params.id} not found` });
      return run;
    } catch (err) {
      return reply.code(503).send({ error: `score store unavailable: ${(err as Error).message}` });
    }
  });

  if (options.facts) {
    const facts = options.facts;
    app.put<{ Params: { id: string }; Body: unknown }>('/api/runs/:id/facts', async (req, reply) => {
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
      facts.set(req.params.id, body as Parameters<RunFactsStore['set']>[1]);
      return reply.code(204).send();
    });
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
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    close: () => app.close(),
  };
}
