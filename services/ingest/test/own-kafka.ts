import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A private single-node Kafka (KRaft) for tests that must stop a broker: started from the jars that
 * `infra up` fetched (`.infra/kafka/libs`), on free ports, with its data in a temp dir and a small
 * heap. `stop()` kills it (SIGKILL: an outage, not a clean shutdown); `start()` brings it back on the
 * same ports and data; `destroy()` kills it and removes the data. The shared broker is never touched.
 */
export interface OwnKafka {
  brokers: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

const REPO = resolve(import.meta.dirname, '../../..');
export const KAFKA_LIBS = join(REPO, '.infra/kafka/libs');

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = new Socket();
    sock.setTimeout(500);
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
    sock.once('timeout', () => {
      sock.destroy();
      res(false);
    });
    sock.connect(port, '127.0.0.1');
  });
}

export async function createOwnKafka(): Promise<OwnKafka> {
  if (!existsSync(KAFKA_LIBS)) {
    throw new Error(`Kafka jars not found at ${KAFKA_LIBS}: run "npx personastream infra up" first`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'ps-ingest-kafka-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const props = join(dir, 'server.properties');
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'num.network.threads=1',
      'num.io.threads=2',
      'num.recovery.threads.per.data.dir=1',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'log4j2.properties'), 'status = warn\nrootLogger.level = error\n');
  const javaBase = [
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
  ];
  const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
  await promisify(execFile)(
    'java',
    [
      ...javaBase,
      '-Xmx192m',
      '-cp',
      `${KAFKA_LIBS}/*`,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
    ],
    { timeout: 120_000 },
  );

  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const own: OwnKafka = {
    brokers: `127.0.0.1:${port}`,
    async start() {
      const p = spawn('java', [...javaBase, '-Xms64m', '-Xmx256m', '-cp', `${KAFKA_LIBS}/*`, 'kafka.Kafka', props], {
        stdio: 'ignore',
      });
      proc = p;
      exited = new Promise((res) => p.once('exit', () => res()));
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if (p.exitCode !== null) throw new Error(`own Kafka exited with code ${p.exitCode}`);
        if (await canConnect(port)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('own Kafka did not open its port within 120 s');
    },
    async stop() {
      if (proc && proc.exitCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      proc = undefined;
    },
    async destroy() {
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return own;
}
