// Sink connectors as the API manages them (README, "Connectors"): create, list, describe (state, per
// partition committed offset and lag, last error, records written, dead letters), PATCH, pause,
// resume, delete, and an offset reset. A connector is an internal trigger named `connector:<name>`
// whose target is the connector writer (src/connectors/writer.ts): leases, fencing, order, retries and
// wake-ups are the trigger's. Its offsets are those of the consumer group `connect-<name>`, as a Kafka
// Connect sink's are, so they outlive a delete and a re-create of the same name resumes from them.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ulid } from 'ulid';
import { FloeError } from '../errors.ts';
import { INTERNAL_TRIGGER_DEFAULTS, TRIGGER_LIMITS, type ConnectorSpec, type Trigger } from '../model/trigger.ts';
import type { AwsClients } from '../storage/clients.ts';
import type { SeekTarget, TriggerService } from '../triggers/service.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { CONNECTOR_LIMITS, connectorRequest, validateConnectorName, type ConnectorRequest } from './config.ts';

export interface ConnectorServiceDeps {
  clients: AwsClients;
  triggers: TriggerService;
  topics: TopicService;
  region: string;
  /** The time limit of one sink call (default 60 s); the lease of a connector's lanes is twice it at least. */
  sinkTimeoutMs?: number;
}

const PREFIX = 'connector:';
/** How long one sink call may take before the attempt counts as failed (and is retried). */
const SINK_TIMEOUT_MS = 60_000;

export const connectorTriggerName = (name: string) => `${PREFIX}${name}`;
export const connectorGroup = (name: string) => `connect-${name}`;

type State = 'RUNNING' | 'PAUSED' | 'FAILED';

function notFound(name: string): FloeError {
  return new FloeError('CONNECTOR_NOT_FOUND', `Connector '${name}' not found.`);
}

function specOf(t: Trigger): ConnectorSpec {
  if (t.target.type !== 'connector') throw new Error(`trigger ${t.name} is not a connector's`);
  return t.target.connector;
}

function stateOf(t: Trigger): State {
  return specOf(t).failure ? 'FAILED' : t.enabled ? 'RUNNING' : 'PAUSED';
}

export class ConnectorService {
  constructor(private readonly deps: ConnectorServiceDeps) {}

