// Least privilege that still works: every route of the HTTP API, every job, the trigger dispatcher's
// runs and the trigger custom resource's events are driven through the engine against DynamoDB Local
// and the S3 emulator, each AWS call is recorded as the IAM action it needs, and each is checked
// against the grants of the function that makes it (for a request, the one API Gateway would send it
// to: the same list the CDK stack builds its routes and role policies from). A call outside a function's
// grants would be an AccessDenied in a real account; a grant no call uses is access to take away.
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTOR_GRANTS, DDB_ACTIONS, FUNCTIONS, routeOf, S3_ACTIONS, tableActions, type FunctionSpec } from '../src/manifest.ts';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createApp } from '../src/api/app.ts';
import { createEngine, type Engine, type EngineOptions } from '../src/engine/engine.ts';
import { FloeError } from '../src/errors.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { partitionForKey } from '../src/log/partitioner.ts';
import { createClients } from '../src/storage/clients.ts';
import { runJob } from '../src/jobs/run.ts';
import { runGc } from '../src/jobs/gc.ts';
import type { JobSummary } from '../src/jobs/summary.ts';
import { DATA_PREFIX } from '../src/storage/keys.ts';
import { LOG_TIME_INDEX, TXN_DUE_INDEX, type TableName } from '../src/storage/schema.ts';
import { TransactionsTable } from '../src/storage/transactions-table.ts';
import type { TargetInvoker } from '../src/triggers/targets.ts';
import { b64, BINARY, isolatedEngine, JSON_V2, V2 } from './support/engine.ts';
import { randomTopic } from './support/env.ts';
import { appClient, readInProcessBody, type HttpClient, type Reply } from './support/http.ts';

/** One AWS call as IAM sees it: the action, and the table (with index) or object key it touches. */
interface Call {
  action: string;
  /** A table that is none of Floe's (a connector's destination): `user:<name>`. */
  table?: string;
  /** An S3 call on a bucket that is not Floe's (a connector's destination). */
  userBucket?: string;
  index?: string;
  key?: string;
}

type Input = Record<string, unknown> & { TableName?: string; IndexName?: string; Key?: unknown; Prefix?: string; Bucket?: string };

const TRANSACT_ACTIONS: Record<string, string> = { ConditionCheck: 'ConditionCheckItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', Get: 'GetItem' };

/** The IAM actions a DynamoDB request needs (a transaction: one per item, on that item's table). */
function dynamoCalls(operation: string, input: Input): Call[] {
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(input.RequestItems as object).map((table) => ({ action: `dynamodb:${operation}`, table }));
    case 'TransactWriteItems':
    case 'TransactGetItems':
      return (input.TransactItems as Array<Record<string, { TableName: string }>>).map((item) => {
        const [kind, body] = Object.entries(item)[0]!;
        return { action: `dynamodb:${TRANSACT_ACTIONS[kind] ?? kind}`, table: body.TableName };
      });
    default:
      return [{ action: `dynamodb:${operation}`, ...(input.TableName ? { table: input.TableName } : {}), ...(input.IndexName ? { index: input.IndexName } : {}) }];
  }
}

/** The IAM actions an S3 request needs: HeadObject is s3:GetObject, listing is s3:ListBucket on a prefix. */
function s3Calls(operation: string, input: Input): Call[] {
  switch (operation) {
    case 'GetObject':
    case 'HeadObject':
      return [{ action: 's3:GetObject', key: String(input.Key) }];
    case 'PutObject':
    case 'DeleteObject':
      return [{ action: `s3:${operation}`, key: String(input.Key) }];
    case 'DeleteObjects':
      return ((input.Delete as { Objects: Array<{ Key: string }> }).Objects ?? []).map((o) => ({ action: 's3:DeleteObject', key: o.Key }));
    case 'ListObjectsV2':
    case 'ListObjects':
      return [{ action: 's3:ListBucket', key: input.Prefix ?? '' }];
    // IAM authorizes HeadBucket as s3:ListBucket on the bucket.
    case 'HeadBucket':
      return [{ action: 's3:ListBucket' }];
    default:
      return [{ action: `s3:${operation}` }];
  }
}

function record(engine: Engine, calls: Call[]): void {
  const tableNames = new Map(Object.entries(engine.config.tables).map(([logical, physical]) => [physical, logical]));
  const recorder = (toCalls: (op: string, input: Input) => Call[]) =>
    ((next: (args: { input: Input }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Input }) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      for (const c of toCalls(op, args.input)) {
        if (c.table) calls.push({ ...c, table: tableNames.get(c.table) ?? `user:${c.table}` });
        else if (c.action.startsWith('s3:') && args.input.Bucket !== undefined && args.input.Bucket !== engine.config.bucket) calls.push({ ...c, userBucket: args.input.Bucket });
        else calls.push(c);
      }
      return next(args);
    }) as never;
  engine.clients.ddb.middlewareStack.add(recorder(dynamoCalls), { step: 'build', name: 'iamRecorder' });
  engine.clients.s3.middlewareStack.add(recorder(s3Calls), { step: 'build', name: 'iamRecorder' });
}

