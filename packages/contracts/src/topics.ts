/** Kafka topic names. Versioned: a breaking payload change gets a new topic. */
export const Topics = {
  events: 'behavior.events.v1',
  eventsDlq: 'behavior.events.dlq.v1',
  windows: 'behavior.windows.v1',
  updates: 'persona.updates.v1',
  truth: 'hpr.truth.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Default partition counts of the topics (`infra up` creates them with these). */
export const DefaultPartitions: Record<TopicName, number> = {
  'behavior.events.v1': 4,
  'behavior.events.dlq.v1': 1,
  'behavior.windows.v1': 4,
  'persona.updates.v1': 4,
  'hpr.truth.v1': 4,
};
