// Operational metrics the engine reports, without knowing where they go: the Lambda entries write
// them as CloudWatch embedded-metric log lines, the local runtime ignores them.
export interface Metrics {
  /** Commit attempts beyond the first (lost races, throttling, unknown outcomes). */
  commitRetries(count: number): void;
  /** Records between a consumer's position and the high watermark, the largest over its partitions. */
  consumerLag(records: number, group: string): void;
}

export const NO_METRICS: Metrics = {
  commitRetries: () => undefined,
  consumerLag: () => undefined,
};
