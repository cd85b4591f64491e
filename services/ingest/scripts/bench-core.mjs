#!/usr/bin/env node
// CPU per event of the ingest service core, without HTTP and without Kafka: JSON.parse of a body of
// `batch` events → validation and mapping → de-duplication → encoding → the bookkeeping after the
// (no-op) producer acknowledged. CPU time, not wall time, and the best of several rounds, so it
// compares code versions on a busy machine better than the HTTP benchmark does.
//
//   npm run build -w @personastream/ingest      (it runs the built dist; pass another dist to compare)
//   node services/ingest/scripts/bench-core.mjs [--requests 1000] [--batch 100] [--dedup 2000000] [--run ID] [--dist PATH/index.js]
//
// Events go to the live run (no run id) unless --run names a finite run (then each request also
// starts and finishes a send on the in-memory run coordinator).
// Prints one JSON line: ms CPU per 1,000 events for the whole core and for JSON.parse alone.
import { createRegistry, silentLogger } from '@personastream/runtime';
import { benchEventJson } from './bench-events.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const requests = Number(opt('requests', 1000));
const batch = Number(opt('batch', 100));
const dedup = Number(opt('dedup', 2_000_000));
const dist = opt('dist', new URL('../dist/index.js', import.meta.url).href);
const runId = opt('run', undefined);
const { createIngestService, DEFAULT_APP_CONFIG } = await import(dist);

const svc = createIngestService(
  { ...DEFAULT_APP_CONFIG, ratePerS: 1e9, burst: 1e9, dedupCapacity: dedup },
  {
    producer: { send: async () => {}, close: async () => {} },
    logger: silentLogger(),
    registry: createRegistry('b', false),
  },
);
const t0 = Date.now() - 3_600_000;
const eventJson = (id, i) => benchEventJson(t0, id, i);
const template = JSON.stringify({
  events: Array.from({ length: batch }, (_, i) => eventJson(`@@-${i}`, i)),
  ...(runId ? { run_id: runId } : {}),
});
const cpuMs = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

let next = 0;
async function round(n) {
  const c0 = process.cpuUsage();
  for (let r = 0; r < n; r++) {
    const body = JSON.parse(template.replaceAll('@@', `r${next++}`));
    const out = await svc.ingest({ tenant: 'bench', shape: 'native', body });
    if (out.body.accepted !== batch) throw new Error(`not accepted: ${JSON.stringify(out.body).slice(0, 200)}`);
  }
  return (cpuMs(c0) / (n * batch)) * 1000;
}
function parseRound(n) {
  const c0 = process.cpuUsage();
  for (let r = 0; r < n; r++) JSON.parse(template.replaceAll('@@', `p${r}`));
  return (cpuMs(c0) / (n * batch)) * 1000;
}

await round(Math.ceil(requests / 2)); // warm-up
let core = Number.POSITIVE_INFINITY;
let parse = Number.POSITIVE_INFINITY;
for (let k = 0; k < 5; k++) {
  core = Math.min(core, await round(requests));
  parse = Math.min(parse, parseRound(requests));
}
console.log(
  JSON.stringify({
    dist,
    run: runId ?? 'live',
    batch,
    dedup_capacity: dedup,
    events_per_round: requests * batch,
    core_cpu_ms_per_1k_events: Number(core.toFixed(2)),
    json_parse_cpu_ms_per_1k_events: Number(parse.toFixed(2)),
  }),
);
