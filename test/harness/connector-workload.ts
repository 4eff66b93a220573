// The connector fault run: a topic of keyed updates, tombstones and a few bad records (values that are
// not JSON) is sunk by two connectors at once, a DynamoDB sink and an S3 sink (JSON lines, JSON values,
// both `errors.tolerance=all` with dead-letter topics), by dispatcher "processes" of the fault pool
// (processes.ts): storage faults at every call, crashes, and a crashed process replaced by a new one.
// Zombies too: now and then a batch is written again from a position a lane committed earlier, as a
// dispatcher that lost its lease while its call went on would write it. Then clean dispatchers drain,
// and the checks read the whole log, the user's table, the bucket and the dead-letter topics:
// - the table holds, per key, exactly the latest good record of the log (its fields and its offset),
//   a delete marker where that is a tombstone, and nothing for keys never written;
// - the objects hold every good record below the S3 sink's committed offset exactly once (none
//   above it), each object named by its first record's offset, at most flush.size records long;
// - every bad record is in each sink's dead-letter topic, and no good record is;
// - a rerun of the S3 sink from offset 0 ends with the same objects, byte for byte, and none added.
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { FloeConfig } from '../../src/config.ts';
import { CONNECT_ERROR_HEADERS } from '../../src/connectors/records.ts';
import { connectorGroup, connectorTriggerName } from '../../src/connectors/service.ts';
import { ConnectorWriter } from '../../src/connectors/writer.ts';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine.ts';
import type { FetchedRecord } from '../../src/fetch/fetch.ts';
import { createClients, type AwsClients } from '../../src/storage/clients.ts';
import { GroupsTable } from '../../src/storage/groups-table.ts';
import { laneSortKey, parseLaneSortKey } from '../../src/storage/keys.ts';
import { ensureStorage } from '../../src/storage/setup.ts';
import { TriggersTable } from '../../src/storage/triggers-table.ts';
import { prng, type FaultKind, type FaultRates } from './faults.ts';
import { Processes } from './processes.ts';
import { steady } from './workload.ts';

export interface ConnectorWorkloadOptions {
  config: FloeConfig;
  /** Names the run's topic, connectors, table, bucket and triggers table. */
  prefix: string;
  seed: number;
  /** Records produced (updates, tombstones, bad records), over `keys` keys. */
  records: number;
  keys: number;
  partitions?: number;
  /** Shares of tombstones (default 0.1) and of bad records (default 0.01). */
  tombstones?: number;
  badRecords?: number;
  /** The S3 sink's flush.size (default 97). */
  flushSize?: number;
  dispatchers?: number;
  rates: FaultRates;
  crashEvery: number;
  /** Stop crashing after this many crashes (so a bounded run finishes at any machine's pace). */
  maxCrashes?: number;
  /** A zombie write about this often (ms; default 300). */
  zombieEveryMs?: number;
  /** How long the faulty dispatchers run at most, and the clean drain's limit (ms). */
  maxMs: number;
  drainMs?: number;
}

export interface ConnectorCheck {
  /** Keys whose item is not the latest good record of the log. */
  tableMismatches: string[];
  /** Items for keys the log never wrote a good record or tombstone for. */
  tableExtra: string[];
  /** Good records below the committed offset missing from the objects, or there twice. */
  s3Missing: string[];
  s3Duplicates: string[];
  /** Records in the objects at or above the committed offset, or not in the log as written. */
  s3Unexpected: string[];
  s3BadNames: string[];
  /** Bad records not in a sink's dead-letter topic; good records that are. */
  lettersMissing: string[];
  lettersWrong: string[];
  /** Objects the rerun from offset 0 added or changed. */
  rerunChanged: string[];
}

