import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number>;
  /** SIGTERM (graceful: finish the in-flight batch, commit, close), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number>;
}

/** Default time a stopped service gets before SIGKILL. */
export const STOP_GRACE_MS = 15_000;
/**
 * The services' own shutdown deadline (`SHUTDOWN_DEADLINE_MS`) unless the caller sets one: below the
 * grace, so a service stuck on a stalled broker exits by itself and logs why before it would be killed.
 */
const SHUTDOWN_DEADLINE_MS = STOP_GRACE_MS - 3_000;

/** Starts `services/<name>/dist/main.js` as its own process, logging (JSON) to `.infra/logs/<name>.log`. */
export function startService(name: string, env: Record<string, string>, logSuffix = ''): ServiceProcess {
  const root = repoRoot();
  const logDir = join(root, '.infra', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}${logSuffix}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [join(root, 'services', name, 'dist', 'main.js')], {
    cwd: root,
    env: { SHUTDOWN_DEADLINE_MS: String(SHUTDOWN_DEADLINE_MS), ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return {
    name,
    child,
    logFile,
    exited,
    async stop(graceMs = STOP_GRACE_MS) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until `url` answers 200, failing early with the log file's name if the process exits. */
export async function waitHealthy(service: ServiceProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${service.name} exited during start-up; see ${service.logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${service.name} was not healthy at ${url} after ${timeoutMs} ms; see ${service.logFile}`);
}
