// `floe produce TOPIC`: one record per line of stdin or a file, sent through the client's batching
// producer (sends within its linger window share one request). A progress bar (records, MB/s) goes to
// stderr when it is a terminal and the input's size is known (a file, or stdin redirected from one).
import { createReadStream, fstatSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import type { Acks, Floe } from '../../client/src/index.ts';

export interface ProduceOptions {
  topic: string;
  keyDelimiter?: string;
  headers: Record<string, string>;
  partition?: number;
  file?: string;
  acks: string;
}

/** Records sent and not yet acknowledged before reading more: memory stays bounded on huge inputs. */
const MAX_PENDING = 50_000;

export async function produce(floe: Floe, o: ProduceOptions): Promise<void> {
  const input = o.file ? createReadStream(o.file) : process.stdin;
  const size = o.file ? statSync(o.file).size : stdinSize();
  const bar =
    process.stderr.isTTY && size !== undefined
      ? new cliProgress.SingleBar({ stream: process.stderr, format: '{bar} {percentage}% | {records} records | {rate} MB/s', hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined;
  bar?.start(size!, 0, { records: 0, rate: '0.00' });
  const acks: Acks = o.acks === 'all' ? 'all' : (Number(o.acks) as Acks);
  const producer = floe.producer({ acks });
  const started = Date.now();
  let read = 0;
  let sent = 0;
  let pending = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const headers = Object.keys(o.headers).length > 0 ? o.headers : undefined;
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (failure) break;
    read += Buffer.byteLength(line) + 1;
    let key: string | null = null;
    let value = line;
    if (o.keyDelimiter !== undefined) {
      const i = line.indexOf(o.keyDelimiter);
      if (i >= 0) {
        key = line.slice(0, i);
        value = line.slice(i + o.keyDelimiter.length);
      }
    }
    pending++;
    producer
      .send({ topic: o.topic, acks, messages: [{ key, value, ...(o.partition !== undefined ? { partition: o.partition } : {}), ...(headers ? { headers } : {}) }] })
      .then(
        () => {
          sent++;
          if (bar && sent % 1000 === 0) bar.update(read, { records: sent, rate: (read / 1024 / 1024 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(2) });
        },
        (e: unknown) => {
          failure ??= e;
        },
      )
      .finally(() => {
        pending--;
        if (pending < MAX_PENDING / 2) wake?.();
      });
    if (pending >= MAX_PENDING) await new Promise<void>((r) => (wake = r));
  }
  await producer.disconnect();
  while (pending > 0 && !failure) await new Promise((r) => setTimeout(r, 5));
  bar?.update(read, { records: sent, rate: (read / 1024 / 1024 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(2) });
  bar?.stop();
  if (failure) throw failure;
  if (process.stderr.isTTY) process.stderr.write(`${sent} records produced to ${o.topic}\n`);
}

function stdinSize(): number | undefined {
  try {
    const s = fstatSync(0);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}
