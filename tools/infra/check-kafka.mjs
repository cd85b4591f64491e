#!/usr/bin/env node
// Smoke check for the local broker: creates a scratch topic, produces one message and consumes it
// through a consumer group. This proves the group coordinator (and __consumer_offsets at RF 1)
// works with kafkajs on Kafka 4, then commits one transaction (transaction coordinator). Usage: node tools/infra/check-kafka.mjs [brokers]
// Exit code 0 on success, 1 on failure (with the reason on stderr).
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const timeoutMs = Number(process.env.PS_CHECK_TIMEOUT_MS ?? 60000);
const id = randomUUID().slice(0, 8);
const topic = `ps-infra-check-${id}`;
const groupId = `ps-infra-check-${id}`;
const value = `hello-${id}`;

const kafka = new Kafka({ clientId: 'ps-infra-check', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ allowAutoTopicCreation: false });
const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 250 });

const started = Date.now();
let timer;
const step = (msg) => console.log(`[check-kafka] ${msg} (+${Date.now() - started} ms)`);

async function main() {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  step(`created scratch topic ${topic}`);
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
  step('produced 1 message (acks=all)');

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (message.value?.toString() === value) {
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          resolve();
        }
      },
    });
  });
  await received;
  step(`consumed it in group ${groupId} and committed the offset`);

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0]?.partitions?.[0]?.offset;
  if (committed !== '1') throw new Error(`committed offset is ${committed}, expected 1`);
  step('group offset fetched back = 1');

  // Transaction coordinator (transaction.state.log.* at RF 1): one committed transaction.
  const txProducer = kafka.producer({
    transactionalId: `ps-infra-check-tx-${id}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await txProducer.connect();
  try {
    const tx = await txProducer.transaction();
    await tx.send({ topic, messages: [{ key: 'k', value: `tx-${id}` }] });
    await tx.commit();
  } finally {
    await txProducer.disconnect();
  }
  step('transactional producer committed a transaction');
}

async function cleanup() {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect().catch(() => {});
}

const timeout = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
});

try {
  await Promise.race([main(), timeout]);
  clearTimeout(timer);
  await cleanup();
  console.log(`[check-kafka] OK: produce, consumer-group round trip and a transaction on ${brokers.join(',')}`);
  process.exit(0);
} catch (err) {
  clearTimeout(timer);
  console.error(`[check-kafka] FAILED on ${brokers.join(',')}: ${err?.message ?? err}`);
  await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(1);
}
