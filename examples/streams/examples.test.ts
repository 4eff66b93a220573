import { describe, expect, it } from 'vitest';
import { KeyValue, Serdes, TopologyTestDriver } from '../../packages/streams/src/index.ts';
import * as ordersEnrichment from './orders-enrichment.ts';
import type { Customer, EnrichedOrder, Order } from './orders-enrichment.ts';
import * as pageViews from './page-views.ts';
import type { PageView } from './page-views.ts';
import * as wordCount from './word-count.ts';

const S = Serdes.String();

describe('the example modules', () => {
  it('each exports what `floe streams run` and a trigger need', () => {
    for (const m of [wordCount, pageViews, ordersEnrichment]) {
      expect(m.applicationId).toMatch(/^[a-zA-Z0-9._-]+$/);
      expect(typeof m.topology.describe()).toBe('string');
      expect(typeof m.handler).toBe('function');
    }
  });
});

describe('word-count', () => {
  it('counts each word across lines, case and punctuation aside, and keeps the counts in the counts store', async () => {
    const driver = new TopologyTestDriver(wordCount.topology, { applicationId: wordCount.applicationId });
    const lines = driver.createInputTopic('text-lines', S, S);
    const counts = driver.createOutputTopic('word-counts', S, Serdes.Long());
    await lines.pipeValue('Hello world');
    await lines.pipeValue('hello, Floe! HELLO streams...');
    await lines.pipeValue('');
    expect(counts.readKeyValuesToList()).toEqual([
      KeyValue.pair('hello', 1),
      KeyValue.pair('world', 1),
      KeyValue.pair('hello', 2),
      KeyValue.pair('floe', 1),
      KeyValue.pair('hello', 3),
      KeyValue.pair('streams', 1),
    ]);
    const store = driver.getKeyValueStore<string, number>('counts');
    expect(store.get('hello')).toBe(3);
    expect(store.get('café')).toBeNull();
    expect(store.all().map((kv) => `${kv.key}=${kv.value}`)).toEqual(['floe=1', 'hello=3', 'streams=1', 'world=1']);
    await lines.pipeValue('Café café');
    expect(counts.readKeyValuesToList()).toEqual([KeyValue.pair('café', 1), KeyValue.pair('café', 2)]);
  });
});

