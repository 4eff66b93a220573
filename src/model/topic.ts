// A topic as stored: its name, the id its partitions are keyed by, partition count and configs.

/** Config name -> value, Kafka's names (cleanup.policy, retention.ms, ...); unset ones take their defaults. */
export type TopicConfigs = Record<string, string>;

export interface TopicItem {
  topic: string;
  /** A new id per creation: a topic deleted and re-created under the same name is another log. */
  id: string;
  partitions: number;
  configs: TopicConfigs;
  createdAt: number;
  /** Bumped by every change of configs, so concurrent alters are optimistic; absent until the first. */
  version?: number;
}