/** The grant a call needs, as the stack writes it; undefined when the function's role allows the call. */
function denied(spec: FunctionSpec, call: Call): string | undefined {
  const what = `${spec.entry} calls ${call.action} on ${call.table ?? (call.userBucket ? `${call.userBucket}/` : '') + (call.key ?? '?')}${call.index ? `/index/${call.index}` : ''}`;
  // A connector's destination: only what FloeConnector grants the function, on that table or bucket.
  if (call.table?.startsWith('user:') || call.userBucket !== undefined) {
    const sink = call.userBucket !== undefined ? CONNECTOR_GRANTS['s3-sink'] : CONNECTOR_GRANTS['dynamodb-sink'];
    const role = spec.entry === CONNECTOR_GRANTS.functions.writer ? 'writer' : spec.entry === CONNECTOR_GRANTS.functions.checker ? 'checker' : undefined;
    const keyOk = call.action !== 's3:PutObject' || (call.key ?? '').startsWith(`${CONNECTOR_DIR}/`);
    return role && (sink[role] as readonly string[]).includes(call.action) && keyOk ? undefined : what;
  }
  if (call.action.startsWith('dynamodb:')) {
    if (!call.table || !tableActions(spec, call.table as TableName).includes(call.action)) return what;
    if (call.index && !((call.table === 'log' && call.index === LOG_TIME_INDEX.name) || (call.table === 'transactions' && call.index === TXN_DUE_INDEX.name))) return what;
    return undefined;
  }
  const granted = spec.s3.map((a) => S3_ACTIONS[a]);
  if (!granted.includes(call.action) || !(call.key ?? '').startsWith(DATA_PREFIX)) return what;
  return undefined;
}

const granted = (spec: FunctionSpec) => [
  ...(Object.keys(spec.tables) as TableName[]).flatMap((t) => tableActions(spec, t).map((a) => `${a} ${t}`)),
  ...spec.s3.map((a) => S3_ACTIONS[a]),
];
// A connector's destination is granted by FloeConnector, not by the function's own grants: not counted here.
const used = (calls: Call[]) => calls.filter((c) => !c.table?.startsWith('user:') && c.userBucket === undefined).map((c) => (c.action.startsWith('dynamodb:') ? `${c.action} ${c.table}` : c.action));

/** The `topics.dir` of the S3 sink the connector runs use. */
const CONNECTOR_DIR = 'iam-sink';

let config: Engine['config'];

beforeAll(async () => {
  // Tables and a bucket of their own: the jobs scan every topic and list the whole bucket.
  config = (await isolatedEngine({ FLOE_GROUP_SESSION_TIMEOUT_MS: '3000' })).config;
});

/**
 * One test's traffic and what it found: an engine per function, as in the cloud (caches are per
 * function, so each makes its own calls), each call checked against the grants of the function that
 * made it, and per function the grants its calls used.
 */
class GrantRun {
  readonly problems: string[] = [];
  readonly usedBy = new Map<string, Set<string>>();
  private readonly engines = new Map<string, { engine: Engine; api: HttpClient }>();
  private readonly calls: Call[] = [];

  /** The engine of one function, made on first use (with `options`, which only that first use applies). */
  functionEngine(entry: string, options: EngineOptions = {}): { engine: Engine; api: HttpClient } {
    let e = this.engines.get(entry);
    if (!e) {
      const engine = createEngine(config, createClients(config), options);
      record(engine, this.calls);
      e = { engine, api: appClient(createApp(engine, { awaitUnacknowledgedWrites: true, readBody: readInProcessBody }), { type: V2 }) };
      this.engines.set(entry, e);
    }
    return e;
  }

  /** Sends one request as API Gateway would route it, and checks its calls against that function's grants. */
  readonly send = async (method: string, path: string, opts: { body?: unknown; type?: string; accept?: string } = {}): Promise<Reply> => {
    const spec = routeOf(method, path.split('?')[0]!);
    expect(spec, `${method} ${path} reaches a function`).toBeDefined();
    const { engine, api } = this.functionEngine(spec!.entry);
    this.calls.length = 0;
    const res = await api.request(method, path, opts.body, { accept: opts.accept ?? '*/*', ...(opts.type !== undefined ? { type: opts.type } : {}) });
    await Promise.all(engine.background);
    this.check(spec!, `${method} ${path}`);
    return res;
  };

  /** Runs one job on its function's engine and checks its calls against that function's grants. */
  async job(name: 'retention' | 'compaction' | 'gc', run: (e: Engine) => Promise<JobSummary>): Promise<JobSummary> {
    return this.invoke(name, name, run);
  }

  /**
   * Runs `work` on a function's engine as an invocation other than an HTTP request (a job, a stream
   * batch or sweep of the dispatcher, a custom resource event of the triggers function) and checks its calls.
   */
  async invoke<T>(entry: FunctionSpec['entry'], what: string, work: (e: Engine) => Promise<T>, options: EngineOptions = {}): Promise<T> {
    const e = this.functionEngine(entry, options).engine;
    this.calls.length = 0;
    const result = await work(e);
    this.check(FUNCTIONS.find((f) => f.entry === entry)!, what);
    return result;
  }

  private check(spec: FunctionSpec, what: string): void {
    const set = this.usedBy.get(spec.entry) ?? new Set<string>();
    this.usedBy.set(spec.entry, set);
    for (const c of this.calls) {
      const d = denied(spec, c);
      if (d) this.problems.push(`${what}: ${d}`);
    }
    for (const u of used(this.calls)) set.add(u);
  }
}

/**
 * The commit's answer lost after DynamoDB applied it, outside the SDK's retries: the producer must then
 * look for its own index entry (the one read only that path makes).
 */