describe('page-views', () => {
  // A minute boundary, so the windows are [T, T+60s), [T+60s, T+120s), ...
  const T = Date.UTC(2026, 0, 15, 9, 0, 0);
  const s = (seconds: number) => T + seconds * 1000;
  const iso = (seconds: number) => new Date(s(seconds)).toISOString();

  function setup() {
    // The wall clock starts with the records' time, as it would in production.
    const driver = new TopologyTestDriver(pageViews.topology, { applicationId: pageViews.applicationId, initialWallClockTimeMs: T });
    const input = driver.createInputTopic('page-views', S, Serdes.Json<PageView>());
    const view = (page: string, user: string, seconds: number) => input.pipeInput(page, { user, page }, s(seconds));
    const out = driver.createOutputTopic('page-views-per-minute', S, S);
    const late = driver.createOutputTopic('page-views-late', S, Serdes.Json<PageView>());
    return { driver, view, out, late };
  }

  it("emits each minute's final count once, when stream time passes its end plus grace; a later view is dropped, counted and sent to the late topic", async () => {
    const { driver, view, out, late } = setup();
    await view('/home', 'ann', 1);
    await view('/home', 'bob', 30);
    await view('/about', 'ann', 45);
    await view('/home', 'cid', 65); // the next minute: the first is over but within its grace
    await view('/home', 'dan', 50); // out of order, within grace (closes at 70 s): counted
    expect(out.isEmpty()).toBe(true);
    await view('/about', 'bob', 69);
    expect(out.isEmpty()).toBe(true);
    await view('/about', 'eve', 70); // stream time 70 s = end + grace: the first minute closes
    expect(out.readRecordsToList().map((r) => [r.key, r.value])).toEqual([
      [`/about@${iso(0)}`, '1'],
      [`/home@${iso(0)}`, '3'],
    ]);

    await view('/home', 'fay', 20); // its minute has closed: late
    expect(driver.metric('dropped-late-records')).toBe(1);
    expect(late.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([['/home', { user: 'fay', page: '/home' }, s(20)]]);
    // The store keeps a window for size + grace after its start: the current minute, not the closed one.
    expect(driver.getWindowStore<string, number>('views-per-minute').fetch('/home', s(0), s(60))).toEqual([KeyValue.pair(s(60), 1)]);

    await view('/home', 'gus', 129);
    expect(out.isEmpty()).toBe(true);
    await view('/home', 'hal', 130); // the second minute closes; nothing of the first again
    expect(out.readRecordsToList().map((r) => [r.key, r.value])).toEqual([
      [`/about@${iso(60)}`, '2'],
      [`/home@${iso(60)}`, '1'],
    ]);
  });

  it('closes a minute on the wall clock when no record comes to move stream time', async () => {
    const { driver, view, out } = setup();
    await view('/home', 'ann', 5);
    await view('/home', 'bob', 10);
    await driver.advanceWallClockTime(69_999);
    expect(out.isEmpty()).toBe(true);
    await driver.advanceWallClockTime(1); // T + 70 s, with no new record
    expect(out.readKeyValuesToList()).toEqual([KeyValue.pair(`/home@${iso(0)}`, '2')]);
    await driver.advanceWallClockTime(600_000);
    expect(out.isEmpty()).toBe(true);
    expect(driver.metric('dropped-late-records')).toBe(0);
  });
});

describe('orders-enrichment', () => {
  function setup() {
    const driver = new TopologyTestDriver(ordersEnrichment.topology, { applicationId: ordersEnrichment.applicationId });
    const customers = driver.createInputTopic('customers', S, Serdes.Json<Customer>());
    const orders = driver.createInputTopic('orders', S, Serdes.Json<Order>());
    const order = (orderId: string, customerId: string, amount: number) => orders.pipeInput(customerId, { orderId, customerId, amount });
    const out = driver.createOutputTopic('orders-enriched', S, Serdes.Json<EnrichedOrder>());
    return { driver, customers, order, out };
  }

  it("enriches each order with its customer's latest value; orders of unknown or deleted customers are not emitted", async () => {
    const { driver, customers, order, out } = setup();
    await order('o-0', 'c-1', 5); // before c-1 exists
    await customers.pipeInput('c-1', { name: 'Ada', tier: 'silver' });
    await customers.pipeInput('c-2', { name: 'Grace', tier: 'bronze' });
    await order('o-1', 'c-1', 10);
    await customers.pipeInput('c-1', { name: 'Ada L.', tier: 'gold' });
    await order('o-2', 'c-1', 20);
    await order('o-3', 'c-9', 30); // no such customer
    await order('o-4', 'c-2', 40);
    await customers.pipeInput('c-1', null); // tombstone
    await order('o-5', 'c-1', 50);
    expect(out.readKeyValuesToList()).toEqual([
      KeyValue.pair('c-1', { orderId: 'o-1', customerId: 'c-1', amount: 10, customer: { name: 'Ada', tier: 'silver' } }),
      KeyValue.pair('c-1', { orderId: 'o-2', customerId: 'c-1', amount: 20, customer: { name: 'Ada L.', tier: 'gold' } }),
      KeyValue.pair('c-2', { orderId: 'o-4', customerId: 'c-2', amount: 40, customer: { name: 'Grace', tier: 'bronze' } }),
    ]);
    const table = driver.getKeyValueStore<string, Customer>('customers');
    expect(table.get('c-1')).toBeNull();
    expect(table.get('c-2')).toEqual({ name: 'Grace', tier: 'bronze' });
  });

  it('a customer update alone emits nothing: only orders trigger the join', async () => {
    const { customers, order, out } = setup();
    await customers.pipeInput('c-1', { name: 'Ada', tier: 'silver' });
    await customers.pipeInput('c-1', { name: 'Ada', tier: 'gold' });
    expect(out.isEmpty()).toBe(true);
    await order('o-1', 'c-1', 10);
    expect(out.readValuesToList().map((o) => o.customer.tier)).toEqual(['gold']);
  });
});
