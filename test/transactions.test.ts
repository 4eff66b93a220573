import { describe, expect, it, vi } from 'vitest';
import { randomTopic } from './support/env.ts';
import { b64, BINARY, testApp, V2 } from './support/engine.ts';
import { kafkajsDecode } from './support/kafkajs-oracle.ts';
import { GroupsTable } from '../src/storage/groups-table.ts';
import { TransactionsTable } from '../src/storage/transactions-table.ts';
import { TransactionCoordinator } from '../src/transactions/coordinator.ts';
import { RetriableStorageError } from '../src/errors.ts';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';

const { api, engine } = testApp();
const groupsTable = new GroupsTable(engine.clients, engine.config.tables.groups);

/** Every topic this file writes, for the last test: kafkajs must decode every batch stored. */
const made: string[] = [];
async function createTopic(name: string, partitions: number): Promise<void> {
  await engine.topics.create({ name, partitions });
  made.push(name);
}

const text = (v: string | null) => (v === null ? null : Buffer.from(v, 'base64').toString());

async function init(tid: string, timeout?: number): Promise<{ producer_id: number; producer_epoch: number }> {
  const r = await api.post(`/floe/v1/transactions/${tid}/init`, timeout === undefined ? {} : { transaction_timeout_ms: timeout });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/**
 * A transactional producer over the HTTP API: its sequence counts its sends in the epoch, and every
 * commit or abort answers the epoch to go on with (KIP-890). `again` ends with the ids just ended.
 */
function producer(tid: string, p: { producer_id: number; producer_epoch: number }) {
  let sequence = 0;
  let ids = { producer_id: p.producer_id, producer_epoch: p.producer_epoch };
  let ended = ids;
  const end = async (how: 'commit' | 'abort') => {
    const r = await api.post(`/floe/v1/transactions/${tid}/${how}`, ids);
    if (r.status === 200) {
      ended = ids;
      ids = { producer_id: r.body.producer_id, producer_epoch: r.body.producer_epoch };
      sequence = 0;
    }
    return r;
  };
  return {
    get ids() {
      return ids;
    },
    send: (topic: string, records: unknown[]) => api.post(`/floe/v1/topics/${topic}/records`, { transactional_id: tid, ...ids, sequence: sequence++, records }),
    offsets: (group: string, offsets: unknown[], extra: object = {}) => api.post(`/floe/v1/transactions/${tid}/offsets`, { ...ids, group_id: group, offsets, ...extra }),
    commit: () => end('commit'),
    abort: () => end('abort'),
    again: (how: 'commit' | 'abort') => api.post(`/floe/v1/transactions/${tid}/${how}`, ended),
  };
}

async function readAll(topic: string, partition: number, isolation = 'read_committed'): Promise<Array<{ offset: number; value: string | null }>> {
  const r = await api.get(`/floe/v1/topics/${topic}/partitions/${partition}/records?offset=0&isolation_level=${isolation}&max_records=100000`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.records.map((x: any) => ({ offset: x.offset, value: text(x.value) }));
}

async function committedOffset(group: string, topic: string, partition: number): Promise<number | undefined> {
  return (await groupsTable.getOffsets(group, [[topic, partition]])).get(`${topic}:${partition}`)?.offset;
}

describe('transactions', () => {
  it('commits writes to 3 topics x 4 partitions and group offsets atomically', async () => {
    const topics = [randomTopic('txa'), randomTopic('txb'), randomTopic('txc')];
    for (const t of topics) await createTopic(t, 4);
    const source = randomTopic('txsrc');
    await createTopic(source, 4);
    const group = randomTopic('txgroup');
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid));
    for (const t of topics) {
      const r = await p.send(t, [0, 1, 2, 3].map((q) => ({ value: b64(`${t}-${q}`), partition: q })));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.records.map((x: any) => x.offset)).toEqual([null, null, null, null]);
    }
    expect((await p.offsets(group, [0, 1, 2, 3].map((q) => ({ topic: source, partition: q, offset: 10 + q })))).status).toBe(200);
    // Open: nothing visible yet, and the offsets are not readable as stable.
    for (const t of topics) expect(await readAll(t, 0, 'read_uncommitted')).toEqual([]);
    const state = (await api.get(`/floe/v1/transactions/${tid}`)).body;
    expect(state.state).toBe('Ongoing');
    expect(state.partitions).toHaveLength(12);
    await expect(groupsTable.getOffsets(group, [[source, 0]])).rejects.toMatchObject({ code: 'UNSTABLE_OFFSET_COMMIT' });
    const c = await p.commit();
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.state).toBe('CompleteCommit');
    for (const t of topics) {
      for (let q = 0; q < 4; q++) expect((await readAll(t, q)).map((r) => r.value)).toEqual([`${t}-${q}`]);
    }
    for (let q = 0; q < 4; q++) expect(await committedOffset(group, source, q)).toBe(10 + q);
    // The epoch moved on with the commit; the commit retried answers the same; an abort after it is refused.
    expect(c.body.producer_epoch).toBe(1);
    expect((await p.again('commit')).body).toEqual(c.body);
    const late = await p.again('abort');
    expect(late.status).toBe(409);
    expect(late.body.error_code).toBe(40906);
    // A write of the ended transaction that arrives late is fenced, not taken into the next one.
    const stale = await api.post(`/floe/v1/topics/${topics[0]}/records`, { transactional_id: tid, producer_id: c.body.producer_id, producer_epoch: 0, sequence: 99, records: [{ value: b64('late') }] });
    expect(stale.body.error_code).toBe(40905);
  });

  it('keeps an aborted transaction invisible and its offsets where they were', async () => {
    const topic = randomTopic('txab');
    await createTopic(topic, 2);
    const group = randomTopic('txabg');
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid));
    await p.send(topic, [{ value: b64('kept'), partition: 0 }]);
    await p.offsets(group, [{ topic, partition: 0, offset: 1 }]);
    await p.commit();
    await p.send(topic, [{ value: b64('dropped-0'), partition: 0 }, { value: b64('dropped-1'), partition: 1 }]);
    await p.offsets(group, [{ topic, partition: 0, offset: 5 }]);
    const a = await p.abort();
    expect(a.body.state).toBe('CompleteAbort');
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['kept']);
    expect(await readAll(topic, 1)).toEqual([]);
    expect(await readAll(topic, 0, 'read_uncommitted')).toEqual(await readAll(topic, 0));
    expect(await committedOffset(group, topic, 0)).toBe(1);
    const late = await p.again('commit');
    expect(late.status).toBe(409);
    // With the epoch the abort answered, nothing is open: a commit ends nothing.
    expect((await p.commit()).body.state).toBe('CompleteAbort');
    // The next transaction of the same producer starts with its next write.
    await p.send(topic, [{ value: b64('next'), partition: 0 }]);
    await p.commit();
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['kept', 'next']);
  });

  it('holds a consumer off offsets a transaction is about to move (RequireStable), then starts it from them', async () => {
    const topic = randomTopic('txstable');
    await createTopic(topic, 1);
    for (let i = 0; i < 5; i++) await api.post(`/topics/${topic}`, { records: [{ value: b64(`r${i}`) }] }, { type: BINARY });
    const group = randomTopic('txstableg');
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid));
    expect((await p.offsets(group, [{ topic, partition: 0, offset: 3 }])).status).toBe(200);
    const base = `/consumers/${group}/instances/c1`;
    await api.post(`/consumers/${group}`, { name: 'c1', format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' }, { type: V2 });
    await api.post(`${base}/subscription`, { topics: [topic] }, { type: V2 });
    const unstable = await api.request('GET', `${base}/offsets`, { partitions: [{ topic, partition: 0 }] }, { type: V2 });
    expect(unstable.status).toBe(409);
    expect(unstable.body.error_code).toBe(40907);
    // The first records call waits for the transaction and, while it is open, answers nothing.
    const held = await api.get(`${base}/records?timeout=300`, { accept: BINARY });
    expect(held.status).toBe(200);
    expect(held.body).toEqual([]);
    await p.commit();
    const after = await api.get(`${base}/records?timeout=2000`, { accept: BINARY });
    expect(after.body.map((r: any) => r.offset)).toEqual([3, 4]);
  });

  it('fences the older epoch after a second init: it can neither write nor commit', async () => {
    const topic = randomTopic('txfence');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    const first = await init(tid);
    const zombie = producer(tid, first);
    await zombie.send(topic, [{ value: b64('zombie-open') }]);
    const second = await init(tid);
    expect(second.producer_id).toBe(first.producer_id);
    // An epoch fenced the open transaction as it was aborted (and its end bumped one more); the next is the new producer's.
    expect(second.producer_epoch).toBeGreaterThan(first.producer_epoch + 1);
    // The second init aborted the zombie's open transaction.
    const w = await zombie.send(topic, [{ value: b64('zombie-late') }]);
    expect(w.status).toBe(409);
    expect(w.body.error_code).toBe(40905);
    const c = await zombie.commit();
    expect(c.body.error_code).toBe(40905);
    const current = producer(tid, second);
    await current.send(topic, [{ value: b64('current') }]);
    await current.commit();
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['current']);
  });

  it("never commits a newer epoch's writes into a transaction an older epoch left open", async () => {
    const moveEpoch = (tid: string, epoch: number) =>
      engine.clients.ddb.send(new UpdateCommand({ TableName: engine.config.tables.transactions, Key: { t: tid, s: 'state' }, UpdateExpression: 'SET epoch = :e, lastSeq = :none', ExpressionAttributeValues: { ':e': epoch, ':none': -1 } }));
    // The state the streams fault run found: a transaction open under epoch e (a zombie's), the state
    // already at epoch e + 1 with no sequence of it. The newer producer's writes joined it, and the
    // commit appended the older epoch's writes only: its records were acknowledged and lost.
    const topic = randomTopic('txstray');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    const first = await init(tid);
    const zombie = producer(tid, first);
    expect((await zombie.send(topic, [{ value: b64('zombie-open') }])).status).toBe(200);
    await moveEpoch(tid, first.producer_epoch + 1);
    const current = producer(tid, { producer_id: first.producer_id, producer_epoch: first.producer_epoch + 1 });
    const w = await current.send(topic, [{ value: b64('current') }]);
    expect(w.status, JSON.stringify(w.body)).toBe(200);
    const c = await current.commit();
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['current']);
    // The zombie's open transaction was aborted, not taken over: it can neither write nor commit.
    expect((await zombie.commit()).body.error_code).toBe(40905);
    // A commit with no write of its own ends an older epoch's open transaction as an abort.
    const again = producer(tid, current.ids);
    const stray = await again.send(topic, [{ value: b64('second-open') }]);
    expect(stray.status).toBe(200);
    await moveEpoch(tid, current.ids.producer_epoch + 1);
    const last = producer(tid, { producer_id: first.producer_id, producer_epoch: current.ids.producer_epoch + 1 });
    expect((await last.commit()).status).toBe(200);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['current']);
  });

  it('fences the older epoch even when the init that aborted its transaction dies before it answers', async () => {
    const topic = randomTopic('txinitdie');
    await engine.topics.create({ name: topic, partitions: 1 });
    const tid = randomTopic('tid');
    const old = producer(tid, await init(tid));
    await old.send(topic, [{ value: b64('before') }]);
    // The new init's process dies right after the open transaction is decided aborted: no later state write lands.
    const update = TransactionsTable.prototype.update;
    let decided = false;
    vi.spyOn(TransactionsTable.prototype, 'update').mockImplementation(async function (this: TransactionsTable, read, set, now) {
      if (decided) throw new Error('the process died');
      const ok = await update.call(this, read, set, now);
      if (ok && set.st === 'PrepareAbort') decided = true;
      return ok;
    });
    await expect(engine.transactions.init(tid)).rejects.toThrow('the process died');
    vi.restoreAllMocks();
    // The old producer may not begin a new transaction with the rest of the aborted one's writes.
    const w = await old.send(topic, [{ value: b64('after') }]);
    expect(w.status, JSON.stringify(w.body)).toBe(409);
    expect(w.body.error_code).toBe(40905);
    expect((await old.commit()).body.error_code).toBe(40905);
    expect(await readAll(topic, 0, 'read_uncommitted')).toEqual([]);
  });

  it('answers a commit it decided as committed when an init completed it and fenced the producer before the answer', async () => {
    const topic = randomTopic('txdecided');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid));
    await p.send(topic, [{ value: b64('decided') }]);
    // The commit is decided; before this call completes it, a new producer of the id inits (which
    // completes it and fences the old epoch), and the roll-forward of this call fails once.
    const finish = (TransactionCoordinator.prototype as any).finish;
    let first = true;
    vi.spyOn(TransactionCoordinator.prototype as any, 'finish').mockImplementation(async function (this: unknown, s: any, open: unknown) {
      if (first && s.state === 'PrepareCommit') {
        first = false;
        await engine.transactions.init(tid);
        throw new RetriableStorageError('injected: the roll-forward failed');
      }
      return finish.call(this, s, open);
    });
    const c = await p.commit();
    vi.restoreAllMocks();
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.state).toBe('CompleteCommit');
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['decided']);
    // The epoch it answers is fenced: the new producer holds the id.
    expect((await p.send(topic, [{ value: b64('late') }])).body.error_code).toBe(40905);
  });

  it('aborts a transaction left open past its timeout, and fences its producer', async () => {
    const topic = randomTopic('txtime');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid, 1000));
    await p.send(topic, [{ value: b64('never') }]);
    await new Promise((r) => setTimeout(r, 1100));
    const swept = await engine.transactions.sweep();
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await api.get(`/floe/v1/transactions/${tid}`)).body.state).toBe('CompleteAbort');
    const c = await p.commit();
    expect(c.status).toBe(409);
    expect(c.body.error_code).toBe(40905);
    expect(await readAll(topic, 0)).toEqual([]);
  });

  it('a sweep that read a transaction before it ended leaves the next one of its producer open', async () => {
    const topic = randomTopic('txsweep');
    await engine.topics.create({ name: topic, partitions: 1 });
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid, 1000));
    await p.send(topic, [{ value: b64('first') }]);
    // What a sweep's scan read: the first transaction, open. It commits, and the next one begins,
    // before the sweep gets to it, past the first one's deadline.
    const table = new TransactionsTable(engine.clients, engine.config.tables.transactions);
    const stale = (await table.scanUnfinished()).find((x) => x.transactionalId === tid)!;
    expect((await p.commit()).body.state).toBe('CompleteCommit');
    expect((await p.send(topic, [{ value: b64('second') }])).status).toBe(200);
    vi.spyOn(TransactionsTable.prototype, 'dueUnfinished').mockResolvedValueOnce([stale]);
    await engine.transactions.sweep(stale.deadline! + 1);
    // The second transaction has not passed its timeout: it is still open, and its producer can commit it.
    expect((await api.get(`/floe/v1/transactions/${tid}`)).body.state).toBe('Ongoing');
    const c = await p.commit();
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect((await readAll(topic, 0)).map((r) => r.value)).toEqual(['first', 'second']);
  });

  it('commits a transaction over 200 partitions', async () => {
    const topic = randomTopic('txwide');
    await createTopic(topic, 210);
    const tid = randomTopic('tid');
    const p = producer(tid, await init(tid));
    const r = await p.send(topic, Array.from({ length: 210 }, (_, q) => ({ value: b64(`v${q}`), partition: q })));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const c = await p.commit();
    expect(c.body.state).toBe('CompleteCommit');
    for (const q of [0, 99, 150, 209]) expect((await readAll(topic, q)).map((x) => x.value)).toEqual([`v${q}`]);
    let total = 0;
    for (let q = 0; q < 210; q++) total += (await engine.fetcher.offsets(topic, q)).highWatermark;
    // Each partition: its record and the commit marker.
    expect(total).toBe(420);
  }, 120_000);

  it('stores Kafka batches: transactional data and a COMMIT control batch, read by kafkajs', async () => {
    const topic = randomTopic('txkafka');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    const ids = await init(tid);
    const p = producer(tid, ids);
    await p.send(topic, [{ key: b64('k'), value: b64('v') }]);
    await p.commit();
    const id = (await engine.topics.resolve(topic)).id;
    expect((await engine.log.getHead(id, 0)).highWatermark).toBe(2);
    const entries = await engine.log.entriesFrom(`${id}#0`, 0, 10);
    expect(entries.map((e) => [e.isTransactional, e.isControl])).toEqual([[true, false], [true, true]]);
    const batches = await Promise.all(entries.map(async (e) => kafkajsDecode(await engine.bucket.getRange(e.objectKey, e.position, e.position + e.length))));
    expect(batches[0]).toMatchObject({ inTransaction: true, isControlBatch: false, producerId: String(ids.producer_id) });
    expect(batches[1]).toMatchObject({ inTransaction: true, isControlBatch: true });
  });

  it('answers bad input with a 4xx and an error code', async () => {
    const topic = randomTopic('txbad');
    await createTopic(topic, 1);
    const tid = randomTopic('tid');
    expect((await api.post(`/floe/v1/transactions/${tid}/commit`, { producer_id: 1, producer_epoch: 0 })).body.error_code).toBe(40404);
    expect((await api.get(`/floe/v1/transactions/${tid}`)).status).toBe(404);
    expect((await api.post(`/floe/v1/transactions/${tid}/init`, { transaction_timeout_ms: 10 })).status).toBe(422);
    expect((await api.post(`/floe/v1/transactions/bad%20id/init`, {})).status).toBe(422);
    const ids = await init(tid);
    expect((await api.post(`/floe/v1/transactions/${tid}/commit`, { producer_id: ids.producer_id, producer_epoch: ids.producer_epoch + 3 })).body.error_code).toBe(40905);
    expect((await api.post(`/floe/v1/transactions/${tid}/commit`, '{"producer_id":')).status).toBe(400);
    expect((await api.post(`/floe/v1/transactions/${tid}/commit`, { producer_id: 'x', producer_epoch: 0 })).status).toBe(422);
    const off = await api.post(`/floe/v1/transactions/${tid}/offsets`, { ...ids, group_id: 'g', offsets: [{ topic, partition: 5, offset: 1 }] });
    expect(off.status).toBe(404);
    expect(off.body.error_code).toBe(40402);
    const missingTopic = await api.post(`/floe/v1/transactions/${tid}/offsets`, { ...ids, group_id: 'g', offsets: [{ topic: randomTopic('none'), partition: 0, offset: 1 }] });
    expect(missingTopic.body.error_code).toBe(40401);
    const noSeq = await api.post(`/floe/v1/topics/${topic}/records`, { transactional_id: tid, records: [{ value: b64('x') }] });
    expect(noSeq.status).toBe(422);
  });

  it('stores only batches kafkajs decodes, the commit markers as control batches', async () => {
    let data = 0;
    let control = 0;
    for (const name of made) {
      const topic = await engine.topics.resolve(name);
      for (let p = 0; p < topic.partitions; p++) {
        for (const e of await engine.log.entriesFrom(`${topic.id}#${p}`, 0, 10_000)) {
          const batch = await kafkajsDecode(await engine.bucket.getRange(e.objectKey, e.position, e.position + e.length));
          expect(batch.isControlBatch).toBe(e.isControl);
          expect(batch.inTransaction).toBe(e.isTransactional);
          if (e.isControl) control++;
          else data++;
        }
      }
    }
    expect(data).toBeGreaterThan(200);
    expect(control).toBeGreaterThan(200);
  }, 120_000);
});
