import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { repoRoot } from '../paths.js';
import { readInfraEnv } from '../pipeline/local.js';

/** The load tests of `load-tests/` (see its README): name → what it measures. */
export const LOAD_TESTS: Readonly<Record<string, string>> = {
  'ingest-http': 'ingest HTTP API: events/s accepted (autocannon, batches), beside raw Kafka produce',
  'ingest-core': 'ingest service core: CPU per 1,000 events without HTTP and Kafka',
  'get-persona': 'GetPersona over gRPC with ghz against the persona server (Redis, seeded personas)',
  'get-persona-node': 'GetPersona over gRPC, open-loop Node client at a fixed rate',
  'semantizer-kafka': 'semantizer service through Kafka: events/s until every end-of-run marker',
  'simulator-kafka': 'simulator generation and simulator → Kafka publishing, events/s',
  'live-soak': 'users arriving and leaving through ingest HTTP at a fixed rate: accounting, state, memory, freshness',
  chaos:
    'a seeded run with services SIGKILLed and Kafka/Redis/ClickHouse restarted or paused, compared with a fault-free run',
};

export const loadtestUsage = 'personastream loadtest NAME [--json] [options of the load test] | --list';

/**
 * `personastream loadtest NAME [--json] [options]`: runs `load-tests/dist/NAME.js` (built by
 * `npm run build`) from the repository root, with the infrastructure's addresses from `.infra/env`
 * unless they are set. Its output passes through; the JSON summary it ends with is stdout's last line
 * with `--json`, left out without (the readable figures before it stay).
 */
export async function runLoadtest(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--list' || name === 'list') {
    for (const [n, what] of Object.entries(LOAD_TESTS)) console.log(`${n.padEnd(18)} ${what}`);
    return 0;
  }
  if (!name || name.startsWith('-') || !(name in LOAD_TESTS)) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `loadtest: ${name ? `unknown load test "${name}"` : 'name a load test'}; one of ${Object.keys(LOAD_TESTS).join(', ')} ` +
        `(usage: ${loadtestUsage})`,
      'name',
    );
  }
  const json = rest.includes('--json');
  const passOn = rest.filter((a) => a !== '--json');
  const root = repoRoot();
  const script = join(root, 'load-tests', 'dist', `${name}.js`);
  if (!existsSync(script)) {
    throw new PersonaStreamError(
      ErrorCode.FailedPrecondition,
      `loadtest: ${script} is missing; run "npm run build" (or "npm run build -w @personastream/load-tests")`,
      'name',
    );
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    for (const [k, v] of Object.entries(readInfraEnv())) env[k] ??= v;
  } catch {
    // no .infra/env: the load test says what it misses
  }
  const child = spawn(process.execPath, [script, ...passOn], { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] });
  const forward = lastJsonLine(json);
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => forward.push(chunk));
  const stop = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise<number>((resolve) => child.once('close', (c, s) => resolve(c ?? (s ? 130 : 1))));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  forward.end();
  return code;
}

/**
 * Passes lines to stdout, holding back the last one: at the end a JSON object as the last line is
 * printed with `json` and left out without; any other last line is printed.
 */
export function lastJsonLine(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)) {
  let buf = '';
  let held: string | undefined;
  return {
    push(chunk: string) {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (held !== undefined) write(`${held}\n`);
        held = line;
      }
    },
    end() {
      if (buf !== '') {
        if (held !== undefined) write(`${held}\n`);
        held = buf;
        buf = '';
      }
      if (held === undefined) return;
      if (json || !isJsonObject(held)) write(`${held}\n`);
      held = undefined;
    },
  };
}

function isJsonObject(line: string): boolean {
  if (!line.trim().startsWith('{')) return false;
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}
