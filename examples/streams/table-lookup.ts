// A compacted topic read as a key/value store: a table over `customers` keeps each customer's latest
// record in DynamoDB, so a service answers "who is c-1?" with one lookup instead of reading the log.
// It is the table orders-enrichment.ts joins against, seen from outside a topology (README, "Tables").
//
//   npm start                                   # in another terminal
//   npx tsx examples/streams/table-lookup.ts    # FLOE_URL=... for another Floe
//
// An installed application imports '@floe/client'; the repository's examples import the source.
import { Floe, FloeError } from '../../packages/client/src/index.ts';

const floe = new Floe({ url: process.env.FLOE_URL ?? 'http://127.0.0.1:8082' });

// Compaction keeps the latest record per key in the log as well, so the log stays about the size of
// the table. False (not an error) when the topic already exists.
await floe.admin().createTopics({ topics: [{ topic: 'customers', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });

const producer = floe.producer();
await producer.send({ topic: 'customers', messages: [{ key: 'c-2', value: JSON.stringify({ name: 'Grace', tier: 'bronze' }) }] });
// Two versions of c-1 in one send: one partition, so one entry, and the table answers the later.
const [c1] = await producer.send({
  topic: 'customers',
  messages: [
    { key: 'c-1', value: JSON.stringify({ name: 'Ada', tier: 'silver' }) },
    { key: 'c-1', value: JSON.stringify({ name: 'Ada', tier: 'gold' }) },
  ],
});
await producer.disconnect();

try {
  await floe.tables().create({ name: 'customers', topic: 'customers' });
} catch (e) {
  // Run again, the table is already there and kept up to date.
  if (!(e instanceof FloeError && e.status === 409)) throw e;
}

// The table is kept by a trigger, a moment behind the log (and a new one starts from the log start):
// minOffset makes the read wait until it has applied our write, answering 50301 until then.
const minOffset = Math.max(...c1!.offsets) + 1;
const deadline = Date.now() + 30_000;
for (;;) {
  try {
    const entry = await floe.table('customers').get('c-1', { minOffset, partition: c1!.partition });
    if (entry !== null && entry.value !== null) console.log(`c-1 (partition ${entry.partition}, offset ${entry.offset}):`, JSON.parse(new TextDecoder().decode(entry.value)));
    else console.log('c-1: not in the table');
    break;
  } catch (e) {
    if (!(e instanceof FloeError && e.code === 50301) || Date.now() > deadline) throw e;
  }
}
