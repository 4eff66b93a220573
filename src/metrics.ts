// Operational metrics the engine reports, without knowing where they go: the Lambda entries write
// them as CloudWatch embedded-metric log lines, the local runtime keeps them in the console's ring of
// samples (src/console/samples.ts).
export interface Metrics {
  /** Commit attempts beyond the first (lost races, throttling, unknown outcomes). */
  commitRetries(count: number): void;
  /** Records between a consumer's position and the high watermark, the largest over its partitions. */
  consumerLag(records: number, group: string): void;
  /** Records a produce request appended to a topic, and their key and value bytes: the console's produce rate. */
  recordsProduced?(topic: string, records: number, bytes: number): void;
  /** Records a fetch read from a topic (consumers, triggers, the console), and their bytes: its fetch rate. */
  recordsFetched?(topic: string, records: number, bytes: number): void;
}

export const NO_METRICS: Metrics = {
  commitRetries: () => undefined,
  consumerLag: () => undefined,
};
