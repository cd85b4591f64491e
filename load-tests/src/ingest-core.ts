// CPU per event of the ingest service core, without HTTP and without Kafka: JSON.parse of a body of
// `batch` events → validation and mapping → de-duplication → encoding → the bookkeeping after the
// (no-op) producer acknowledged. CPU time, not wall time, and the best of several rounds, so it
// compares code versions on a busy machine better than the HTTP benchmark does.
//
//   npx personastream loadtest ingest-core [--requests 1000] [--batch 100] [--dedup 2000000] [--run ID] [--dist PATH/index.js]
//   (it runs the built `@personastream/ingest`; pass another build's dist/index.js to compare)
//
// Events go to the live run (no run id) unless --run names a finite run (then each request also
// starts and finishes a send on the in-memory run coordinator).
// Prints one JSON line: ms CPU per 1,000 events for the whole core and for JSON.parse alone.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Ingest from '@personastream/ingest';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { benchEventJson } from './lib/ingest-events.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return (i >= 0 ? args[i + 1] : undefined) ?? def;
};
const requests = Number(opt('requests', '1000'));
const batch = Number(opt('batch', '100'));
const dedup = Number(opt('dedup', '2000000'));
const distArg = opt('dist', import.meta.resolve('@personastream/ingest'));
const dist = /^[a-z]+:/.test(distArg) ? distArg : pathToFileURL(resolve(distArg)).href;
const runId = opt('run', '') || undefined;
const { createIngestService, DEFAULT_APP_CONFIG } = (await import(dist)) as typeof Ingest;

const svc = createIngestService(
  { ...DEFAULT_APP_CONFIG, ratePerS: 1e9, burst: 1e9, dedupCapacity: dedup },
  {
    producer: { send: async () => {}, close: async () => {} },
    logger: silentLogger(),
    registry: createRegistry('b', false),
  },
);
const t0 = Date.now() - 3_600_000;
const eventJson = (id: string, i: number) => benchEventJson(t0, id, i);
const template = JSON.stringify({
  events: Array.from({ length: batch }, (_, i) => eventJson(`@@-${i}`, i)),
  ...(runId ? { run_id: runId } : {}),
});
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

let next = 0;
async function round(n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let r = 0; r < n; r++) {
    const body = JSON.parse(template.replaceAll('@@', `r${next++}`));
    const out = await svc.ingest({ tenant: 'bench', shape: 'native', body });
    if (!('accepted' in out.body) || out.body.accepted !== batch)
      throw new Error(`not accepted: ${JSON.stringify(out.body).slice(0, 200)}`);
  }
  return (cpuMs(c0) / (n * batch)) * 1000;
}
function parseRound(n: number): number {
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
