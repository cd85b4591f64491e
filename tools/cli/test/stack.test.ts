import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { createPersonaClient } from '@personastream/persona';
import { Analytics } from '@segment/analytics-node';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `personastream stack up|status|down` through the built CLI (`npm run build` first), as a platform
 * engineer runs it: detached services that outlive the command, per-tenant credentials, and nothing
 * left running after `down`. Private topics, groups, keys and database (`--isolate`), ports
 * 24300–24305 (this test's range is 24000–24999), state in a temporary folder.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'tools', 'cli', 'dist', 'main.js');
const PORT_BASE = 24300;
const dir = mkdtempSync(join(tmpdir(), 'ps-stack-test-'));
const isolate = `it-${randomBytes(3).toString('hex')}`;
const env = { ...process.env, PS_STACK_DIR: dir, PS_STACK_PORT_BASE: String(PORT_BASE), LOG_LEVEL: 'info' };

function cli(args: string[], timeoutMs = 110_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const lastLine = (s: string) => JSON.parse(s.trim().split('\n').pop() ?? '');

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

const segmentEvent = (userId: string) => ({
  type: 'track',
  event: 'Product Viewed',
  userId,
  messageId: `m-${randomBytes(6).toString('hex')}`,
  timestamp: new Date().toISOString(),
  properties: { product_id: 'sku-1', category: 'Sports > Running', brand: 'Acme', price: 89.9, currency: 'EUR' },
});

afterAll(async () => {
  // a failed assertion must not leave services behind
  await cli(['stack', 'down', '--purge'], 60_000);
  rmSync(dir, { recursive: true, force: true });
});

describe('stack up / status / down', () => {
  it('runs the four services for two tenants, serves them, and stops everything', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
    const up = await cli(['stack', 'up', '--tenant', 'acme', '--tenant', 'globex', '--isolate', isolate, '--json']);
    expect(up.code, up.stderr).toBe(0);
    const summary = lastLine(up.stdout) as {
      ingest: string;
      persona: string;
      evaluator: string;
      evaluator_admin_token: string;
      tenants: Record<string, { ingest_key: string; persona_token: string; evaluator_token: string }>;
    };
    expect(summary.ingest).toBe(`http://127.0.0.1:${PORT_BASE}`);
    expect(summary.persona).toBe(`127.0.0.1:${PORT_BASE + 2}`);
    expect(summary.evaluator).toBe(`http://127.0.0.1:${PORT_BASE + 4}`);
    expect(Object.keys(summary.tenants).sort()).toEqual(['acme', 'globex']);
    const acme = summary.tenants.acme!;
    const globex = summary.tenants.globex!;
    expect(acme.ingest_key).not.toBe(globex.ingest_key);
    expect(acme.persona_token).not.toBe(acme.ingest_key);

    // the CLI has exited: the services outlived it
    // ingest: 401 without a key or with an unknown one, 200 with the tenant's key (Bearer and Segment's Basic)
    const batch = (auth: Record<string, string>, body: unknown) =>
      fetch(`${summary.ingest}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(body),
      });
    expect((await batch({}, { batch: [] })).status).toBe(401);
    expect((await batch({ authorization: 'Bearer psk_wrong-key-000' }, { batch: [] })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${acme.ingest_key}:`).toString('base64')}`;
    const accepted = await batch({ authorization: basic }, { batch: [segmentEvent(`u-${isolate}`)] });
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { accepted: number }).accepted).toBe(1);
    const bearer = await batch({ authorization: `Bearer ${globex.ingest_key}` }, { batch: [] });
    expect(bearer.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${PORT_BASE + 1}/healthz`)).status).toBe(200);

    // persona: the tenant's token authenticates (NotFound for an unknown user), another tenant's is refused
    const code = async (token: string, tenant: string) => {
      const client = createPersonaClient(summary.persona, token);
      try {
        await client.getPersona({ tenant, userId: `nobody-${isolate}` }, { timeoutMs: 10_000 });
        return grpcStatus.OK;
      } catch (err) {
        return (err as ServiceError).code;
      } finally {
        client.close();
      }
    };
    expect(await code(acme.persona_token, 'acme')).toBe(grpcStatus.NOT_FOUND);
    expect(await code(globex.persona_token, 'globex')).toBe(grpcStatus.NOT_FOUND);
    expect(await code('pst_wrong', 'acme')).toBe(grpcStatus.UNAUTHENTICATED);
    expect(await code(globex.persona_token, 'acme')).toBe(grpcStatus.PERMISSION_DENIED);

    // evaluator: 401 without its token (another service's token is not one), a tenant's token reads
    // its own tenant only (403 for another's), the admin token every tenant's
    expect((await fetch(`${summary.evaluator}/healthz`)).status).toBe(200);
    const api = (path: string, token?: string) =>
      fetch(`${summary.evaluator}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await api('/api/runs')).status).toBe(401);
    expect((await api('/api/runs', acme.persona_token)).status).toBe(401);
    expect((await api('/api/tenants/acme/runs', acme.evaluator_token)).status).toBe(200);
    expect((await api('/api/tenants/acme/runs', globex.evaluator_token)).status).toBe(403);
    expect((await api('/api/tenants/globex/runs', summary.evaluator_admin_token)).status).toBe(200);

    // a real Segment client: a finished session becomes a persona within 60 s, with the defaults
    // (30 min gap: the session is still open, so an early update shows it)
    const analytics = new Analytics({
      writeKey: acme.ingest_key,
      host: summary.ingest,
      path: '/v1/batch',
      flushAt: 20,
      flushInterval: 200,
    });
    const shopper = `shopper-${isolate}`;
    const sessionStart = Date.now() - 5 * 60_000;
    const delivered = Array.from(
      { length: 8 },
      (_, k) =>
        new Promise<void>((done, fail) =>
          analytics.track(
            {
              userId: shopper,
              event: k === 7 ? 'Order Completed' : 'Product Viewed',
              timestamp: new Date(sessionStart + k * 30_000),
              properties: {
                product_id: `sku-${k % 3}`,
                category: 'Sports > Running',
                brand: 'Acme',
                price: 89.9,
                dwell_ms: 20_000,
              },
            },
            (err) => (err ? fail(err) : done()),
          ),
        ),
    );
    await analytics.closeAndFlush();
    await Promise.all(delivered);
    const sentAt = Date.now();
    const reader = createPersonaClient(summary.persona, acme.persona_token);
    let persona: Awaited<ReturnType<typeof reader.getPersona>>['persona'];
    while (!persona && Date.now() - sentAt < 60_000) {
      persona = await reader.getPersona({ tenant: 'acme', userId: shopper }, { timeoutMs: 5_000 }).then(
        (r) => r.persona,
        () => undefined,
      );
      if (!persona) await new Promise((r) => setTimeout(r, 500));
    }
    reader.close();
    expect(persona?.eventsSeen, 'a persona within 60 s of the session').toBe(8);
    expect(persona?.early).toBe(true);

    // up again: the same answer, nothing restarted
    const status1 = lastLine((await cli(['stack', 'status', '--json'])).stdout) as {
      running: boolean;
      services: Record<string, { pid: number; running: boolean; healthy: boolean; ports: number[] }>;
      tenants: string[];
    };
    const again = await cli(['stack', 'up', '--tenant', 'acme', '--json']);
    expect(again.code).toBe(0);
    expect(lastLine(again.stdout)).toEqual(summary);
    expect(again.stderr).toMatch(/already running/);

    // status
    const st = await cli(['stack', 'status', '--json']);
    expect(st.code).toBe(0);
    const status = lastLine(st.stdout) as typeof status1;
    expect(status.running).toBe(true);
    expect(status.tenants.sort()).toEqual(['acme', 'globex']);
    expect(Object.keys(status.services).sort()).toEqual(['evaluator', 'ingest', 'persona', 'semantizer']);
    const pids = Object.values(status.services).map((s) => s.pid);
    expect(pids).toEqual(Object.values(status1.services).map((s) => s.pid));
    for (const s of Object.values(status.services)) expect(s).toMatchObject({ running: true, healthy: true });
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(true);
    const ports = Object.values(status.services).flatMap((s) => s.ports);
    expect(ports.sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => PORT_BASE + i));

    // the credentials: in the state file (mode 600), never in the logs
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);
    const logs = readdirSync(join(dir, 'logs')).map((f) => readFileSync(join(dir, 'logs', f), 'utf8'));
    expect(logs.length).toBe(4);
    for (const secret of [acme.ingest_key, acme.persona_token, globex.ingest_key, globex.persona_token]) {
      for (const log of logs) expect(log.includes(secret)).toBe(false);
    }

    // down: every process gone, every port closed, the state (and its credentials) removed
    const down = await cli(['stack', 'down', '--purge', '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect(lastLine(down.stdout)).toMatchObject({ killed: [], ports_open: [], running: [] });
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    for (const port of ports) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    const after = await cli(['stack', 'status', '--json']);
    expect(after.code).toBe(1);
    expect(lastLine(after.stdout)).toEqual({ running: false });
  });
});
