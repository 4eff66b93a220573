// CloudWatch embedded metric format: one JSON log line per data point, turned into metrics by
// CloudWatch Logs with no API call from the function. Namespace and service match the dashboard.
// Written to stdout directly: with the functions' JSON log format, Lambda wraps console.log output in a
// JSON envelope (the line becomes a "message" string), and CloudWatch would no longer see a metric.
import type { Metrics } from '../../src/metrics.ts';

function emit(name: string, value: number, unit: 'Count', dimensions: Record<string, string>): void {
  const service = process.env.POWERTOOLS_SERVICE_NAME ?? 'floe';
  process.stdout.write(
    `${JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Floe', Dimensions: [['service']], Metrics: [{ Name: name, Unit: unit }] }],
      },
      service,
      ...dimensions,
      [name]: value,
    })}\n`,
  );
}

export const emfMetrics: Metrics = {
  commitRetries: (count) => emit('CommitRetries', count, 'Count', {}),
  consumerLag: (records, group) => emit('ConsumerLag', records, 'Count', { group }),
};