function loseNextCommitResponse(engine: Engine): void {
  let armed = true;
  engine.clients.ddb.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const out = await next(args);
      if (armed && context.commandName === 'TransactWriteItemsCommand') {
        armed = false;
        throw Object.assign(new Error('injected: the answer to an applied commit was lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return out;
    }) as never,
    { step: 'initialize', name: 'loseCommitResponse' },
  );
}

async function ok(res: Promise<Reply>, status = 200): Promise<unknown> {
  const r = await res;
  expect(r.status, r.text).toBe(status);
  return r.body;
}

/**
 * A topic of one partition with records in two batches, written by an engine no function owns: what
 * the read routes need to find, made without counting as any function's calls.
 */
async function seededTopic(): Promise<string> {
  const topic = randomTopic('iam');
  const setup = createEngine(config, createClients(config));
  await setup.topics.create({ name: topic, partitions: 1 });
  await setup.producer.produce(topic, [{ key: Buffer.from('"a"'), value: Buffer.from('{"n":1}') }]);
  await setup.producer.produce(topic, [{ key: null, value: Buffer.from('x') }, { key: null, value: Buffer.from('y') }]);
  return topic;
}

/**
 * A producer that died between its allocation and its commit, long enough ago that its range may be
 * filled: made by an engine no function owns, so whichever function meets the hole pays for filling it.
 */
async function crashedAllocation(topicName: string, partition = 0): Promise<void> {
  const setup = createEngine(config, createClients(config));
  const topic = await setup.topics.resolve(topicName);
  const at = Date.now() - setup.config.holeFillMs - 1000;
  const head = await setup.log.allocate(partitionKey(topic.id, partition), { count: 3, maxTimestamp: at, at, tag: 'crashed' }, async () => undefined);
  expect(head).not.toBe('gone');
}

/** Every produce route: auto-creation, json and binary, a partition, acks=0, v3 with headers, idempotent native, a lost commit answer. Returns the topic written. */
async function produceRoutes(run: GrantRun): Promise<string> {
  const topic = randomTopic('iam');
  const compacted = randomTopic('iamc');
  const { send } = run;
  await ok(send('POST', `/topics/${topic}`, { type: JSON_V2, body: { records: [{ key: 'a', value: { n: 1 } }] } }));
  await ok(send('POST', `/v3/clusters/floe/topics`, { type: 'application/json', body: { topic_name: compacted, partitions_count: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '1' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] } }), 201);
  await ok(send('POST', `/topics/${topic}/partitions/0`, { type: BINARY, body: { records: [{ value: b64('x') }, { value: b64('y') }] } }));
  await ok(send('POST', `/topics/${topic}?acks=0`, { type: BINARY, body: { records: [{ value: b64('z') }] } }));
  await ok(send('POST', `/v3/clusters/floe/topics/${topic}/records`, { type: 'application/json', body: { headers: [{ name: 'h', value: b64('v') }], value: { type: 'STRING', data: 'v3' } } }));
  const pid = (await ok(send('POST', '/floe/v1/producer-ids', { type: 'application/json', body: {} }))) as { producer_id: number };
  const native = { producer_id: pid.producer_id, producer_epoch: 0, sequence: 0, records: [{ value: b64('idem'), partition: 0 }] };
  const first = (await ok(send('POST', `/floe/v1/topics/${topic}/records`, { type: 'application/json', body: native }))) as { records: Array<{ offset: number }> };
  await ok(send('POST', `/floe/v1/topics/${topic}/records`, { type: 'application/json', body: native })); // the retry
  loseNextCommitResponse(run.functionEngine('produce').engine);
  const after = (await ok(send('POST', `/topics/${topic}/partitions/0`, { type: BINARY, body: { records: [{ value: b64('lost answer') }] } }))) as { offsets: Array<{ offset: number }> };
  expect(after.offsets[0]!.offset).toBe(first.records[0]!.offset + 1); // committed once, answered as committed
  // Behind a dead producer's range: the produce waits for the high watermark, and fills the hole.
  await crashedAllocation(topic);
  await ok(send('POST', `/topics/${topic}/partitions/0`, { type: BINARY, body: { records: [{ value: b64('behind a hole') }] } }));
  for (let round = 0; round < 4; round++) {
    await ok(send('POST', `/topics/${compacted}`, { type: BINARY, body: { records: [0, 1, 2].map((k) => ({ key: b64(`k${k}`), value: b64(`v${round}`) })) } }));
  }
  return topic;
}

/** Every fetch route, on a topic with records at offsets 0 to 2 at least. */
async function fetchRoutes(run: GrantRun, topic: string): Promise<void> {
  const { send } = run;
  await ok(send('GET', `/topics/${topic}/partitions/0/records?offset=0`, { accept: JSON_V2 }));
  await ok(send('GET', `/topics/${topic}/partitions/0/records?offset=1`, { accept: BINARY }));
  await ok(send('GET', `/topics/${topic}/partitions/0/offsets`));
  await ok(send('GET', `/floe/v1/topics/${topic}/partitions/0/records?offset=earliest&max_records=2`));
  await ok(send('GET', `/floe/v1/topics/${topic}/partitions/0/records?timestamp=${Date.now() - 60_000}`));
  await ok(send('GET', `/floe/v1/topics/${topic}/partitions/0/offsets?timestamp=${Date.now() - 60_000}`));
  await ok(send('GET', `/floe/v1/topics/${topic}/partitions/0/records?offset=latest&timeout=300`));
  // A reader at the tail, behind a dead producer's range: it fills the hole.
  await crashedAllocation(topic);
  await ok(send('GET', `/floe/v1/topics/${topic}/partitions/0/records?offset=latest&timeout=300`));
}

