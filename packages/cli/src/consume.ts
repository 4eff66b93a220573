// `floe consume TOPIC`: records from a start (-o), printed with kcat's tokens or as JSON envelopes, until
// the end of the log (-e), a count (-c), or Ctrl-C. Without -G each partition is read on its own from
// the native fetch endpoint; with -G the client's consumer reads as a member of the group and commits.
import { FloeError, type Floe } from '../../client/src/index.ts';
import { compileFormat, jsonEnvelope, UsageError, type PrintedRecord } from './format.ts';

export interface ConsumeOptions {
  topic: string;
  offset: string;
  exitAtEnd: boolean;
  count?: number;
  format: string;
  json: boolean;
  group?: string;
  partition?: number;
  isolationLevel: 'read_uncommitted' | 'read_committed';
}

interface NativeRecords {
  high_watermark: number;
  next_offset: number;
  records: Array<{ offset: number; timestamp: number; key: string | null; value: string | null; headers: Array<{ key: string; value: string | null }> }>;
}

interface Offsets {
  log_start_offset: number;
  high_watermark: number;
  offset?: number | null;
}

const bytes = (b64: string | null) => (b64 === null ? null : Buffer.from(b64, 'base64'));
const path = (topic: string) => `/floe/v1/topics/${encodeURIComponent(topic)}`;

/** Where a partition starts for an `-o` value. */
type Start = { query: Record<string, string> } | { fromEnd: number };

function parseStart(offset: string): Start {
  if (offset === 'beginning') return { query: { offset: 'earliest' } };
  if (offset === 'end') return { query: { offset: 'latest' } };
  if (/^\d+$/.test(offset)) return { query: { offset } };
  if (/^-\d+$/.test(offset)) return { fromEnd: Number(offset.slice(1)) };
  if (offset.startsWith('@')) {
    const v = offset.slice(1);
    const ts = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isNaN(ts)) throw new UsageError(`-o @ takes an ISO time or epoch milliseconds, got '${v}'`);
    return { query: { timestamp: String(ts) } };
  }
  throw new UsageError(`-o must be beginning, end, stored, N, -N or @<time>, got '${offset}'`);
}

export async function consume(floe: Floe, o: ConsumeOptions): Promise<void> {
  const print = o.json ? jsonEnvelope : compileFormat(o.format);
  const out = new Printer(print, o.count);
  if (o.group) return consumeInGroup(floe, o, out);
  const start = o.offset === 'stored' ? undefined : parseStart(o.offset);
  const meta = await floe.request<{ partitions_count: number }>('GET', `/v3/clusters/floe/topics/${encodeURIComponent(o.topic)}`, { retry: true });
  if (o.partition !== undefined && o.partition >= meta.partitions_count) throw new UsageError(`-p ${o.partition}: ${o.topic} has ${meta.partitions_count} partitions`);
  const partitions = o.partition !== undefined ? [o.partition] : [...Array(meta.partitions_count).keys()];
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  await Promise.all(
    partitions.map(async (p) => {
      let query: Record<string, string | number>;
      if (start && 'fromEnd' in start) {
        const off = await floe.request<Offsets>('GET', `${path(o.topic)}/partitions/${p}/offsets`, { retry: true });
        query = { offset: Math.max(off.log_start_offset, off.high_watermark - start.fromEnd) };
      } else {
        query = start!.query;
      }
      // -e ends at the high watermark as it was when the partition was first read.
      let end: number | undefined;
      while (!stop.signal.aborted && !out.full) {
        const r = await floe.request<NativeRecords>('GET', `${path(o.topic)}/partitions/${p}/records`, {
          query: { ...query, max_bytes: 1024 * 1024, isolation_level: o.isolationLevel, timeout: o.exitAtEnd ? 0 : 1000 },
          retry: true,
        });
        end ??= r.high_watermark;
        for (const rec of r.records) {
          if (out.full) break;
          out.print({ topic: o.topic, partition: p, offset: rec.offset, timestamp: rec.timestamp, key: bytes(rec.key), value: bytes(rec.value), headers: rec.headers.map((h) => ({ key: h.key, value: bytes(h.value) })) });
        }
        query = { offset: r.next_offset };
        if (o.exitAtEnd && r.next_offset >= end) break;
      }
    }),
  );
  await out.flush();
}

