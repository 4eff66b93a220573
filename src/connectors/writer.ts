// The built-in target of a connector's internal trigger: it hands a batch of one partition's records to
// the connector's sink, sends the bad records to the dead-letter topic (`errors.tolerance=all`) or stops
// the connector at the first one (`none`: paused, with the error shown, as Kafka Connect fails a task),
// and tells the lane how far it may commit. The lane (src/triggers/lane.ts) gives it batches in offset
// order under its lease and commits after it, so a crash anywhere only replays a batch: the sinks make
// a replay change nothing.
import type { ConnectorFailure, ConnectorSpec, Trigger } from '../model/trigger.ts';
import type { ProduceRecord } from '../produce/types.ts';
import type { AwsClients } from '../storage/clients.ts';
import type { TriggersTable } from '../storage/triggers-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { deadLetters, type Sink, type SinkRecord } from './records.ts';

export type ConnectorTarget = Extract<Trigger['target'], { type: 'connector' }>;

/** What the writer answers the lane: done through an offset, or a failed attempt. */
export type SinkAnswer = { ok: true; through: number } | { ok: false; error: string; unknown: boolean; stopped?: boolean };

export interface ConnectorWriterDeps {
  clients: AwsClients;
  topics: TopicService;
  triggers: TriggersTable;
  produce: (topic: string, records: ProduceRecord[]) => Promise<void>;
  /** After a connector stopped on a bad record (so a dispatcher drops its lanes at once). */
  onFailed?: (trigger: Trigger) => void;
}

const SINK_CLASSES: Record<ConnectorSpec['type'], string> = {
  'dynamodb-sink': 'floe.connectors.DynamoDbSinkConnector',
  's3-sink': 'floe.connectors.S3SinkConnector',
};

export class ConnectorWriter {
  constructor(private readonly deps: ConnectorWriterDeps) {}

  /** The sinks' modules (the S3 sink's Parquet writer among them) load when a connector first writes, not with every engine. */
  private async sink(spec: ConnectorSpec): Promise<Sink> {
    if (spec.type === 's3-sink') {
      const { S3Sink } = await import('./s3-sink.ts');
      return new S3Sink(spec.config, this.deps.clients);
    }
    const { DynamoDbSink } = await import('./dynamodb-sink.ts');
    return new DynamoDbSink(spec.config, { clients: this.deps.clients, topicId: async (t) => (await this.deps.topics.resolve(t)).id });
  }

  async write(trigger: Trigger, records: SinkRecord[], batch: { full: boolean; end: number }): Promise<SinkAnswer> {
    const target = trigger.target as ConnectorTarget;
    if (records.length === 0) return { ok: true, through: batch.end };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<SinkAnswer>((r) => {
      // Writes still under way after this are harmless: the sinks' writes are conditioned or never replace.
      timer = setTimeout(() => r({ ok: false, error: `the sink did not finish within ${target.timeoutMs} ms`, unknown: true }), target.timeoutMs);
    });
    return Promise.race([this.apply(trigger, target.connector, records, batch), late]).finally(() => clearTimeout(timer));
  }

  private async apply(trigger: Trigger, spec: ConnectorSpec, records: SinkRecord[], batch: { full: boolean; end: number }): Promise<SinkAnswer> {
    try {
      const outcome = await (await this.sink(spec)).write(records, { stopAtBad: spec.tolerance === 'none', full: batch.full, batchEnd: batch.end });
      if (outcome.stopped) {
        const { record, error } = outcome.stopped;
        const failure: ConnectorFailure = { message: `${error.stage}: ${error.message}`, topic: record.topic, partition: record.partition, offset: record.offset, at: Date.now() };
        // Settings changed since this batch began (a PATCH, a resume): the lane tries again with them instead.
        const stopped = await this.fail(trigger, failure);
        return { ok: false, error: `connector '${spec.name}' stopped at ${record.topic}-${record.partition}@${record.offset} (errors.tolerance=none): ${failure.message}`, unknown: false, stopped };
      }
      // Without a dead-letter topic, `all` skips bad records (as Kafka Connect does).
      if (outcome.bad.length > 0 && spec.deadLetterTopic) await this.deps.produce(spec.deadLetterTopic, deadLetters(spec.name, SINK_CLASSES[spec.type], outcome.bad));
      return { ok: true, through: outcome.through };
    } catch (e) {
      return { ok: false, error: `${spec.type} '${spec.name}': ${(e as Error).name}: ${(e as Error).message}`, unknown: false };
    }
  }

  /** Marks the connector failed and pauses it, on condition its settings are still those the batch ran with. */
  private async fail(ran: Trigger, failure: ConnectorFailure): Promise<boolean> {
    if (ran.target.type !== 'connector') return false;
    const next: Trigger = { ...ran, enabled: false, target: { ...ran.target, connector: { ...ran.target.connector, failure } }, updatedAt: Date.now(), version: ran.version + 1 };
    if (!(await this.deps.triggers.replace(next, ran.version))) return false;
    this.deps.onFailed?.(next);
    return true;
  }
}
