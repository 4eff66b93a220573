// The fan-out benchmark's readers, in a process of their own (not the producer's): 50 consumer groups
// tailing every partition of a topic, on one engine (`shared`: one process serving them all) or on one
// engine each (`own`). Told 'count' over IPC it zeroes its figures; told 'stop', it ends the tails and
// answers with the records read and the storage calls made since 'count'.
// Usage (from bench/fanout.ts): node --import tsx bench/fanout-readers.ts <shared|own> <topic> <partitions> <groups>
import { loadConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import { countCalls, CallCounter } from '../test/support/call-counter.ts';

const [mode, topic, partitionsArg, groupsArg] = process.argv.slice(2);
if ((mode !== 'shared' && mode !== 'own') || !topic) throw new Error('usage: fanout-readers.ts <shared|own> <topic> <partitions> <groups>');
const partitions = Number(partitionsArg);
const groups = Number(groupsArg);
const config = loadConfig(process.env);
const counter = new CallCounter();
const engine = (): Engine => {
  const clients = createClients(config);
  countCalls(clients, counter);
  return createEngine(config, clients);
};
const one = mode === 'shared' ? engine() : undefined;
const readers = Array.from({ length: groups }, () => one ?? engine());

let stop = false;
let read = 0;
let fetches = 0;
let cpu = process.cpuUsage();
let since = Date.now();
const tails = readers.flatMap((r) =>
  Array.from({ length: partitions }, async (_, p) => {
    let offset = (await r.fetcher.offsets(topic, p)).highWatermark;
    while (!stop) {
      const res = await r.fetcher.fetch({ topic, partition: p, offset, waitMs: 1000, maxBytes: 1024 * 1024 });
      read += res.records.length;
      fetches++;
      offset = res.nextOffset;
    }
  }),
);
const send = (m: unknown) => process.send!(m);
process.on('message', (m: unknown) => {
  if (m === 'count') {
    counter.reset();
    read = 0;
    fetches = 0;
    cpu = process.cpuUsage();
    since = Date.now();
    send({ counting: true });
  } else if (m === 'stop') {
    const calls = counter.snapshot();
    const records = read;
    const used = process.cpuUsage(cpu);
    // CPU time per second of wall time: 1 is one core kept busy.
    const cores = (used.user + used.system) / 1000 / (Date.now() - since);
    const done = fetches;
    stop = true;
    // Its clients keep sockets open: it ends itself once the answer is sent.
    void Promise.all(tails).then(() => process.send!({ records, calls, cores, fetches: done }, () => process.exit(0)));
  }
});
// Every tail has read its start: the groups are at the end of the log.
setTimeout(() => send({ ready: true }), 500);