  /** The destination is there and fits the settings (a DynamoDB table's keys, an S3 bucket). */
  private async checkDestination(spec: ConnectorRequest['spec']): Promise<void> {
    if (spec.type === 'dynamodb-sink') {
      const { describeTargetTable } = await import('./dynamodb-sink.ts');
      await describeTargetTable(this.deps.clients, spec.config);
      return;
    }
    try {
      await this.deps.clients.s3.send(new HeadBucketCommand({ Bucket: spec.config['s3.bucket.name'] }));
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || status === 403) throw new FloeError('INVALID_CONFIG', `s3.bucket.name: bucket '${spec.config['s3.bucket.name']}' ${status === 404 ? 'does not exist' : 'is not reachable with Floe\'s credentials'}`);
      throw e;
    }
  }

  private async topicsOf(names: string[]): Promise<Topic[]> {
    return Promise.all(names.map((n) => this.deps.topics.describe(n)));
  }

  /** The dead-letter topic exists from the start (as many partitions as the largest source), as a trigger's does. */
  private async ensureDeadLetterTopic(name: string | null, sources: Topic[]): Promise<void> {
    if (!name) return;
    try {
      await this.deps.topics.describe(name);
    } catch (e) {
      if (!(e instanceof FloeError && e.code === 'TOPIC_NOT_FOUND')) throw e;
      await this.deps.topics.create({ name, partitions: Math.max(...sources.map((t) => t.partitions)) }).catch((err: unknown) => {
        if (!(err instanceof FloeError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err;
      });
    }
  }

  private triggerOf(req: ConnectorRequest, now: number): Trigger {
    const { spec, topics } = req;
    return {
      name: connectorTriggerName(spec.name),
      topics,
      target: { type: 'connector', connector: { ...spec, failure: null }, timeoutMs: this.deps.sinkTimeoutMs ?? SINK_TIMEOUT_MS },
      group: connectorGroup(spec.name),
      // A batch from an object's start holds the whole object, with room for bad records among its records.
      batchSize: spec.type === 's3-sink' ? Math.min(TRIGGER_LIMITS.batchSize.max, 2 * Number(spec.config['flush.size'])) : CONNECTOR_LIMITS.dynamoBatch,
      maxBatchingWindowMs: spec.type === 's3-sink' ? 500 : 0,
      // Bad records are the sink's to handle (its dead letters), never the lane's.
      ...INTERNAL_TRIGGER_DEFAULTS,
      filters: [],
      deadLetterTopic: spec.deadLetterTopic ?? '',
      id: `arn:floe:connector:${this.deps.region}:${spec.name}/${ulid(now)}`,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
  }

  async create(body: unknown) {
    const req = connectorRequest(body);
    if (await this.deps.triggers.find(connectorTriggerName(req.spec.name))) throw new FloeError('CONNECTOR_ALREADY_EXISTS', `Connector '${req.spec.name}' already exists.`);
    const sources = await this.topicsOf(req.topics);
    await this.checkDestination(req.spec);
    await this.ensureDeadLetterTopic(req.spec.deadLetterTopic, sources);
    const t = this.triggerOf(req, Date.now());
    if (await this.deps.triggers.find(t.name)) throw new FloeError('CONNECTOR_ALREADY_EXISTS', `Connector '${req.spec.name}' already exists.`);
    await this.deps.triggers.createInternal(t);
    return this.view(t);
  }

  private async get(name: string): Promise<Trigger> {
    validateConnectorName(name);
    const t = await this.deps.triggers.find(connectorTriggerName(name));
    if (!t || t.target.type !== 'connector') throw notFound(name);
    return t;
  }

  private view(t: Trigger) {
    const spec = specOf(t);
    return {
      name: spec.name,
      type: spec.type,
      topics: t.topics,
      config: spec.config,
      'errors.tolerance': spec.tolerance,
      'errors.deadletterqueue.topic.name': spec.deadLetterTopic,
      state: stateOf(t),
      error: spec.failure ? { message: spec.failure.message, topic: spec.failure.topic, partition: spec.failure.partition, offset: spec.failure.offset, time: spec.failure.at } : null,
      created_at: t.createdAt,
      updated_at: t.updatedAt,
    };
  }

  async list() {
    return (await this.deps.triggers.listInternal('connector')).map((t) => this.view(t));
  }

  /** The settings and state, and per partition where the connector stands (its trigger's view of its lanes). */
  async describe(name: string) {
    const t = await this.get(name);
    const d = await this.deps.triggers.describeTrigger(t);
    const partitions = (d.partitions as Array<Record<string, unknown>>).map((p) => ({
      topic: p.topic,
      partition: p.partition,
      committed_offset: p.committed_offset,
      high_watermark: p.high_watermark,
      lag: p.lag,
      lag_ms: p.lag_ms,
      records_written: p.delivered,
      retry_at: p.retry_at,
      last_error: p.last_error,
    }));
    const spec = specOf(t);
    return {
      ...this.view(t),
      lag: partitions.reduce((s, p) => s + (p.lag as number), 0),
      records_written: partitions.reduce((s, p) => s + (p.records_written as number), 0),
      dead_letters: spec.deadLetterTopic ? d.dead_letters : null,
      partitions,
    };
  }

  /** Replaces what the body names; a changed sink setting takes effect with the next batch. */
  async patch(name: string, body: unknown) {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(name);
      const req = connectorRequest(body, { spec: specOf(current), topics: current.topics });
      const sources = await this.topicsOf(req.topics);
      await this.checkDestination(req.spec);
      if (req.spec.deadLetterTopic !== specOf(current).deadLetterTopic) await this.ensureDeadLetterTopic(req.spec.deadLetterTopic, sources);
      const fresh = this.triggerOf(req, Date.now());
      const next: Trigger = { ...fresh, id: current.id, createdAt: current.createdAt, enabled: current.enabled, version: current.version + 1, target: { ...fresh.target, connector: { ...req.spec, failure: specOf(current).failure } } as Trigger['target'] };
      if (await this.deps.triggers.replaceInternal(current, next)) return this.view(next);
      if (attempt >= 4) throw new FloeError('ILLEGAL_STATE', `connector '${name}' kept changing while it was being changed; try again`);
    }
  }

  /** Pause, or resume (which also clears a failure: the connector tries the record it stopped at again). */
  async setRunning(name: string, running: boolean) {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(name);
      const spec = specOf(current);
      const next: Trigger = { ...current, enabled: running, target: { ...current.target, connector: { ...spec, failure: running ? null : spec.failure } } as Trigger['target'], updatedAt: Date.now(), version: current.version + 1 };
      if (await this.deps.triggers.replaceInternal(current, next)) return this.view(next);
      if (attempt >= 4) throw new FloeError('ILLEGAL_STATE', `connector '${name}' kept changing while it was being changed; try again`);
    }
  }

  async delete(name: string): Promise<void> {
    const t = await this.get(name);
    if (!(await this.deps.triggers.deleteInternal(t.name))) throw notFound(name);
  }

  /** Moves the connector's partitions (all, one topic's, or one) to a position; a batch under way cannot commit over it. */
  async resetOffsets(name: string, target: SeekTarget, only?: { topic?: string; partition?: number }) {
    const t = await this.get(name);
    return { connector: name, offsets: await this.deps.triggers.seekTrigger(t, target, only) };
  }
}
