import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface OpsServerDeps {
  registry: Registry;
  /** Returns true while the service is healthy. */
  health: () => boolean | Promise<boolean>;
}

/**
 * The operational HTTP endpoints every service exposes: `GET /healthz` (200 ok / 503) and
 * `GET /metrics` (Prometheus text format).
 */
export async function startOpsServer(port: number, deps: OpsServerDeps, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        const ok = await deps.health();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy' }));
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        res.end(await deps.registry.metrics());
      } else {
        res.writeHead(404).end();
      }
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
