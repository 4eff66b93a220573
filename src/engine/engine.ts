// The engine: everything Floe does, wired to its configuration and AWS clients once per process.
// It knows nothing of HTTP or Lambda; the API layer and the job runners call into it.
import type { FloeConfig } from '../config.ts';
import { NO_METRICS, type Metrics } from '../metrics.ts';
import { AppendNotifier } from '../fetch/append-notifier.ts';
import { Fetcher } from '../fetch/fetch.ts';
import { LogAppender } from '../produce/produce.ts';
import type { AwsClients } from '../storage/clients.ts';
import { DataBucket } from '../storage/data-bucket.ts';
import { LogTable } from '../storage/log-table.ts';
import { ObjectsTable } from '../storage/objects-table.ts';
import { ProducersTable } from '../storage/producers-table.ts';
import { TopicsTable } from '../storage/topics-table.ts';
import { TopicService } from '../topics/topics.ts';
import { GroupAdmin } from '../groups/admin.ts';
import { ConsumerManager } from '../groups/consumer-manager.ts';
import { GroupCoordinator } from '../groups/coordinator.ts';
import { GroupsTable } from '../storage/groups-table.ts';
import { partitionKey } from '../storage/keys.ts';
import { mapBounded } from '../map-bounded.ts';
import { Watermarks } from '../watermark/watermark.ts';
import { TransactionsTable } from '../storage/transactions-table.ts';
import { TransactionCoordinator } from '../transactions/coordinator.ts';
import { TriggersTable } from '../storage/triggers-table.ts';
import { LambdaFunctions } from '../storage/functions.ts';
import { TriggerDispatcher, type DispatcherDeps } from '../triggers/dispatcher.ts';
import { TriggerService } from '../triggers/service.ts';
import { Targets, type TargetInvoker } from '../triggers/targets.ts';
import type { AttemptEvent } from '../triggers/lane.ts';
import { TablesTable } from '../storage/tables-table.ts';
import { TableService } from '../tables/service.ts';
import { TableWriter } from '../tables/writer.ts';
import { ConnectorService } from '../connectors/service.ts';
import { ConnectorWriter } from '../connectors/writer.ts';
import type { ProduceRecord } from '../produce/types.ts';

export interface Engine {
  config: FloeConfig;
  clients: AwsClients;
  topics: TopicService;
  producer: LogAppender;
  fetcher: Fetcher;
  log: LogTable;
  objects: ObjectsTable;
  bucket: DataBucket;
  watermarks: Watermarks;
  consumers: ConsumerManager;
  groupAdmin: GroupAdmin;
  transactions: TransactionCoordinator;
  triggers: TriggerService;
  /** Tables kept from topics by internal triggers (their writes are the dispatcher's). */
  tables: TableService;
  /** Sink connectors: internal triggers whose target is a sink into a user's DynamoDB table or S3 bucket. */
  connectors: ConnectorService;
  /** Delivers triggers' records; runs only where a runtime wakes it (the local server, the dispatcher function). */
  dispatcher: TriggerDispatcher;
  /** Work started for acks=0 produces, so a server can let it finish before it stops. */
  background: Set<Promise<unknown>>;
}

export interface EngineOptions {
  metrics?: Metrics;
  /**
   * The local runtime: triggers may call modules and URLs, and this process's dispatcher is woken by its
   * own commits and told of trigger changes at once.
   */
  local?: boolean;
  /** The API URL that trigger events name as `bootstrapServers`. */
  apiUrl?: string;
  /** Replaces how trigger targets are called (fault tests wrap it). */
  targets?: TargetInvoker;
  onTriggerAttempt?: (e: AttemptEvent) => void;
  onTriggerCommitted?: DispatcherDeps['onCommitted'];
  /** Shortest trigger lease (ms; 60 s by default): fault runs shorten it so a crashed dispatcher's lanes come back soon. */
  triggerLeaseMs?: number;
  /** First trigger retry's backoff (ms; 1 s by default), doubling per attempt. */
  triggerBackoffMs?: number;
  triggerLog?: (line: string) => void;
  /** The time limit of one sink call of the connectors this engine creates (ms; 60 s by default): fault runs shorten it, and with it the lease. */
  connectorTimeoutMs?: number;
}

