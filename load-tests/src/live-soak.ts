// The live soak (a load test, not a test): a never-ending clickstream as platforms send it — users
// arriving over time, each sending one session of events (event time = now, no run id, so the
// tenant's live run) through ingest HTTP in Segment's batch shape, then leaving for good — through a
// private stack of its own (`personastream stack up --isolate`: own topics, groups, Redis prefixes,
// ClickHouse database, ports), with short windows. It samples memory and state while sending, then
// waits (bounded) until every accepted event is accounted for, and prints the figures.
//
//   npx personastream loadtest live-soak [--rate 400] [--duration 90] [--session-s 7.5] [--users-per-s 80]
//     [--sample-s 2] [--drain-s 45] [--concurrency 8] [--port-base N] [--keep] [--json]
//
// Sessions are paced like a person's (an event every ~1.9 s with the defaults, product views with a
// dwell), so cleaning keeps them: a bot's pace would be dropped as noise.
// Semantizer settings (unless set in the environment): SEMANTIZER_GAP_MS=3000
// SEMANTIZER_LATENESS_MS=1000 SEMANTIZER_TICK_MS=500 SEMANTIZER_EARLY_EVERY_MS=2000.
// Ends with one JSON line; `load-tests/README.md` ("live-soak") defines every figure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { PersonaUpdateRecordSchema, WindowRecordSchema } from '@personastream/contracts';
import { silentLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { rssMbOf } from './lib/proc.js';
import { cliMain, infraVar, repoRoot } from './lib/repo.js';
import { soakMessage } from './soak/events.js';
import {
  accounted,
  activeUsers,
  type DueEvent,
  dueEvents,
  eventTimeS,
  quantile,
  soakPlan,
  startMaxEnd,
  WindowTally,
} from './soak/plan.js';
import { checkpointBytes, redisUsedMb, semantizerMetrics } from './soak/sample.js';

const { values: o } = parseArgs({
  options: {
    rate: { type: 'string', default: '400' },
    duration: { type: 'string', default: '90' },
    'session-s': { type: 'string', default: '7.5' },
    'users-per-s': { type: 'string', default: '80' },
    'sample-s': { type: 'string', default: '2' },
    'drain-s': { type: 'string', default: '45' },
    concurrency: { type: 'string', default: '8' },
    'port-base': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const plan = soakPlan({
  rate: Number(o.rate),
  durationS: Number(o.duration),
  sessionS: Number(o['session-s']),
  usersPerS: Number(o['users-per-s']),
});
const sampleMs = Number(o['sample-s']) * 1000;
const drainMs = Number(o['drain-s']) * 1000;
const concurrency = Math.max(1, Number(o.concurrency));
const MAX_BATCH = 500; // INGEST_MAX_BATCH's default

const SOAK_ENV: Record<string, string> = {
  SEMANTIZER_GAP_MS: '3000',
  SEMANTIZER_LATENESS_MS: '1000',
  SEMANTIZER_TICK_MS: '500',
  SEMANTIZER_EARLY_EVERY_MS: '2000',
  LOG_LEVEL: 'warn',
};
const serviceEnv = Object.fromEntries(Object.entries(SOAK_ENV).map(([k, v]) => [k, process.env[k] ?? v]));
const gapMs = Number(serviceEnv.SEMANTIZER_GAP_MS);
const latenessMs = Number(serviceEnv.SEMANTIZER_LATENESS_MS);
const say = (m: string) => process.stderr.write(`live-soak: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const brokers = infraVar('KAFKA_BROKERS');
const redisUrl = infraVar('REDIS_URL');
if (!brokers || !redisUrl) throw new Error('live-soak needs KAFKA_BROKERS and REDIS_URL (npx personastream infra up)');

// ---- the private stack ------------------------------------------------------------------------

interface StackStatus {
  running: boolean;
  semantizer_ops: string;
  services: Record<string, { pid: number | null }>;
  topics: { events: string; dlq: string; windows: string; updates: string };
  redis_prefixes: { semantizer: string; persona: string };
}

const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const isolate = `soak-${id}`;
const stackDir = mkdtempSync(join(tmpdir(), 'ps-live-soak-'));
const stackEnv = { ...process.env, ...serviceEnv, PS_STACK_DIR: stackDir };

function stackCli(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliMain(), 'stack', ...args], {
      cwd: repoRoot(),
      env: stackEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.once('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}
const lastJson = <T>(s: string) => JSON.parse(s.trim().split('\n').pop() ?? '{}') as T;

/** Six consecutive free loopback ports from 26000 on (this load test's range), or `--port-base`. */
async function portBase(): Promise<number> {
  if (o['port-base']) return Number(o['port-base']);
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let base = 26000; base < 27000; base += 10) {
    const ok = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => free(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('live-soak: no six free consecutive ports in 26000–26999');
}

const loadBefore = loadavg()[0] ?? 0;
say(
  `${plan.users} users (${plan.usersPerS}/s, ${plan.concurrentUsers} in a session at once), ${plan.eventsPerSession} events ` +
    `per ${plan.sessionS} s session, ${plan.rate} events/s for ${plan.durationS} s; gap ${gapMs} ms + lateness ${latenessMs} ms`,
);
say(`starting a private stack (${isolate}, state and logs in ${stackDir})…`);
const up = await stackCli([
  'up',
  '--tenant',
  'soak',
  '--isolate',
  isolate,
  '--port-base',
  String(await portBase()),
  '--json',
]);
if (up.code !== 0) throw new Error(`stack up failed (${up.code}); logs in ${stackDir}/logs`);
const endpoints = lastJson<{ ingest: string; tenants: { soak: { ingest_key: string } } }>(up.stdout);
const status = lastJson<StackStatus>((await stackCli(['status', '--json'])).stdout);
const pids = Object.fromEntries(Object.entries(status.services).map(([s, v]) => [s, v.pid ?? undefined]));

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
const stream = createKafkaStream(
  { brokers: brokers.split(','), clientId: `live-soak-${id}` },
  { logger: silentLogger() },
);
const watcher = stream.consumer({
  groupId: `live-soak-watch-${id}`,
  topics: [status.topics.windows, status.topics.updates, status.topics.dlq],
  fromBeginning: true,
});

let result: Record<string, unknown> | undefined;
try {
  // ---- what comes out: windows, persona updates, dead letters -----------------------------------
  const tally = new WindowTally();
  let dlq = 0;
  const freshness: number[] = [];
  const latency: number[] = [];
  let updates = 0;
  let earlyUpdates = 0;
  await watcher.start(async (batch) => {
    for (const r of batch.records) {
      if (batch.topic === status.topics.dlq) {
        dlq++;
      } else if (batch.topic === status.topics.windows) {
        const rec = fromBinary(WindowRecordSchema, r.value);
        if (rec.kind.case === 'window') tally.add(rec.kind.value);
      } else {
        const rec = fromBinary(PersonaUpdateRecordSchema, r.value);
        if (rec.kind.case !== 'update') continue;
        const u = rec.kind.value;
        updates++;
        if (u.early) earlyUpdates++;
        const updated = u.persona?.updatedMs ?? 0;
        if (u.firstEntryMs > 0 && updated > 0) freshness.push(updated - u.firstEntryMs);
        if (u.ingestTimeMs > 0 && updated > 0) latency.push(updated - u.ingestTimeMs);
      }
    }
  });

  // ---- sampling -----------------------------------------------------------------------------------
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  const lastSentMs = new Float64Array(plan.users);
  const samples: Array<{
    t: number;
    rss: Record<string, number | null>;
    redisMb: number | null;
    checkpointBytes: number;
    checkpointKeys: number;
    idleBytes: number;
    stateUsers: number | null;
    active: number;
  }> = [];
  let activeMax = 0;
  const horizonMs = gapMs + latenessMs;
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const takeSample = async () => {
    // the checkpoints (open state, what a restart loads) apart from the idle store (compact facts
    // of live users who went quiet: one record per user seen, read only when one returns)
    const [redisMb, ckpt, idle, metrics] = await Promise.all([
      redisUsedMb(redis),
      checkpointBytes(redis, `${status.redis_prefixes.semantizer}semantizer:ckpt:`),
      checkpointBytes(redis, `${status.redis_prefixes.semantizer}semantizer:idle:`),
      semantizerMetrics(status.semantizer_ops),
    ]);
    const active = activeUsers(lastSentMs, Date.now() - horizonMs);
    activeMax = Math.max(activeMax, active);
    const s = {
      t: Number(elapsedS().toFixed(1)),
      rss: Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, rssMbOf(pid)])),
      redisMb,
      checkpointBytes: ckpt.bytes,
      checkpointKeys: ckpt.keys,
      idleBytes: idle.bytes,
      stateUsers: metrics.stateUsers,
      active,
    };
    samples.push(s);
    const rss = Object.entries(s.rss)
      .map(([n, v]) => `${n.slice(0, 3)} ${v?.toFixed(0) ?? '-'}`)
      .join(' ');
    say(
      `t=${s.t}s accepted ${accepted} active ${active} state_users ${s.stateUsers ?? 'n/a'} checkpoint ` +
        `${(s.checkpointBytes / 1024).toFixed(1)} KiB in ${s.checkpointKeys} keys, rss MB ${rss}, redis ${s.redisMb?.toFixed(1)} MB`,
    );
    return { ...s, orphans: metrics.orphans };
  };
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    void takeSample().finally(() => {
      sampling = false;
    });
  }, sampleMs);
  await takeSample();

  // ---- sending ------------------------------------------------------------------------------------
  const statuses: Record<string, number> = {};
  const firstErrors: string[] = [];
  const inflight = new Set<Promise<void>>();
  const key = endpoints.tenants.soak.ingest_key;
  const sendBatch = async (events: DueEvent[]) => {
    const body = JSON.stringify({ batch: events.map((e) => soakMessage(id, e.user, e.k, Date.now())) });
    for (let attempt = 0; attempt < 4; attempt++) {
      let code = 'error';
      try {
        const res = await fetch(`${endpoints.ingest}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        code = String(res.status);
        const reply = (await res.json()) as {
          accepted?: number;
          duplicates?: number;
          rejected?: number;
          errors?: unknown[];
        };
        statuses[code] = (statuses[code] ?? 0) + 1;
        if (res.status === 200) {
          accepted += reply.accepted ?? 0;
          duplicates += reply.duplicates ?? 0;
          rejected += reply.rejected ?? 0;
          if (reply.errors?.length && firstErrors.length < 3) firstErrors.push(JSON.stringify(reply.errors[0]));
          const now = Date.now();
          for (const e of events) lastSentMs[e.user] = now;
          return;
        }
        if (firstErrors.length < 3) firstErrors.push(`${code}: ${JSON.stringify(reply).slice(0, 200)}`);
        if (res.status !== 429 && res.status !== 503) return;
      } catch (err) {
        statuses[code] = (statuses[code] ?? 0) + 1;
        if (firstErrors.length < 3) firstErrors.push((err as Error).message);
      }
      await sleep(1000); // the same message ids again: what got in counts as duplicates
    }
  };
  const lastEventS = eventTimeS(plan, plan.users - 1, plan.eventsPerSession - 1);
  let lastT = 0;
  let first = true;
  say(`sending through ${endpoints.ingest}/v1/batch…`);
  const sendStart = performance.now();
  while (lastT < lastEventS) {
    const now = Math.min(elapsedS() - (sendStart - t0) / 1000, lastEventS);
    const due = first ? dueEvents(plan, 0, now) : dueEvents(plan, lastT, now);
    first = false;
    lastT = now;
    for (let i = 0; i < due.length; i += MAX_BATCH) {
      while (inflight.size >= concurrency) await Promise.race(inflight);
      const p: Promise<void> = sendBatch(due.slice(i, i + MAX_BATCH)).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    activeMax = Math.max(activeMax, activeUsers(lastSentMs, Date.now() - horizonMs));
    await sleep(100);
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - sendStart) / 1000;
  const atEnd = await takeSample();
  const stateUsersEnd = atEnd.stateUsers;
  say(
    `sent: ${accepted} accepted in ${sendSeconds.toFixed(1)} s; waiting until every accepted event is accounted for…`,
  );

  // ---- accounting ---------------------------------------------------------------------------------
  const account = (orphans: number | null) => ({
    finalWindowEvents: tally.finalWindowEvents,
    dropped: tally.dropped,
    orphans: orphans ?? 0,
    dlq,
  });
  const drainStart = Date.now();
  let parts = account((await semantizerMetrics(status.semantizer_ops)).orphans);
  let lastSay = 0;
  while (accounted(parts) < accepted && Date.now() - drainStart < drainMs) {
    await sleep(500);
    parts = account((await semantizerMetrics(status.semantizer_ops)).orphans);
    if (Date.now() - lastSay > 5000) {
      lastSay = Date.now();
      say(
        `  accounted ${accounted(parts)} / ${accepted} (final windows ${tally.finalWindows}: ${parts.finalWindowEvents} events, ` +
          `dropped ${parts.dropped}, orphans ${parts.orphans}, dlq ${parts.dlq}), ${((Date.now() - drainStart) / 1000).toFixed(0)} s`,
      );
    }
  }
  const drainSeconds = (Date.now() - drainStart) / 1000;
  clearInterval(sampler);
  while (sampling) await sleep(50);
  const last = await takeSample();
  parts = account(last.orphans);

  const users = lastSentMs.filter((t) => t > 0).length;
  const total = accounted(parts);
  freshness.sort((a, b) => a - b);
  latency.sort((a, b) => a - b);
  const rss = Object.fromEntries(Object.keys(pids).map((n) => [n, startMaxEnd(samples.map((s) => s.rss[n] ?? null))]));
  result = {
    loadtest: 'live-soak',
    rate: plan.rate,
    duration_s: plan.durationS,
    session_s: plan.sessionS,
    users_per_s: plan.usersPerS,
    events_per_session: plan.eventsPerSession,
    gap_ms: gapMs,
    lateness_ms: latenessMs,
    accepted,
    accounted: total,
    accounted_parts: {
      final_window_events: parts.finalWindowEvents,
      dropped: parts.dropped,
      orphans: last.orphans,
      dlq,
    },
    balanced: total === accepted,
    duplicates,
    rejected,
    http_status: statuses,
    users_total: users,
    active_users_max: activeMax,
    state_users_end: stateUsersEnd,
    state_users_max: startMaxEnd(samples.map((s) => s.stateUsers)).max,
    checkpoint_bytes: startMaxEnd(samples.map((s) => s.checkpointBytes)),
    checkpoint_keys_end: last.checkpointKeys,
    idle_store_bytes: startMaxEnd(samples.map((s) => s.idleBytes)),
    rss_mb: rss,
    redis_used_mb: startMaxEnd(samples.map((s) => s.redisMb)),
    windows_final: tally.finalWindows,
    windows_early: tally.earlyWindows,
    updates,
    early_updates: earlyUpdates,
    freshness_p50_ms: quantile(freshness, 0.5),
    freshness_p99_ms: quantile(freshness, 0.99),
    freshness_count: freshness.length,
    latency_p50_ms: quantile(latency, 0.5),
    latency_p99_ms: quantile(latency, 0.99),
    events_per_s: Math.round(accepted / sendSeconds),
    send_s: Number(sendSeconds.toFixed(1)),
    drain_s: Number(drainSeconds.toFixed(1)),
    samples: samples.length,
    checks: {
      accepted_equals_accounted: total === accepted,
      users_total_ge_5x_active_max: users >= 5 * activeMax,
      state_users_end_le_1_5x_active_max: stateUsersEnd === null ? null : stateUsersEnd <= 1.5 * activeMax,
    },
    load_avg_1m_before: Number(loadBefore.toFixed(2)),
    cpus: cpus().length,
    first_errors: firstErrors,
  };
} finally {
  await watcher.stop().catch(() => undefined);
  redis.disconnect();
  if (o.keep) {
    say(`left running (--keep): PS_STACK_DIR=${stackDir} npx personastream stack down --purge`);
  } else {
    const down = await stackCli(['down', '--purge']);
    if (down.code === 0) rmSync(stackDir, { recursive: true, force: true });
    else say(`stack down failed (${down.code}); state and logs in ${stackDir}`);
  }
}

const r = result as Record<string, unknown> & { checks: Record<string, unknown> };
const fmt = (x: unknown) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x));
console.log('\nlive soak (ingest HTTP → semantizer → persona, private stack, short windows)');
for (const k of [
  'accepted',
  'accounted',
  'accounted_parts',
  'users_total',
  'active_users_max',
  'state_users_end',
  'checkpoint_bytes',
  'idle_store_bytes',
  'rss_mb',
  'redis_used_mb',
  'windows_final',
  'windows_early',
  'updates',
  'freshness_p50_ms',
  'freshness_p99_ms',
  'latency_p50_ms',
  'events_per_s',
  'http_status',
  'checks',
]) {
  console.log(`  ${k.padEnd(18)} ${fmt(r[k])}`);
}
console.log(JSON.stringify(r));