async function consumeInGroup(floe: Floe, o: ConsumeOptions, out: Printer): Promise<void> {
  if (o.offset !== 'stored' && o.offset !== 'beginning' && o.offset !== 'end') {
    throw new UsageError('with -G, -o is stored (the group\'s offsets), beginning or end (where a group with none starts)');
  }
  const meta = await floe.request<{ partitions_count: number }>('GET', `/v3/clusters/floe/topics/${encodeURIComponent(o.topic)}`, { retry: true });
  // -e: the high watermarks now are the end.
  const ends = new Map<number, number>();
  for (let p = 0; p < meta.partitions_count; p++) ends.set(p, (await floe.request<Offsets>('GET', `${path(o.topic)}/partitions/${p}/offsets`, { retry: true })).high_watermark);
  const consumer = floe.consumer({ groupId: o.group!, fromBeginning: o.offset === 'beginning', isolationLevel: o.isolationLevel });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: o.offset === 'beginning' });
  const reached = new Map<number, number>();
  let stopping = false;
  const finish = async () => {
    if (stopping) return;
    stopping = true;
    await consumer.stop();
  };
  process.once('SIGINT', () => void finish());
  const caughtUp = async () => {
    // A group that never committed is not there yet: nothing is caught up.
    const desc = await floe
      .request<{ offsets: Array<{ topic: string; partition: number; committed_offset: number }> }>('GET', `/floe/v1/groups/${encodeURIComponent(o.group!)}`, { retry: true })
      .catch((e: unknown) => {
        if (e instanceof FloeError && e.status === 404) return { offsets: [] };
        throw e;
      });
    for (const x of desc.offsets) if (x.topic === o.topic) reached.set(x.partition, Math.max(reached.get(x.partition) ?? 0, x.committed_offset));
    return [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end);
  };
  if (o.exitAtEnd && (await caughtUp())) {
    await consumer.disconnect();
    return;
  }
  const watcher = o.exitAtEnd
    ? setInterval(() => {
        void caughtUp().then((done) => (done ? finish() : undefined), () => undefined);
      }, 500)
    : undefined;
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (out.full) return;
      const headers = Object.entries(message.headers ?? {}).flatMap(([key, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ key, value: value === undefined || value === null ? null : Buffer.from(value) })));
      out.print({ topic, partition, offset: Number(message.offset), timestamp: Number(message.timestamp), key: message.key ?? null, value: message.value ?? null, headers });
      reached.set(partition, Math.max(reached.get(partition) ?? 0, Number(message.offset) + 1));
      if (out.full || (o.exitAtEnd && [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end))) void finish();
    },
  });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        resolve();
      }
    }, 50);
  });
  if (watcher) clearInterval(watcher);
  await consumer.disconnect();
  await out.flush();
}

/** Writes records to stdout, at most `limit` of them, respecting back-pressure. */
class Printer {
  private printed = 0;
  private buffer: string[] = [];
  constructor(
    private readonly format: (r: PrintedRecord) => string,
    private readonly limit: number | undefined,
  ) {}

  get full(): boolean {
    return this.limit !== undefined && this.printed >= this.limit;
  }

  print(r: PrintedRecord): void {
    if (this.full) return;
    this.printed++;
    this.buffer.push(this.format(r));
    if (this.buffer.length >= 512) this.write();
  }

  private write(): boolean {
    const chunk = this.buffer.join('');
    this.buffer = [];
    return chunk ? process.stdout.write(chunk) : true;
  }

  async flush(): Promise<void> {
    if (!this.write()) await new Promise((r) => process.stdout.once('drain', r));
  }
}