export function createEngine(config: FloeConfig, clients: AwsClients, options: EngineOptions = {}): Engine {
  const metrics = options.metrics ?? NO_METRICS;
  let dispatcher: TriggerDispatcher | undefined;
  const log = new LogTable(clients, config.tables.log);
  const objects = new ObjectsTable(config.tables.objects, clients);
  const bucket = new DataBucket(clients, config.bucket);
  const watermarks = new Watermarks({ clients, log, objects, bucket, holeFillMs: config.holeFillMs });
  const topics = new TopicService(new TopicsTable(clients, config.tables.topics), {
    defaultPartitions: config.defaultPartitions,
    autoCreate: config.autoCreateTopics,
    // Heads of a deleted topic's partitions take no more allocations (retention reclaims them).
    onDeleted: (t) => mapBounded([...Array(t.partitions).keys()], 16, (p) => log.markGone(partitionKey(t.id, p))),
  });
  const notifier = new AppendNotifier();
  const producers = new ProducersTable(clients, config.tables.producers);
  const producer = new LogAppender({
    clients,
    topics,
    log,
    objects,
    bucket,
    producers,
    watermarks,
    metrics,
    onCommit: (id, p) => {
      notifier.notify(id, p);
      if (options.local) void dispatcher?.wake(id, p).catch(() => undefined);
    },
    // A group's object holds at most what one request may carry.
    groupCommit: { windowMs: config.groupCommitMs, maxBytes: config.maxRequestBytes },
    soleCommits: config.soleCommits,
  });
  const fetcher = new Fetcher({ topics, log, bucket, notifier, watermarks, cacheBytes: config.fetchCacheBytes, maxWaitMs: config.maxFetchWaitMs, maxBytes: config.maxFetchBytes, metrics });
  const groups = new GroupsTable(clients, config.tables.groups);
  const coordinator = new GroupCoordinator(groups, topics, fetcher);
  const consumers = new ConsumerManager(groups, coordinator, topics, fetcher, { sessionTimeoutMs: config.groupSessionTimeoutMs, maxWaitMs: config.maxFetchWaitMs, maxBytes: config.maxFetchBytes, metrics });
  const groupAdmin = new GroupAdmin(groups, topics, fetcher);
  const transactions = new TransactionCoordinator({
    clients,
    table: new TransactionsTable(clients, config.tables.transactions),
    topics,
    objects,
    producers,
    groups,
    bucket,
    appender: producer.batchAppender,
    upload: (t, records, p) => producer.upload(t, records, p),
  });
  const triggersTable = new TriggersTable(clients, config.tables.triggers);
  const tablesTable = new TablesTable(clients, config.tables.tables);
  const produceOrThrow = async (topic: string, records: ProduceRecord[]) => {
    const r = await producer.produce(topic, records);
    const failed = r.records.find((x) => 'error' in x);
    if (failed && 'error' in failed) throw failed.error;
  };
  dispatcher = new TriggerDispatcher({
    clients,
    triggers: triggersTable,
    groups,
    topics,
    fetcher,
    log,
    targets: options.targets ?? new Targets(new LambdaFunctions(config.region, config.lambdaEndpoint), options.local === true),
    tableWriter: new TableWriter({ tables: tablesTable, topics }),
    connectorWriter: new ConnectorWriter({ clients, topics, triggers: triggersTable, produce: produceOrThrow, onFailed: () => dispatcher?.invalidate() }),
    produce: produceOrThrow,
    bootstrapServers: options.apiUrl ?? process.env.FLOE_API_URL ?? '',
    ...(options.onTriggerAttempt ? { onAttempt: options.onTriggerAttempt } : {}),
    ...(options.onTriggerCommitted ? { onCommitted: options.onTriggerCommitted } : {}),
    ...(options.triggerLeaseMs !== undefined ? { leaseMs: options.triggerLeaseMs } : {}),
    ...(options.triggerBackoffMs !== undefined ? { backoffBaseMs: options.triggerBackoffMs } : {}),
    ...(options.triggerLog ? { logLine: options.triggerLog } : {}),
  });
  const d = dispatcher;
  const triggers = new TriggerService({
    clients,
    triggers: triggersTable,
    groups,
    topics,
    fetcher,
    region: config.region,
    policy: { localTargets: options.local === true },
    onChange: options.local
      ? (t, redrives) => {
          d.invalidate();
          // Deliver at once what the change made due (a resume, a seek back, a redrive).
          void d.kick(t.name, redrives).catch(() => undefined);
        }
      : undefined,
  });
  const tables = new TableService({ tables: tablesTable, triggers, groups, topics, fetcher, region: config.region });
  const connectors = new ConnectorService({ clients, triggers, topics, region: config.region, ...(options.connectorTimeoutMs !== undefined ? { sinkTimeoutMs: options.connectorTimeoutMs } : {}) });
  return { config, clients, topics, producer, fetcher, log, objects, bucket, watermarks, consumers, groupAdmin, transactions, triggers, tables, connectors, dispatcher, background: new Set() };
}
