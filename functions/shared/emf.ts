// CloudWatch embedded metric format: one JSON log line per data point, turned into metrics by
// CloudWatch Logs with no API call from the function. Namespace and service match the dashboard.
// Written to stdout directly: with the functions' JSON log format, Lambda wraps console.log output in a
// JSON envelope (the line becomes a "message" string), and CloudWatch would no longer see a metric.
import type { Metrics } from '../../src/metrics.ts';

/** Each dimension set is a metric of its own in CloudWatch (and on the bill). */
function emit(name: string, value: number, unit: 'Count', dimensions: Record<string, string>, sets: string[][] = [['service']]): void {
  const service = process.env.POWERTOOLS_SERVICE_NAME ?? 'floe';
  process.stdout.write(
    `${JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Floe', Dimensions: sets, Metrics: [{ Name: name, Unit: unit }] }],
      },
      service,
      ...dimensions,
      [name]: value,
    })}\n`,
  );
}

// The console's figures over time (src/console/cloudwatch.ts reads them): per topic and per group, so
// only where the stack turned the console on (-c console=true), as each topic and group is a metric.
const consoleFigures = process.env.FLOE_CONSOLE === 'true';

export const emfMetrics: Metrics = {
  commitRetries: (count) => emit('CommitRetries', count, 'Count', {}),
  consumerLag: (records, group) => emit('ConsumerLag', records, 'Count', { group }, consoleFigures ? [['service'], ['group']] : [['service']]),
  ...(consoleFigures
    ? {
        recordsProduced: (topic: string, records: number) => emit('RecordsProduced', records, 'Count', { topic }, [['topic']]),
        recordsFetched: (topic: string, records: number) => emit('RecordsFetched', records, 'Count', { topic }, [['topic']]),
      }
    : {}),
};