/** Every admin route, and requests no route names, around an existing topic and one made and deleted here. */
async function adminRoutes(run: GrantRun, topic: string): Promise<void> {
  const { send } = run;
  const doomed = randomTopic('iamd');
  await ok(send('GET', '/'));
  await ok(send('GET', '/topics'));
  await ok(send('GET', `/topics/${topic}`));
  await ok(send('GET', `/topics/${topic}/partitions`));
  await ok(send('GET', `/topics/${topic}/partitions/0`));
  await ok(send('GET', '/brokers'));
  await ok(send('GET', '/v3/clusters'));
  await ok(send('GET', '/v3/clusters/floe'));
  await ok(send('GET', '/v3/clusters/floe/topics'));
  await ok(send('POST', '/v3/clusters/floe/topics', { type: 'application/json', body: { topic_name: doomed, partitions_count: 2 } }), 201);
  await ok(send('GET', `/v3/clusters/floe/topics/${doomed}`));
  await ok(send('GET', `/v3/clusters/floe/topics/${doomed}/configs`));
  await ok(send('GET', `/v3/clusters/floe/topics/${doomed}/configs/retention.ms`));
  await ok(send('PUT', `/v3/clusters/floe/topics/${doomed}/configs/retention.ms`, { type: 'application/json', body: { value: '1000' } }), 204);
  await ok(send('POST', `/v3/clusters/floe/topics/${doomed}/configs:alter`, { type: 'application/json', body: { data: [{ name: 'retention.bytes', value: '4096' }] } }), 204);
  await ok(send('DELETE', `/v3/clusters/floe/topics/${doomed}/configs/retention.bytes`), 204);
  await ok(send('POST', `/topics/${doomed}`, { type: BINARY, body: { records: [{ value: b64('gone soon') }] } }));
  await ok(send('DELETE', `/v3/clusters/floe/topics/${doomed}`), 204);
  await ok(send('GET', '/no/such/path'), 404);
  await ok(send('DELETE', `/topics/${topic}`), 405);
}

/** Every consumer route and group admin route, in a group of its own reading `topic` (records at offsets 0 and 1 at least). */
async function consumerRoutes(run: GrantRun, topic: string): Promise<void> {
  const { send } = run;
  const consumerGroup = randomTopic('iamg');
  const base = `/consumers/${consumerGroup}/instances`;
  await ok(send('POST', `/consumers/${consumerGroup}`, { body: { name: 'c1', format: 'binary', 'auto.offset.reset': 'earliest' } }));
  await ok(send('POST', `${base}/c1/subscription`, { body: { topics: [topic] } }), 204);
  await ok(send('GET', `${base}/c1/subscription`));
  await ok(send('GET', `${base}/c1/records?timeout=500`, { accept: BINARY }));
  await ok(send('GET', `${base}/c1/records?timeout=200`, { accept: BINARY })); // auto-commits the first
  await new Promise((r) => setTimeout(r, 1500));
  await crashedAllocation(topic); // at the tail behind a dead producer's range: the consumer fills it
  await ok(send('GET', `${base}/c1/records?timeout=200`, { accept: BINARY })); // a heartbeat that must be written
  await ok(send('POST', `${base}/c1/offsets`, { body: { offsets: [{ topic, partition: 0, offset: 1 }] } }));
  await ok(send('POST', `${base}/c1/offsets`), 200);
  await ok(send('GET', `${base}/c1/offsets`, { body: { partitions: [{ topic, partition: 0 }] } }));
  await ok(send('POST', `${base}/c1/positions/beginning`, { body: { partitions: [{ topic, partition: 0 }] } }), 204);
  await ok(send('POST', `${base}/c1/positions/end`, { body: { partitions: [{ topic, partition: 0 }] } }), 204);
  await ok(send('POST', `${base}/c1/positions`, { body: { offsets: [{ topic, partition: 0, offset: 1 }] } }), 204);
  await ok(send('GET', `${base}/c1/assignments`));
  await ok(send('DELETE', `${base}/c1/subscription`), 204);
  await ok(send('POST', `${base}/c1/assignments`, { body: { partitions: [{ topic, partition: 0 }] } }), 204);
  await ok(send('DELETE', `${base}/c1`), 204);
  await ok(send('POST', `/consumers/${consumerGroup}`, { body: { name: 'c2', format: 'json', 'auto.offset.reset': 'latest' } }));
  await ok(send('POST', `${base}/c2/subscription`, { body: { topic_pattern: 'iam-.*' } }), 204);
  await ok(send('GET', `${base}/c2/records?timeout=200`, { accept: JSON_V2 }));
  await ok(send('GET', '/floe/v1/groups'));
  await ok(send('GET', `/floe/v1/groups/${consumerGroup}`));
  await ok(send('DELETE', `${base}/c2`), 204);
  await ok(send('POST', `/floe/v1/groups/${consumerGroup}/offsets/reset`, { type: 'application/json', body: { topic, to: 'timestamp', timestamp: Date.now() - 60_000 } }));
  await ok(send('POST', `/floe/v1/groups/${consumerGroup}/offsets/reset`, { type: 'application/json', body: { topic, to: 'latest' } }));
  await ok(send('DELETE', `/floe/v1/groups/${consumerGroup}`), 204);
}