export interface ConnectorWorkloadResult {
  check: ConnectorCheck;
  produced: number;
  keysWritten: number;
  tombstones: number;
  bad: number;
  objects: number;
  itemsInTable: number;
  deadLetters: { dynamodb: number; s3: number };
  faults: Record<FaultKind, number>;
  crashes: number;
  zombies: number;
  /** Zombie writes after the DynamoDB sink had written every record. */
  zombiesLate: number;
  caughtUp: boolean;
  elapsedMs: number;
  log: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (b: Uint8Array | null | undefined): string | null => (b == null ? null : Buffer.from(b).toString('utf8'));

/** Whether a value is what the S3 sink (value.converter=json) takes: JSON. Written apart from the sinks. */
function isJson(v: string): boolean {
  try {
    JSON.parse(v);
    return true;
  } catch {
    return false;
  }
}

/** Whether a value is what the DynamoDB sink takes: a tombstone or a JSON object. */
function goodJsonObject(v: string | null): boolean {
  if (v === null) return true;
  try {
    const x = JSON.parse(v) as unknown;
    return typeof x === 'object' && x !== null && !Array.isArray(x);
  } catch {
    return false;
  }
}

async function waitActive(clients: AwsClients, table: string) {
  for (let i = 0; i < 600; i++) {
    const d = await clients.ddb.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await sleep(100);
  }
}

async function listObjects(clients: AwsClients, bucket: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let marker: string | undefined;
  for (;;) {
    const r = await steady(() => clients.s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 1000, ...(marker ? { Marker: marker } : {}) })));
    for (const o of r.Contents ?? []) {
      const body = await steady(() => clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! })));
      out.set(o.Key!, Buffer.from(await body.Body!.transformToByteArray()));
    }
    if (!r.IsTruncated || !r.Contents?.length) return out;
    marker = r.Contents.at(-1)!.Key!;
  }
}

async function scanTable(clients: AwsClients, table: string) {
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await steady(() => clients.ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) })));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

