import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../paths.js';
import type { StackService } from '../pipeline/local.js';

/**
 * The files of a running stack, under `.infra/stack/` (or `PS_STACK_DIR`): `state.json` (ports,
 * tenants with their credentials, pids; mode 600, the folder 700) and one `<service>.pid` per
 * service. They are what `status` and `down` read, so a stack outlives the CLI that started it.
 */

const portsSchema = z.object({
  semantizerOps: z.number().int(),
  personaGrpc: z.number().int(),
  personaOps: z.number().int(),
  evaluatorHttp: z.number().int(),
  ingestHttp: z.number().int(),
  ingestOps: z.number().int(),
});

const procSchema = z.object({
  pid: z.number().int().positive(),
  /** Start time of the process (`/proc/<pid>/stat` field 22), so a reused pid is never taken for it. */
  startTicks: z.string().nullable(),
  log: z.string(),
});

export const stackStateSchema = z.object({
  version: z.literal(1),
  startedMs: z.number(),
  /** `up` started the infrastructure (so `down` stops it). */
  startedInfra: z.boolean(),
  ports: portsSchema,
  isolate: z.string().nullable(),
  topics: z.object({
    events: z.string(),
    dlq: z.string(),
    windows: z.string(),
    updates: z.string(),
    truth: z.string(),
  }),
  tenants: z.record(
    z.string(),
    z.object({ ingest_key: z.string(), persona_token: z.string(), evaluator_token: z.string() }),
  ),
  /** EVALUATOR_ADMIN_TOKEN of the stack. */
  evaluatorAdminToken: z.string(),
  services: z.record(z.string(), procSchema),
});

export type StackState = z.infer<typeof stackStateSchema>;
export type StackProcess = z.infer<typeof procSchema>;

/** The stack's folder: `PS_STACK_DIR` if set, else `<repo>/.infra/stack`. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.PS_STACK_DIR;
  return dir ? resolve(dir) : join(repoRoot(), '.infra', 'stack');
}

/** The folder of the services' logs: `.infra/logs` for the usual stack, `<dir>/logs` with `PS_STACK_DIR`. */
export function stackLogDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PS_STACK_DIR ? join(stackDir(env), 'logs') : join(repoRoot(), '.infra', 'logs');
}

const stateFile = (dir: string) => join(dir, 'state.json');
const pidFile = (dir: string, service: string) => join(dir, `${service}.pid`);

/** The state of the stack in `dir`, or undefined when there is none (or it is unreadable). */
export function readState(dir: string): StackState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = stackStateSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** Writes the state (mode 600, atomically) and a pid file per service. */
export function writeState(dir: string, state: StackState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, stateFile(dir));
  for (const [name, p] of Object.entries(state.services)) writeFileSync(pidFile(dir, name), `${p.pid}\n`);
}

/** Removes the state and the pid files (the credentials go with them). */
export function removeState(dir: string, services: readonly string[]): void {
  rmSync(stateFile(dir), { force: true });
  for (const s of services) rmSync(pidFile(dir, s), { force: true });
}

/** The pids in the pid files of `services` (what `down` checks besides the state). */
export function pidFiles(dir: string, services: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of services) {
    try {
      const pid = Number(readFileSync(pidFile(dir, s), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) out.set(s, pid);
    } catch {
      // no pid file
    }
  }
  return out;
}

/** Start time of a process in clock ticks since boot (`/proc/<pid>/stat` field 22); null when unknown. */
export function startTicksOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const HAS_PROC = existsSync('/proc/self/stat');

/** True while the process is the one that was started (same pid and start time; zombies count as gone). */
export function isRunning(p: Pick<StackProcess, 'pid' | 'startTicks'>): boolean {
  if (HAS_PROC) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return false;
    return p.startTicks === null || fields[19] === p.startTicks;
  }
  try {
    process.kill(p.pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a process the stack started: SIGTERM (the service finishes its batch, commits and exits),
 * SIGKILL after `graceMs`; resolves once it is gone. False when it had to be killed.
 */
export async function stopProcess(p: Pick<StackProcess, 'pid' | 'startTicks'>, graceMs: number): Promise<boolean> {
  if (!isRunning(p)) return true;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return true;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(p)) return true;
    await sleep(100);
  }
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  while (isRunning(p)) await sleep(50);
  return false;
}

export type { StackService };
