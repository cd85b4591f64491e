import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../lib/repo.js';
import type { InfraName } from './plan.js';

/**
 * A private Kafka broker, Redis and ClickHouse for the chaos run (the shared ones in `.infra` serve
 * other work and are never touched): `tools/infra/infra.sh` with its own state folder
 * (`PS_INFRA_DIR`) and ports, so they can be killed, restarted and paused at will.
 */
export interface PrivateInfraPorts {
  kafka: number;
  kafkaController: number;
  redis: number;
  clickhouseHttp: number;
  clickhouseTcp: number;
}

export class PrivateInfra {
  readonly env: Record<string, string>;

  constructor(
    readonly dir: string,
    readonly ports: PrivateInfraPorts,
    private readonly log: (m: string) => void,
  ) {
    this.env = {
      PS_INFRA_DIR: dir,
      PS_KAFKA_PORT: String(ports.kafka),
      PS_KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
      PS_REDIS_PORT: String(ports.redis),
      PS_CH_HTTP_PORT: String(ports.clickhouseHttp),
      PS_CH_TCP_PORT: String(ports.clickhouseTcp),
      PS_KAFKA_HEAP: process.env.PS_KAFKA_HEAP ?? '384m',
    };
  }

  /** The addresses the services and the harness use. */
  get addresses(): { KAFKA_BROKERS: string; REDIS_URL: string; CLICKHOUSE_URL: string } {
    return {
      KAFKA_BROKERS: `127.0.0.1:${this.ports.kafka}`,
      REDIS_URL: `redis://127.0.0.1:${this.ports.redis}`,
      CLICKHOUSE_URL: `http://127.0.0.1:${this.ports.clickhouseHttp}`,
    };
  }

  /** Runs `infra.sh ARGS` with this instance's folder and ports; its output goes to stderr. */
  run(args: string[]): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(repoRoot(), 'tools', 'infra', 'infra.sh'), ...args], {
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line.trim()) this.log(`  ${line}`);
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout }));
    });
  }

  private async must(args: string[]): Promise<string> {
    const { code, stdout } = await this.run(args);
    if (code !== 0) throw new Error(`infra.sh ${args.join(' ')} failed (${code}): ${stdout.slice(-400)}`);
    return stdout;
  }

  up(): Promise<string> {
    return this.must(['up']);
  }

  down(): Promise<string> {
    return this.must(['down', '--purge']);
  }

  async pid(component: InfraName): Promise<number | undefined> {
    const { code, stdout } = await this.run(['pid', component]);
    const pid = Number(stdout.trim());
    return code === 0 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** SIGKILL, then `infra.sh start` (waits until healthy). Returns the seconds it was unavailable. */
  async killAndRestart(component: InfraName): Promise<number> {
    const pid = await this.pid(component);
    if (pid === undefined) throw new Error(`chaos: private ${component} is not running`);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    await this.must(['start', component]);
    return (performance.now() - t0) / 1000;
  }

  /** SIGSTOP for `seconds`, then SIGCONT: the process keeps its connections but answers nothing. */
  async pause(component: InfraName, seconds: number): Promise<void> {
    const pid = await this.pid(component);
    if (pid === undefined) throw new Error(`chaos: private ${component} is not running`);
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, seconds * 1000));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