/**
 * Every transaction route: init (new, and again over an open transaction, which aborts it), writes
 * into two topics, group offsets, commit, abort, the state; the sweep's work is in scheduledJobs.
 */
async function transactionRoutes(run: GrantRun, topic: string): Promise<void> {
  const { send } = run;
  const other = randomTopic('iamt');
  const tid = randomTopic('iamtx');
  const group = randomTopic('iamtg');
  const json = { type: 'application/json' };
  let ids = (await ok(send('POST', `/floe/v1/transactions/${tid}/init`, { ...json, body: {} }))) as { producer_id: number; producer_epoch: number };
  let sequence = 0;
  const write = (t: string) => ok(send('POST', `/floe/v1/topics/${t}/records`, { ...json, body: { transactional_id: tid, ...ids, sequence: sequence++, records: [{ value: b64('in a transaction'), partition: 0 }] } }));
  await write(topic);
  ids = (await ok(send('POST', `/floe/v1/transactions/${tid}/init`, { ...json, body: { transaction_timeout_ms: 30_000 } }))) as typeof ids;
  sequence = 0;
  await write(topic);
  await write(other);
  await ok(send('POST', `/floe/v1/transactions/${tid}/offsets`, { ...json, body: { ...ids, group_id: group, offsets: [{ topic, partition: 0, offset: 1 }] } }));
  // Offsets as a group member (KIP-447): refused, this one is no member of that generation.
  await ok(send('POST', `/floe/v1/transactions/${tid}/offsets`, { ...json, body: { ...ids, group_id: group, generation_id: 3, member_id: 'nobody', offsets: [{ topic, partition: 0, offset: 1 }] } }), 409);
  await ok(send('GET', `/floe/v1/transactions/${tid}`));
  // Every end bumps the epoch: the next transaction goes on with the one the answer names.
  ids = (await ok(send('POST', `/floe/v1/transactions/${tid}/commit`, { ...json, body: ids }))) as typeof ids;
  sequence = 0;
  await write(topic);
  await ok(send('POST', `/floe/v1/transactions/${tid}/offsets`, { ...json, body: { ...ids, group_id: group, offsets: [{ topic, partition: 0, offset: 2 }] } }));
  await ok(send('POST', `/floe/v1/transactions/${tid}/abort`, { ...json, body: ids }));
}

/**
 * A transaction the sweep must deal with, made outside any function: one left open past its timeout,
 * and one decided for commit (with offsets) whose process died before it was rolled forward.
 */
async function unfinishedTransactions(): Promise<void> {
  const setup = createEngine(config, createClients(config));
  const topic = randomTopic('iams');
  await setup.topics.create({ name: topic, partitions: 1 });
  for (const how of ['timed out', 'stalled'] as const) {
    const tid = randomTopic('iamsw');
    const p = await setup.transactions.init(tid, 1000);
    await setup.transactions.send(tid, { ...p, sequence: 0 }, topic, [{ key: null, value: Buffer.from(how) }]);
    await setup.transactions.sendOffsets(tid, p, { group: randomTopic('iamsg'), offsets: [{ topic, partition: 0, offset: 0 }] });
    if (how === 'stalled') {
      const table = new TransactionsTable(setup.clients, config.tables.transactions);
      expect(await table.update((await table.get(tid))!, { st: 'PrepareCommit' }, Date.now() - 60_000)).toBe(true);
    }
  }
  await new Promise((r) => setTimeout(r, 1100));
}

/**
 * Every job, each with work to do: a topic past its retention and a compacted one with superseded
 * values, written outside any function; then gc past the grace period deletes what they released.
 */
