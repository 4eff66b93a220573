// Two lost updates, each reproduced deterministically: two alters of different configs that read the
// same topic before either writes, and a commit of more offsets than one transaction holds that a
// rebalance interrupts half-way.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.ts';
import { GROUP_SORT_KEY } from '../src/storage/keys.ts';
import { TopicsTable } from '../src/storage/topics-table.ts';
import { TopicService } from '../src/topics/topics.ts';
import { testEngine } from './support/engine.ts';
import { randomTopic, testClients, testConfig } from './support/env.ts';

/** The topics table, whose first `parties` reads wait for each other: every party reads before any writes. */
class BarrierTopicsTable extends TopicsTable {
  private waiting: Array<() => void> = [];
  private left: number;

  constructor(table: TopicsTable, parties: number) {
    super(testClients(), table.table);
    this.left = parties;
  }

  override async get(topic: string, consistent = false) {
    const item = await super.get(topic, consistent);
    if (this.left > 0) {
      this.left--;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        if (this.left === 0) for (const w of this.waiting) w();
      });
    }
    return item;
  }
}

describe('lost updates', () => {
  it('keeps both of two concurrent alters of different configs', async () => {
    const engine = testEngine();
    const name = randomTopic('alter');
    await engine.topics.create({ name });
    const table = new BarrierTopicsTable(new TopicsTable(engine.clients, engine.config.tables.topics), 2);
    // Two processes, each with its own topic service: both describe the topic, then both write.
    const a = new TopicService(table, { defaultPartitions: 1, autoCreate: false });
    const b = new TopicService(table, { defaultPartitions: 1, autoCreate: false });
    await Promise.all([a.alterConfigs(name, { 'retention.ms': '1000' }), b.alterConfigs(name, { 'cleanup.policy': 'compact' })]);
    const configs = (await engine.topics.describe(name)).configs;
    expect(configs['retention.ms']).toBe('1000');
    expect(configs['cleanup.policy']).toBe('compact');
  });

  it('reports exactly which offsets a commit wrote when a rebalance cuts it short', async () => {
    const config = testConfig();
    const clients = testClients(config);
    const group = randomTopic('g');
    let transactions = 0;
    // Between the first and the second transaction of the commit, another process creates the group
    // item, as a coordinator admitting a member would: the rest of the commit is fenced.
    clients.ddb.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const input = args.input as { TransactItems?: Array<{ Put?: { Item?: { s?: string } } }> };
        if (input.TransactItems?.some((i) => i.Put?.Item?.s?.startsWith('offset#')) && ++transactions === 1) {
          await testClients(config).ddb.send(new PutCommand({ TableName: config.tables.groups, Item: { g: group, s: GROUP_SORT_KEY, generation: 1, version: 1, strategy: 'range', members: {}, assignment: {} } }));
        }
        return out;
      },
      { step: 'initialize', name: 'rebalanceBetweenChunks' },
    );
    const engine = createEngine(config, clients);
    const topic = randomTopic('many');
    await engine.topics.create({ name: topic, partitions: 150 });
    const partitions = Array.from({ length: 150 }, (_, p) => p);
    await engine.consumers.create(group, { name: 'c' });
    await engine.consumers.assign(group, 'c', partitions.map((p) => [topic, p]));
    const error = await engine.consumers.commit(group, 'c', partitions.map((p) => ({ topic, partition: p, offset: 10 + p }))).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeDefined();
    const stored = await engine.consumers.committed(group, 'c', partitions.map((p) => [topic, p]));
    // Whatever was written, the answer says so: partition by partition, and nothing else is there.
    const written = stored.map((o) => o.partition).sort((x, y) => x - y);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(150);
    expect(error!.message).toContain(`${written.length} of 150 offsets were written`);
    expect(error!.message).toContain(`${topic}-${written[0]}..${written[written.length - 1]}`);
    for (const o of stored) expect(o.offset).toBe(11 + o.partition);
  });
});
