import { DefaultPartitions, type TopicName, Topics } from '@personastream/contracts';
import type { TopicSpec } from './types.js';

/** Topic specs with the default partition counts, optionally overridden per topic. */
export function defaultTopicSpecs(partitions?: number): TopicSpec[] {
  return (Object.values(Topics) as TopicName[]).map((topic) => ({
    topic,
    partitions: partitions !== undefined && topic !== Topics.eventsDlq ? partitions : DefaultPartitions[topic],
  }));
}