async function scheduledJobs(run: GrantRun): Promise<void> {
  const retained = randomTopic('iamr');
  const compacted = randomTopic('iamc');
  // One-batch requests committed alone (FLOE_SOLE_COMMITS): gc reads the entries their objects' keys name.
  const setup = createEngine({ ...config, soleCommits: true }, createClients(config));
  await setup.topics.create({ name: retained, partitions: 1, configs: { 'retention.ms': '1000' } });
  await setup.producer.produce(retained, [{ key: null, value: Buffer.from('old'), timestamp: Date.now() - 60_000 }]);
  await setup.producer.produce(retained, [{ key: null, value: Buffer.from('new') }]);
  await setup.topics.create({ name: compacted, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0.01' } });
  for (let round = 0; round < 4; round++) {
    await setup.producer.produce(compacted, [0, 1, 2].map((k) => ({ key: Buffer.from(`k${k}`), value: Buffer.from(`v${round}`) })));
  }
  await crashedAllocation(retained);
  await unfinishedTransactions();
  const retention = await run.job('retention', (e) => runJob('retention', e));
  expect(retention.removed.batches).toBeGreaterThan(0);
  expect(retention.transactions).toEqual({ expired: expect.any(Number), completed: expect.any(Number) });
  expect(retention.transactions!.expired).toBeGreaterThanOrEqual(1);
  expect(retention.transactions!.completed).toBeGreaterThanOrEqual(1);
  expect((await run.job('compaction', (e) => runJob('compaction', e))).rewrote.batches).toBeGreaterThan(0);
  await run.job('gc', (e) => runJob('gc', e));
  // Past the grace period the objects that retention and compaction released are deleted.
  expect((await run.job('gc', (e) => runGc(e, { now: Date.now() + 3600_000 }))).removed.objects).toBeGreaterThan(0);
}

/** A user's function, as a trigger names it: never called, as the dispatcher's engine answers for it (IAM_TARGETS). */
const TARGET_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:iam-grants-target';
const POISON = 'poison';

/**
 * Answers for the trigger's function without calling Lambda (whose lambda:InvokeFunction grant is per
 * function, by FloeEventSource, and no table's): a batch holding the poison record fails, others succeed.
 */
const IAM_TARGETS: TargetInvoker = {
  invoke: async (_target, _event, payload) => (payload.includes(`"${b64(POISON)}"`) ? { ok: false, error: 'poison record', unknown: false } : { ok: true, answer: undefined }),
};

const json = { type: 'application/json' };

/**
 * Every trigger route: create (its dead-letter topic and starting offsets), list, describe with lag,
 * PATCH (a topic added, a new dead-letter topic), pause, resume, seek to each kind of position, redrive
 * and delete, on topics of its own. Returns a trigger left in place, for the dispatcher's run.
 */
async function triggerRoutes(run: GrantRun): Promise<{ name: string; topic: string }> {
  const { send } = run;
  const setup = createEngine(config, createClients(config));
  const topic = randomTopic('iamtt');
  const added = randomTopic('iamta');
  await setup.topics.create({ name: topic, partitions: 2 });
  await setup.topics.create({ name: added, partitions: 1 });
  await setup.producer.produce(topic, [{ key: Buffer.from('k'), value: Buffer.from('before the trigger') }]);
  const name = randomTopic('iamtr');
  const created = (await ok(
    send('POST', '/floe/v1/triggers', { ...json, body: { name, topic, target: { type: 'lambda', function: TARGET_FUNCTION }, starting_position: 'TRIM_HORIZON', batch_size: 10, max_batching_window_ms: 0, retry_attempts: 0, bisect_on_error: false } }),
    201,
  )) as { name: string };
  expect(created.name).toBe(name);
  await ok(send('POST', '/floe/v1/triggers', { ...json, body: { name, topic, target: { type: 'lambda', function: TARGET_FUNCTION } } }), 409);
  await ok(send('GET', '/floe/v1/triggers'));
  await ok(send('GET', `/floe/v1/triggers/${name}`)); // lag > 0: the oldest record is fetched for its time
  await ok(send('PATCH', `/floe/v1/triggers/${name}`, { ...json, body: { topics: [topic, added], dead_letter_topic: `${name}.dead` } }));
  await ok(send('POST', `/floe/v1/triggers/${name}/pause`));
  await ok(send('POST', `/floe/v1/triggers/${name}/resume`));
  await ok(send('POST', `/floe/v1/triggers/${name}/seek`, { ...json, body: { to: 'latest' } }));
  await ok(send('POST', `/floe/v1/triggers/${name}/seek`, { ...json, body: { to: 'offset', offset: 0, topic, partition: 0 } }));
  await ok(send('POST', `/floe/v1/triggers/${name}/seek`, { ...json, body: { to: 'timestamp', timestamp: Date.now() - 60_000, topic: added } }));
  await ok(send('POST', `/floe/v1/triggers/${name}/seek`, { ...json, body: { to: 'earliest' } }));
  await ok(send('POST', `/floe/v1/triggers/${name}/redrive`), 202); // nothing to redrive yet
  await ok(send('PATCH', `/floe/v1/triggers/${name}`, { ...json, body: { topic, dead_letter_topic: `${name}.dlq` } }));
  // One made and deleted, and asked for once gone.
  const doomed = randomTopic('iamtd');
  await ok(send('POST', '/floe/v1/triggers', { ...json, body: { name: doomed, topic: added, target: { type: 'lambda', function: TARGET_FUNCTION } } }), 201);
  await ok(send('DELETE', `/floe/v1/triggers/${doomed}`), 204);
  await ok(send('GET', `/floe/v1/triggers/${doomed}`), 404);
  await ok(send('DELETE', `/floe/v1/triggers/${doomed}`), 404);
  return { name, topic };
}

/**
 * What the triggers function does for FloeEventSource's custom resource (functions/shared/trigger-resource.ts):
 * a create, a create of a name that exists (CloudFormation's retry, or an update), which patches it,
 * and a delete, of which a second finds nothing. The same service calls, on that function's engine.
 */
async function triggerResourceEvents(run: GrantRun, topic: string): Promise<void> {
  const name = randomTopic('iamcr');
  const settings = { name, topic, target: { type: 'lambda', function: TARGET_FUNCTION }, starting_position: 'LATEST', batch_size: 100, retry_attempts: 3, bisect_on_error: true, parallelism: null, enabled: true };
  await run.invoke('triggers', 'custom resource Create', (e) => e.triggers.create(settings));
  await run.invoke('triggers', 'custom resource Update', async (e) => {
    await expect(e.triggers.create({ ...settings, batch_size: 50 })).rejects.toMatchObject({ code: 'TRIGGER_ALREADY_EXISTS' });
    const { name: _n, starting_position: _p, ...changes } = settings;
    return e.triggers.patch(name, { ...changes, batch_size: 50 });
  });
  await run.invoke('triggers', 'custom resource Delete', async (e) => {
    await e.triggers.delete(name);
    await expect(e.triggers.delete(name)).rejects.toSatisfy((x: unknown) => x instanceof FloeError && x.code === 'TRIGGER_NOT_FOUND');
  });
}

/**
 * The dispatcher's work on the trigger `triggerRoutes` left (retries 0, bisecting off): a sweep that
 * delivers both partitions, one batch holding a poison record that goes to the dead-letter topic; a
 * stream wake-up after more records, one behind a dead producer's range; a redrive of the dead letter,
 * which fails again; and a dead letter written after its topic was deleted, which produce re-creates.
 */
async function dispatcherRuns(run: GrantRun, trigger: { name: string; topic: string }): Promise<void> {
  const setup = createEngine(config, createClients(config));
  const { topic } = trigger;
  const dlq = `${trigger.name}.dlq`;
  const topicId = (await setup.topics.resolve(topic)).id;
  const dispatch = <T>(what: string, work: (e: Engine) => Promise<T>) => run.invoke('dispatcher', what, work, { targets: IAM_TARGETS, apiUrl: 'https://api.example.com' });
  const deadLetters = async () => {
    let n = 0;
    for (let p = 0; p < (await setup.topics.describe(dlq)).partitions; p++) n += (await setup.fetcher.offsets(dlq, p)).highWatermark;
    return n;
  };
  const records = (partition: number, ...values: string[]) => values.map((v) => ({ key: Buffer.from(v), value: Buffer.from(v), partition }));
  await setup.producer.produce(topic, records(0, 'one', POISON));
  await setup.producer.produce(topic, records(1, 'two'));
  expect((await dispatch('dispatcher sweep', (e) => e.dispatcher.sweep())).ran).toBeGreaterThanOrEqual(2);
  expect(await deadLetters()).toBeGreaterThanOrEqual(1);
  await setup.producer.produce(topic, records(0, 'three'));
  await dispatch('dispatcher stream wake-up', (e) => e.dispatcher.wake(topicId, 0));
  // A lane run that ends with more to do (its time ran out, or wake-ups came meanwhile) reads the
  // trigger again before it goes on: here two wake-ups of one partition at once.
  await setup.producer.produce(topic, records(0, 'four'));
  await dispatch('dispatcher coalesced wake-ups', async (e) => {
    await e.dispatcher.wake(topicId, 1); // the triggers, cached for the two below
    await Promise.all([e.dispatcher.wake(topicId, 0), e.dispatcher.wake(topicId, 0)]);
  });
  // A wake-up at the tail behind a dead producer's range: the lane's fetch fills the hole.
  await crashedAllocation(topic, 1);
  await dispatch('dispatcher stream wake-up behind a hole', (e) => e.dispatcher.wake(topicId, 1));
  const before = await deadLetters();
  await ok(run.send('POST', `/floe/v1/triggers/${trigger.name}/redrive`, { ...json, body: { from_offset: 0 } }), 202);
  await dispatch('dispatcher redrive', (e) => e.dispatcher.sweep());
  expect(await deadLetters()).toBeGreaterThan(before); // the redriven poison record failed again
  await ok(run.send('GET', `/floe/v1/triggers/${trigger.name}`));
  // The dead-letter topic deleted under the trigger: the letter's produce fails on the topic it had
  // cached, and the next run's re-creates it, as any producer's retry would.
  await setup.topics.delete(dlq);
  await setup.producer.produce(topic, records(0, POISON));
  await dispatch('dispatcher dead letter to a deleted topic', (e) => e.dispatcher.wake(topicId, 0));
  await dispatch('dispatcher dead letter to a deleted topic, again', (e) => e.dispatcher.sweep());
  expect(await deadLetters()).toBe(1);
}

/**
 * Every table route, and the dispatcher's writes of a table: create (its internal trigger from the log
 * start), a second create refused, list, describe with lag; the dispatcher's sweep writes the entries
 * (a value and a delete marker); then each read (a key, a key read ahead of the table, a prefix listing,
 * a lookup, a range) and a delete that removes the entries.
 */
async function tableRuns(run: GrantRun): Promise<void> {
  const { send } = run;
  const setup = createEngine(config, createClients(config));
  const topic = randomTopic('iamtb');
  await setup.topics.create({ name: topic, partitions: 2, configs: { 'cleanup.policy': 'compact' } });
  await setup.producer.produce(topic, [{ key: Buffer.from('k'), value: Buffer.from('v') }, { key: Buffer.from('gone'), value: null }]);
  const name = randomTopic('iamtbl');
  await ok(send('POST', '/floe/v1/tables', { ...json, body: { name, topic } }), 201);
  await ok(send('POST', '/floe/v1/tables', { ...json, body: { name, topic } }), 409);
  await ok(send('GET', '/floe/v1/tables'));
  await ok(send('GET', `/floe/v1/tables/${name}`));
  await run.invoke('dispatcher', 'dispatcher sweep writing a table', (e) => e.dispatcher.sweep(), { targets: IAM_TARGETS, apiUrl: 'https://api.example.com' });
  await ok(send('GET', `/floe/v1/tables/${name}/keys/k?min_offset=1`));
  await ok(send('GET', `/floe/v1/tables/${name}/keys/k?min_offset=1000`), 503);
  await ok(send('GET', `/floe/v1/tables/${name}/keys?prefix=k&limit=10`));
  const p = partitionForKey(Buffer.from('k'), 2);
  await ok(send('POST', `/floe/v1/tables/${name}/partitions/${p}/lookup`, { ...json, body: { keys: [b64('k'), b64('gone')], min_offset: 0 } }));
  await ok(send('GET', `/floe/v1/tables/${name}/partitions/${p}/range?from=${b64('a')}&to=${b64('z')}`));
  await ok(send('DELETE', `/floe/v1/tables/${name}`), 204);
  await ok(send('GET', `/floe/v1/tables/${name}`), 404);
}

/**
 * Every connector route (a DynamoDB sink and an S3 sink: create, a second create refused, list,
 * describe, PATCH, pause, resume, an offset reset, delete) and the dispatcher's writes of both sinks,
 * with a bad record sent to a dead-letter topic; calls on the destinations checked against what
 * FloeConnector grants (CONNECTOR_GRANTS), Floe's own calls against the functions' grants.
 */
async function connectorRuns(run: GrantRun): Promise<void> {
  const { send } = run;
  const setup = createEngine(config, createClients(config));
  const topic = randomTopic('iamcn');
  await setup.topics.create({ name: topic, partitions: 2 });
  await setup.producer.produce(topic, [{ key: Buffer.from('k'), value: Buffer.from('{"a":1}') }, { key: Buffer.from('gone'), value: null }, { key: Buffer.from('bad'), value: Buffer.from('not json') }]);
  const table = randomTopic('iamsink');
  await setup.clients.ddb.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
  const bucket = randomTopic('iamsink');
  await setup.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const ddb = randomTopic('iamddb');
  const s3 = randomTopic('iams3');
  const errors = { 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': `${ddb}.dlq` };
  await ok(send('POST', '/floe/v1/connectors', { ...json, body: { name: ddb, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table }, ...errors } }), 201);
  await ok(send('POST', '/floe/v1/connectors', { ...json, body: { name: ddb, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table } } }), 409);
  await ok(send('POST', '/floe/v1/connectors', { ...json, body: { name: s3, type: 's3-sink', topics: [topic], config: { 's3.bucket.name': bucket, 'topics.dir': CONNECTOR_DIR, 'flush.size': 1 } } }), 201);
  await ok(send('GET', '/floe/v1/connectors'));
  await ok(send('GET', `/floe/v1/connectors/${ddb}`));
  await run.invoke('dispatcher', 'dispatcher sweep writing the sinks', (e) => e.dispatcher.sweep(), { targets: IAM_TARGETS, apiUrl: 'https://api.example.com' });
  await ok(send('PATCH', `/floe/v1/connectors/${s3}`, { ...json, body: { config: { 's3.bucket.name': bucket, 'topics.dir': CONNECTOR_DIR, 'flush.size': 2 } } }));
  await ok(send('POST', `/floe/v1/connectors/${ddb}/pause`));
  await ok(send('POST', `/floe/v1/connectors/${ddb}/offsets/reset`, { ...json, body: { to: 'earliest' } }));
  await ok(send('POST', `/floe/v1/connectors/${ddb}/resume`));
  await ok(send('DELETE', `/floe/v1/connectors/${s3}`), 204);
  await ok(send('DELETE', `/floe/v1/connectors/${ddb}`), 204);
  await ok(send('GET', `/floe/v1/connectors/${ddb}`), 404);
}

describe('IAM grants of each function', () => {
  it('cover every call of the produce routes', async () => {
    const run = new GrantRun();
    await produceRoutes(run);
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the fetch routes', async () => {
    const run = new GrantRun();
    await fetchRoutes(run, await seededTopic());
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the admin routes, and of requests no route names', async () => {
    const run = new GrantRun();
    await adminRoutes(run, await seededTopic());
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the consumer routes and group admin', async () => {
    const run = new GrantRun();
    await consumerRoutes(run, await seededTopic());
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the transaction routes', async () => {
    const run = new GrantRun();
    await transactionRoutes(run, await seededTopic());
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the trigger routes and of the custom resource that registers a trigger', async () => {
    const run = new GrantRun();
    const { topic } = await triggerRoutes(run);
    await triggerResourceEvents(run, topic);
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the dispatcher: sweeps, stream wake-ups, dead letters and redrives', async () => {
    const run = new GrantRun();
    await dispatcherRuns(run, await triggerRoutes(run));
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the table routes and of the dispatcher writing a table', async () => {
    const run = new GrantRun();
    await tableRuns(run);
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the connector routes and of the dispatcher writing the sinks (on what FloeConnector grants)', async () => {
    const run = new GrantRun();
    await connectorRuns(run);
    expect(run.problems).toEqual([]);
  });

  it('cover every call of the scheduled jobs', async () => {
    const run = new GrantRun();
    await scheduledJobs(run);
    expect(run.problems).toEqual([]);
  });

  it('grant nothing that no call of the function uses', async () => {
    // Every route and job in one run, the reads over what the produce routes wrote.
    const run = new GrantRun();
    const topic = await produceRoutes(run);
    await fetchRoutes(run, topic);
    await adminRoutes(run, topic);
    await consumerRoutes(run, topic);
    await transactionRoutes(run, topic);
    const trigger = await triggerRoutes(run);
    await triggerResourceEvents(run, trigger.topic);
    await dispatcherRuns(run, trigger);
    await tableRuns(run);
    await connectorRuns(run);
    await scheduledJobs(run);
    expect(run.problems).toEqual([]);
    const unused = FUNCTIONS.flatMap((spec) => granted(spec).filter((g) => !run.usedBy.get(spec.entry)?.has(g)).map((g) => `${spec.entry}: ${g}`));
    expect(unused).toEqual([]);
    // Every kind of access names real actions.
    for (const a of Object.values(DDB_ACTIONS)) expect(a).toMatch(/^dynamodb:[A-Z][A-Za-z]+$/);
  });
});
