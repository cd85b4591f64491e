import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { serviceMain } from '../lib/repo.js';

/**
 * A service under a restart-on-exit supervisor, as Kubernetes runs it: `node services/<name>/dist/main.js`
 * with a fixed environment, started again whenever it exits (a crash, a SIGKILL, an exit at start-up
 * because a dependency is down), after a short back-off that grows while it keeps failing fast.
 * Output goes to `logFile` (appended across restarts).
 */
export class Supervised {
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Starts after the first (restarts). */
  restarts = 0;
  /** Exits by signal or code, in order (e.g. "SIGKILL", "code 1"). */
  readonly exits: string[] = [];

  constructor(
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
    readonly healthUrl: string,
  ) {}

  start(): void {
    const fd = openSync(this.logFile, 'a');
    const startedMs = Date.now();
    try {
      const child = spawn(process.execPath, [serviceMain(this.name)], { env: this.env, stdio: ['ignore', fd, fd] });
      this.child = child;
      child.once('exit', (code, signal) => {
        this.exits.push(signal ?? `code ${code}`);
        if (this.child === child) this.child = undefined;
        if (this.stopping) return;
        // quick failures (e.g. ClickHouse down at start-up) back off: 0.5 s, 1 s, 2 s … at most 5 s
        this.failures = Date.now() - startedMs < 10_000 ? this.failures + 1 : 0;
        const delay = Math.min(5000, 250 * 2 ** this.failures);
        this.timer = setTimeout(() => {
          this.restarts++;
          this.start();
        }, delay);
      });
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** SIGKILLs the running process and resolves once it is gone; false when none ran (between a crash and its restart). */
  async killNow(): Promise<boolean> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
    return true;
  }

  /** Resolves once the service answers its health check (whatever process it is by then). */
  async healthy(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not up (yet)
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} was not healthy at ${this.healthUrl} after ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Stops supervising: SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  }
}