export async function runConnectorWorkload(o: ConnectorWorkloadOptions): Promise<ConnectorWorkloadResult> {
  const started = Date.now();
  const partitions = o.partitions ?? 4;
  const flushSize = o.flushSize ?? 97;
  const config: FloeConfig = { ...o.config, tables: { ...o.config.tables, triggers: `${o.config.tables.triggers}.${o.prefix}` } };
  const adminClients = createClients(config);
  const admin = createEngine(config, adminClients, { connectorTimeoutMs: 2000 });
  await ensureStorage(adminClients, config.tables, config.bucket);
  const random = prng(o.seed);
  const log: string[] = [];
  const note = (line: string) => {
    log.push(line);
    if (log.length > 200) log.splice(0, 100);
  };

  const topic = o.prefix;
  await admin.topics.create({ name: topic, partitions });
  const table = `${o.prefix}-sink`;
  await adminClients.ddb.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
  await waitActive(adminClients, table);
  const bucket = o.prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 50);
  await adminClients.s3.send(new CreateBucketCommand({ Bucket: bucket }));

  // The records, produced before the sinks start and while they run (half and half).
  let produced = 0;
  const produceSome = async (n: number) => {
    for (let left = n; left > 0; ) {
      const count = Math.min(left, 1 + Math.floor(random() * 60));
      const records = Array.from({ length: count }, () => {
        const i = produced++;
        const key = `k${Math.floor(random() * o.keys)}`;
        const x = random();
        const value = x < (o.badRecords ?? 0.01) ? `not json ${i}` : x < (o.badRecords ?? 0.01) + (o.tombstones ?? 0.1) ? null : JSON.stringify({ n: i, key, s: `v${i}`, tags: [i % 3] });
        return { key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: [{ key: 'n', value: Buffer.from(String(i)) }] };
      });
      left -= count;
      await steady(() => admin.producer.produce(topic, records));
    }
  };
  await produceSome(Math.floor(o.records / 2));

  const ddbName = `${o.prefix}-ddb`;
  const s3Name = `${o.prefix}-s3`;
  await admin.connectors.create({ name: ddbName, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table }, 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': `${ddbName}.dlq` });
  await admin.connectors.create({
    name: s3Name,
    type: 's3-sink',
    topics: [topic],
    config: { 's3.bucket.name': bucket, 'flush.size': flushSize, 'value.converter': 'json' },
    'errors.tolerance': 'all',
    'errors.deadletterqueue.topic.name': `${s3Name}.dlq`,
  });

  // Positions lanes committed, per connector and partition: where a zombie's batch may begin.
  const committedAt = new Map<string, number[]>();
  const engineOptions = (name: string): EngineOptions => ({
    triggerLeaseMs: 1500,
    triggerBackoffMs: 50,
    onTriggerCommitted: (e) => {
      const k = `${e.trigger}|${parseLaneSortKey(e.lane)[1]}`;
      committedAt.set(k, [...(committedAt.get(k) ?? []), e.offset]);
    },
    triggerLog: (line) => note(`${name}: ${line}`),
  });
  let crashes = 0;
  const pool = new Processes({ config, rates: o.rates, crashEvery: o.crashEvery, engineOptions: (seed) => engineOptions(`p${seed}`) });
  const calm = new Processes({ config, rates: o.rates, crashEvery: 0, engineOptions: (seed) => engineOptions(`p${seed}`) });
  let faulty = true;
  const dead: Array<Promise<void>> = [];
  const topicId = (await admin.topics.describe(topic)).id;
  const dispatcher = async (index: number) => {
    const r = prng(o.seed * 7919 + index);
    let generation = 0;
    const nextSeed = () => o.seed * 1_000_003 + index * 10_000 + generation++;
    let proc = pool.spawn(nextSeed());
    proc.engine.dispatcher.setRunMs(1500);
    while (faulty) {
      const work: Array<Promise<unknown>> = [proc.engine.dispatcher.sweep()];
      for (let p = 0; p < partitions; p++) if (r() < 0.5) work.push(proc.engine.dispatcher.wake(topicId, p));
      const failed = (await Promise.allSettled(work)).find((x) => x.status === 'rejected');
      const old = proc;
      proc = (o.maxCrashes !== undefined && crashes >= o.maxCrashes ? calm : pool).replaceIfCrashed(proc, failed?.reason, nextSeed);
      if (proc !== old) {
        crashes++;
        dead.push(old.engine.dispatcher.stop());
        proc.engine.dispatcher.setRunMs(1500);
      }
      await sleep(100 + r() * 200);
    }
    await proc.engine.dispatcher.stop();
    pool.retire(proc);
  };
  const dispatchers = Array.from({ length: o.dispatchers ?? 3 }, (_, i) => dispatcher(i));

  // Zombies: a batch from a position committed earlier, written again through faulty storage.
  let zombies = 0;
  let zombiesLate = 0;
  let sinksDone = false;
  const triggersTable = new TriggersTable(adminClients, config.tables.triggers);
  const zombieLoop = (async () => {
    const zr = prng(o.seed * 31 + 3);
    const proc = calm.spawn(o.seed * 77);
    while (faulty) {
      await sleep((o.zombieEveryMs ?? 300) * (0.5 + zr()));
      const keys = [...committedAt.keys()];
      if (keys.length === 0) continue;
      const k = keys[Math.floor(zr() * keys.length)]!;
      const [triggerName, partition] = [k.slice(0, k.lastIndexOf('|')), Number(k.slice(k.lastIndexOf('|') + 1))];
      const positions = committedAt.get(k)!;
      const from = positions[Math.floor(zr() * positions.length)]!;
      try {
        const t = await triggersTable.get(triggerName);
        if (!t) continue;
        const got = await proc.engine.fetcher.fetch({ topic, partition, offset: from, maxRecords: t.batchSize, maxBytes: 4 << 20 });
        // The batch it held: what its partition had then, so any part of what is there from `from` on.
        const all = got.records.map((r) => ({ topic, partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers, at: r.offset }));
        if (all.length === 0) continue;
        const batch = all.slice(0, 1 + Math.floor(zr() * all.length));
        const end = batch.length === all.length ? got.nextOffset : batch.at(-1)!.offset + 1;
        const writer = new ConnectorWriter({ clients: proc.engine.clients, topics: proc.engine.topics, triggers: triggersTable, produce: async () => undefined });
        await writer.write(t, batch, { full: batch.length >= t.batchSize, end });
        zombies++;
        // Those that come after the sinks wrote everything: only their conditions keep them from taking keys back.
        if (sinksDone) zombiesLate++;
      } catch (e) {
        note(`zombie: ${(e as Error).message}`);
      }
    }
    calm.retire(proc);
  })();

  await produceSome(o.records - produced);
  const faultyUntil = started + o.maxMs;
  const groups = new GroupsTable(adminClients, config.tables.groups);
  const hws = async () => Promise.all(Array.from({ length: partitions }, (_, p) => admin.fetcher.offsets(topic, p).then((x) => x.highWatermark)));
  const ddbDone = async () => {
    const h = await hws();
    const c = await groups.getOffsets(connectorGroup(ddbName), h.map((_, p) => [topic, p] as [string, number]), { requireStable: false });
    return h.every((hw, p) => (c.get(`${topic}:${p}`)?.offset ?? -1) >= hw);
  };
  while (Date.now() < faultyUntil && !(await ddbDone().catch(() => false))) await sleep(500);
  sinksDone = true;
  // A few zombies more once the table is complete (bounded in time).
  const lateUntil = Date.now() + 20_000;
  while (zombiesLate < 5 && Date.now() < lateUntil) await sleep(100);
  faulty = false;
  await Promise.all(dispatchers);
  await zombieLoop;
  await Promise.allSettled(dead);

  // The clean drain: until the DynamoDB sink is at every high watermark and the S3 sink rests.
  const clean: Engine[] = Array.from({ length: 2 }, (_, i) => createEngine(config, createClients(config), engineOptions(`clean-${i}`)));
  const s3Committed = async () => {
    const c = await groups.getOffsets(connectorGroup(s3Name), Array.from({ length: partitions }, (_, p) => [topic, p] as [string, number]), { requireStable: false });
    return Array.from({ length: partitions }, (_, p) => c.get(`${topic}:${p}`)?.offset ?? 0);
  };
  // The S3 sink rests when each partition is committed to its high watermark, or its lane holds back
  // records having read to the high watermark (an object not complete, which only more records close).
  const s3Rests = async () => {
    const [h, c, lanes] = await Promise.all([hws(), s3Committed(), triggersTable.lanes(connectorTriggerName(s3Name))]);
    return h.every((hw, p) => c[p]! >= hw || (lanes.find((l) => l.key === laneSortKey(topic, p))?.heldTo ?? -1) >= hw);
  };
  const drain = async (limit: number) => {
    const end = Date.now() + limit;
    while (Date.now() < end) {
      await Promise.allSettled(clean.map((e) => e.dispatcher.sweep()));
      if ((await ddbDone().catch(() => false)) && (await s3Rests().catch(() => false))) return true;
      await sleep(300);
    }
    return false;
  };
  const caughtUp = await drain(o.drainMs ?? 60_000);

  // The expected state, from the log as written.
  const logRecords: Array<FetchedRecord & { partition: number }> = [];
  for (let p = 0; p < partitions; p++) {
    for (let offset = 0; ; ) {
      const r = await steady(() => admin.fetcher.fetch({ topic, partition: p, offset, maxRecords: 10_000, maxBytes: 8 << 20 }));
      logRecords.push(...r.records.map((x) => ({ ...x, partition: p })));
      if (r.records.length === 0 || r.nextOffset >= r.highWatermark) break;
      offset = r.nextOffset;
    }
  }
  const latest = new Map<string, { value: string | null; offset: number; partition: number }>();
  let tombstones = 0;
  let bad = 0;
  for (const r of logRecords) {
    const v = text(r.value);
    if (v === null) tombstones++;
    if (!goodJsonObject(v)) {
      bad++;
      continue;
    }
    latest.set(text(r.key)!, { value: v, offset: r.offset, partition: r.partition });
  }

  const check: ConnectorCheck = { tableMismatches: [], tableExtra: [], s3Missing: [], s3Duplicates: [], s3Unexpected: [], s3BadNames: [], lettersMissing: [], lettersWrong: [], rerunChanged: [] };
  const items = new Map((await scanTable(adminClients, table)).map((i) => [i.id as string, i]));
  for (const [k, want] of latest) {
    const item = items.get(k);
    if (!item) {
      check.tableMismatches.push(`${k}: no item, want offset ${want.offset}`);
      continue;
    }
    const ok =
      item.floe_offset === want.offset &&
      item.floe_partition === want.partition &&
      (want.value === null ? item.floe_deleted === true : item.floe_deleted === undefined && item.n === (JSON.parse(want.value) as { n: number }).n && item.s === (JSON.parse(want.value) as { s: string }).s);
    if (!ok) check.tableMismatches.push(`${k}: item at offset ${String(item.floe_offset)}, want ${want.offset}`);
  }
  for (const k of items.keys()) if (!latest.has(k)) check.tableExtra.push(k);

  const committed = await s3Committed();
  const objects = await listObjects(adminClients, bucket);
  const seen = new Map<string, number>();
  const byCoord = new Map(logRecords.map((r) => [`${r.partition}:${r.offset}`, r]));
  for (const [key, body] of objects) {
    const m = key.match(new RegExp(`^topics/${topic}/partition=(\\d+)/${topic}\\+(\\d+)\\+(\\d{10})\\.json$`));
    const lines = body.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { partition: number; offset: number; key: string | null; value: unknown });
    if (!m || Number(m[3]) !== lines[0]?.offset || lines.length > flushSize || lines.some((l) => l.partition !== Number(m[1]))) check.s3BadNames.push(key);
    for (const l of lines) {
      const c = `${l.partition}:${l.offset}`;
      seen.set(c, (seen.get(c) ?? 0) + 1);
      const r = byCoord.get(c);
      const v = r ? text(r.value) : undefined;
      if (!r || l.offset >= committed[l.partition]! || l.key !== text(r.key) || JSON.stringify(l.value) !== JSON.stringify(v === null ? null : JSON.parse(v!))) check.s3Unexpected.push(c);
    }
  }
  for (const r of logRecords) {
    const v = text(r.value);
    const json = v === null || isJson(v);
    if (!json || r.offset >= committed[r.partition]!) continue;
    const n = seen.get(`${r.partition}:${r.offset}`) ?? 0;
    if (n === 0) check.s3Missing.push(`${r.partition}:${r.offset}`);
    if (n > 1) check.s3Duplicates.push(`${r.partition}:${r.offset}`);
  }

  // Dead letters: every bad record in each sink's topic (the S3 sink takes JSON arrays; the table does not).
  const letters = { dynamodb: 0, s3: 0 };
  for (const [sink, name] of [['dynamodb', ddbName], ['s3', s3Name]] as const) {
    const got = new Set<string>();
    const d = await steady(() => admin.topics.describe(`${name}.dlq`));
    for (let p = 0; p < d.partitions; p++) {
      for (let offset = 0; ; ) {
        const r = await steady(() => admin.fetcher.fetch({ topic: `${name}.dlq`, partition: p, offset, maxRecords: 10_000, maxBytes: 8 << 20 }));
        for (const x of r.records) {
          const h = (k: string) => text(x.headers.find((y) => y.key === k)?.value);
          const c = `${h(CONNECT_ERROR_HEADERS.partition)}:${h(CONNECT_ERROR_HEADERS.offset)}`;
          got.add(c);
          letters[sink]++;
          const src = byCoord.get(c);
          const v = src ? text(src.value) : null;
          const isBad = sink === 'dynamodb' ? !goodJsonObject(v) : v !== null && !isJson(v);
          if (!src || !isBad || h(CONNECT_ERROR_HEADERS.connector) !== name || text(x.value) !== v) check.lettersWrong.push(`${sink} ${c}`);
        }
        if (r.records.length === 0 || r.nextOffset >= r.highWatermark) break;
        offset = r.nextOffset;
      }
    }
    for (const r of logRecords) {
      const v = text(r.value);
      const isBad = sink === 'dynamodb' ? !goodJsonObject(v) : v !== null && !isJson(v);
      // The S3 sink holds back the records of its last open object, bad ones among them.
      if (isBad && (sink === 'dynamodb' || r.offset < committed[r.partition]!) && !got.has(`${r.partition}:${r.offset}`)) check.lettersMissing.push(`${sink} ${r.partition}:${r.offset}`);
    }
  }

  // The rerun from offset 0, clean: the same objects, byte for byte.
  await admin.connectors.resetOffsets(s3Name, { to: 'earliest' });
  const rerunDone = await drain(o.drainMs ?? 60_000);
  if (!rerunDone) check.rerunChanged.push('(the rerun did not come to rest)');
  const rerunCommitted = await s3Committed();
  if (JSON.stringify(rerunCommitted) !== JSON.stringify(committed)) check.rerunChanged.push(`(committed ${JSON.stringify(rerunCommitted)}, before ${JSON.stringify(committed)})`);
  const again = await listObjects(adminClients, bucket);
  for (const [k, body] of again) if (!objects.get(k)?.equals(body)) check.rerunChanged.push(k);
  for (const k of objects.keys()) if (!again.has(k)) check.rerunChanged.push(`${k} (gone)`);
  await Promise.all(clean.map((e) => e.dispatcher.stop()));
  await admin.dispatcher.stop();

  return {
    check,
    produced,
    keysWritten: latest.size,
    tombstones,
    bad,
    objects: objects.size,
    itemsInTable: items.size,
    deadLetters: letters,
    faults: { ...pool.faults },
    crashes,
    zombies,
    zombiesLate,
    caughtUp,
    elapsedMs: Date.now() - started,
    log,
  };
}

export function connectorSummary(r: ConnectorWorkloadResult) {
  const c = r.check;
  const counts = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.length]));
  const valid = r.caughtUp && Object.values(c).every((v) => v.length === 0);
  return {
    produced: r.produced,
    keys: r.keysWritten,
    tombstones: r.tombstones,
    bad_records: r.bad,
    items_in_table: r.itemsInTable,
    s3_objects: r.objects,
    dead_letters: r.deadLetters,
    faults_injected: Object.entries(r.faults).reduce((n, [k, v]) => (k === 'latency' ? n : n + v), 0),
    crashes: r.crashes,
    zombies: r.zombies,
    zombies_after_done: r.zombiesLate,
    ...counts,
    caught_up: r.caughtUp,
    elapsed_s: Math.round(r.elapsedMs / 100) / 10,
    valid,
  };
}
