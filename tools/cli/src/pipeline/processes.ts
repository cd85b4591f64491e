import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** The environment a service process gets: the caller's, then `env` (the stack's settings win). */
function serviceEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { SHUTDOWN_DEADLINE_MS: String(SHUTDOWN_DEADLINE_MS), ...process.env, ...env };
}

/** `node services/<name>/dist/main.js`. */
function serviceArgs(name: string): string[] {
  return [join(repoRoot(), 'services', name, 'dist', 'main.js')];
}

/** Starts `services/<name>/dist/main.js` as its own process, logging (JSON) to `.infra/logs/<name>.log`. */
export function startService(name: string, env: Record<string, string>, logSuffix = ''): ServiceProcess {
  const root = repoRoot();
  const logDir = join(root, '.infra', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}${logSuffix}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, serviceArgs(name), {
    cwd: root,
    env: serviceEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return serviceProcess(name, child, logFile);
}

/**
 * Starts `services/<name>/dist/main.js` as a process that outlives this one: its own process group
 * (`detached`), stdout and stderr appended straight to `logFile` (its own file descriptor, not a pipe
 * through this process), and not keeping this process alive (`unref`). `stop` works while this
 * process runs; afterwards stop it by its pid.
 */
export function startDetachedService(name: string, env: Record<string, string>, logFile: string): ServiceProcess {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, serviceArgs(name), {
      cwd: repoRoot(),
      env: serviceEnv(env),
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    child.unref();
    return serviceProcess(name, child, logFile);
  } finally {
    closeSync(fd);
  }
}

function serviceProcess(name: string, child: ChildProcess, logFile: string): ServiceProcess {
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
