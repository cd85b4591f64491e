import { randomUUID } from 'node:crypto';
import { silentLogger } from '@personastream/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaStream } from '../src/kafka.js';

/**
 * Topic replication against the real local Kafka, a single broker: with the dev settings
 * (replication factor 1) topics are created and used; with the production settings (replication
 * factor 3, min.insync.replicas 2, as the prod overlay sets them) a missing topic is not created and
 * an existing topic with one replica is refused, each with an error naming the topic and its
 * replication factor.
 */
const brokers = process.env.KAFKA_BROKERS;
if (!brokers) throw new Error('KAFKA_BROKERS is not set: run "npx personastream infra up" and source .infra/env');

const id = randomUUID().slice(0, 8);
const devTopic = `tls-rf-dev-${id}`;
const newTopic = `tls-rf-new-${id}`;
const dev = createKafkaStream({ brokers: brokers.split(','), clientId: 'tls-rf-dev' }, { logger: silentLogger() });
const prod = createKafkaStream(
  { brokers: brokers.split(','), clientId: 'tls-rf-prod', replicationFactor: 3, minInsyncReplicas: 2 },
  { logger: silentLogger() },
);
const devAdmin = dev.admin();
const prodAdmin = prod.admin();

afterAll(async () => {
  await devAdmin.deleteTopics([devTopic, newTopic]);
  await devAdmin.close();
  await prodAdmin.close();
});

describe('topic replication on a single-broker Kafka', () => {
  it('creates and uses topics with the dev settings (replication factor 1)', async () => {
    await devAdmin.ensureTopics([{ topic: devTopic, partitions: 2 }]);
    expect(await devAdmin.partitionCount(devTopic)).toBe(2);
  });

  it('refuses to create a topic with replication factor 3 on one broker, naming the topic and the broker count', async () => {
    await expect(prodAdmin.ensureTopics([{ topic: newTopic, partitions: 2 }])).rejects.toThrow(
      `cannot create Kafka topic ${newTopic} with replication factor 3 (KAFKA_REPLICATION_FACTOR): the cluster has 1 broker`,
    );
    await expect(devAdmin.partitionCount(newTopic)).rejects.toThrow(/does not exist/);
  });

  it('refuses to run against an existing topic with replication factor 1 (admin, ensureTopics and producer)', async () => {
    const refused = new RegExp(
      `Kafka topic ${devTopic} has replication factor 1 \\(partition \\d\\), below the 3 this service requires \\(KAFKA_REPLICATION_FACTOR\\)`,
    );
    await expect(prodAdmin.partitionCount(devTopic)).rejects.toThrow(refused);
    await expect(prodAdmin.ensureTopics([{ topic: devTopic, partitions: 2 }])).rejects.toThrow(refused);
    const producer = prod.producer();
    await expect(producer.send(devTopic, [{ key: 'tls/u1', value: new Uint8Array([1]) }])).rejects.toThrow(refused);
    await producer.close();
  });
});
