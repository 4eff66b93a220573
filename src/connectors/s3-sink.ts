// The S3 sink: a partition's records as objects `<topics.dir>/<topic>/partition=<p>/<topic>+<p>+<start>.<ext>`
// (or `<topics.dir>/<topic>/<path.format of the record time>/...`), each written once with
// `If-None-Match: *`, JSON lines or Parquet.
//
// Exactly once by construction: where an object starts and ends depends only on the records, never on
// the wall clock or on how the trigger cut its batches. An object starts at the first good record
// after the previous object; it ends after `flush.size` records, before a record whose time is
// `rotate.interval.ms` or more past the object's first (or that falls in another time path), or where
// a full batch from the object's start ends. Records that do not yet close an object are not committed
// past: the lane reads them again with the records after them, and writes the same object from the
// same start. A replay writes objects of the same names and bytes, which S3 refuses to replace.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { AwsClients } from '../storage/clients.ts';
import { valueSchema, type ParquetFieldType } from './config.ts';
import { BadRecordError, convertAll, parseJson, utf8, type Sink, type SinkOutcome, type SinkRecord, type SinkWriteOptions } from './records.ts';

/** Kafka's S3 sink pads the start offset in names to this many digits, so names sort by offset. */
const OFFSET_PAD = 10;

/** The record as one object line or row: every text field checked as UTF-8, the value as `value.converter` reads it. */
interface Row {
  record: SinkRecord;
  key: string | null;
  value: unknown;
  headers: Array<{ key: string; value: string }>;
  fields: Record<string, unknown>;
  path: string;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `path.format` for a time: yyyy, MM, dd, HH, mm in UTC; 'quoted' text as it is. */
export function formatPath(format: string, time: number): string {
  const d = new Date(time);
  return format.replace(/'([^']*)'|yyyy|MM|dd|HH|mm/g, (m, quoted: string | undefined) => {
    if (quoted !== undefined) return quoted;
    if (m === 'yyyy') return String(d.getUTCFullYear()).padStart(4, '0');
    if (m === 'MM') return two(d.getUTCMonth() + 1);
    if (m === 'dd') return two(d.getUTCDate());
    if (m === 'HH') return two(d.getUTCHours());
    return two(d.getUTCMinutes());
  });
}

export function objectKey(config: Record<string, string>, topic: string, partition: number, path: string, start: number): string {
  const ext = config['format.class'] === 'parquet' ? 'parquet' : 'json';
  return `${config['topics.dir']}/${topic}/${path}/${topic}+${partition}+${String(start).padStart(OFFSET_PAD, '0')}.${ext}`;
}

function fieldValue(name: string, type: ParquetFieldType, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  const wrong = () => new BadRecordError('VALUE_CONVERTER', `field '${name}' is ${JSON.stringify(v).slice(0, 60)}, not a ${type} as value.schema says`);
  switch (type) {
    case 'string':
      if (typeof v !== 'string') throw wrong();
      return v;
    case 'int32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw wrong();
      return v;
    case 'int64':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrong();
      return BigInt(v);
    case 'double':
      if (typeof v !== 'number') throw wrong();
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw wrong();
      return v;
    case 'timestamp':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrong();
      return new Date(v);
    case 'json':
      return JSON.stringify(v);
  }
}

const PARQUET_TYPES: Record<ParquetFieldType, 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP' | 'JSON'> = {
  string: 'STRING',
  int32: 'INT32',
  int64: 'INT64',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

export class S3Sink implements Sink {
  private readonly flushSize: number;
  private readonly rotateMs: number | undefined;
  private readonly schema: Array<{ name: string; type: ParquetFieldType }>;

  constructor(
    private readonly config: Record<string, string>,
    private readonly clients: AwsClients,
  ) {
    this.flushSize = Number(config['flush.size']);
    this.rotateMs = config['rotate.interval.ms'] === undefined ? undefined : Number(config['rotate.interval.ms']);
    this.schema = valueSchema(config);
  }

  private row(r: SinkRecord): Row {
    const key = r.key === null ? null : utf8(r.key, 'KEY_CONVERTER', 'the record key');
    const headers = r.headers.map((h) => ({ key: h.key, value: h.value === null ? '' : utf8(h.value, 'HEADER_CONVERTER', `header '${h.key}'`) }));
    let value: unknown = null;
    const fields: Record<string, unknown> = {};
    if (r.value !== null) {
      const converter = this.config['value.converter'];
      if (converter === 'bytes') value = Buffer.from(r.value).toString('base64');
      else if (converter === 'json') value = parseJson(r.value);
      else value = utf8(r.value, 'VALUE_CONVERTER', 'the value');
      if (this.schema.length > 0) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRecordError('VALUE_CONVERTER', 'the value is not a JSON object; value.schema reads its fields');
        for (const f of this.schema) fields[f.name] = fieldValue(f.name, f.type, (value as Record<string, unknown>)[f.name]);
      }
    } else for (const f of this.schema) fields[f.name] = null;
    const path = this.config['path.format'] === undefined ? `partition=${r.partition}` : formatPath(this.config['path.format'], r.timestamp);
    return { record: r, key, value, headers, fields, path };
  }

  async write(records: SinkRecord[], options: SinkWriteOptions): Promise<SinkOutcome> {
    const { good, bad, stopped } = await convertAll(records, options.stopAtBad, (r) => this.row(r));
    const files: Row[][] = [];
    let open: Row[] = [];
    for (const { value: row } of good) {
      const first = open[0];
      if (first && (row.path !== first.path || (this.rotateMs !== undefined && row.record.timestamp - first.record.timestamp >= this.rotateMs))) {
        files.push(open);
        open = [];
      }
      open.push(row);
      if (open.length >= this.flushSize) {
        files.push(open);
        open = [];
      }
    }
    // A full batch that began with the open object's first record: no batch from there holds more, so it ends here.
    if (!stopped && options.full && open.length > 0 && open[0]!.record.at === records[0]!.at) {
      files.push(open);
      open = [];
    }
    // A failure is retried from the batch's start: the objects already written are the same again, and refused.
    for (const f of files) await this.put(f);
    const through = stopped ? (files.at(-1)?.at(-1)?.record.at ?? records[0]!.at - 1) + 1 : open.length > 0 ? open[0]!.record.at : options.batchEnd;
    if (stopped) {
      // Under `none` the stop is at the bad record when nothing is open before it.
      return { through: Math.min(through, stopped.record.at), bad: [], stopped };
    }
    return { through, bad: bad.filter((b) => b.record.at < through) };
  }

  private body(rows: Row[]): Uint8Array {
    if (this.config['format.class'] === 'parquet') {
      const col = <T>(f: (r: Row) => T) => rows.map(f);
      const json = this.config['value.converter'] === 'json';
      const buf = parquetWriteBuffer({
        columnData: [
          { name: 'key', data: col((r) => r.key), type: 'STRING' },
          { name: 'value', data: col((r) => (r.value === null ? null : json ? JSON.stringify(r.value) : (r.value as string))), type: json ? 'JSON' : 'STRING' },
          { name: 'headers', data: col((r) => JSON.stringify(r.headers)), type: 'JSON' },
          { name: 'topic', data: col((r) => r.record.topic), type: 'STRING' },
          { name: 'partition', data: col((r) => r.record.partition), type: 'INT32' },
          { name: 'offset', data: col((r) => BigInt(r.record.offset)), type: 'INT64' },
          { name: 'timestamp', data: col((r) => new Date(r.record.timestamp)), type: 'TIMESTAMP' },
          ...this.schema.map((f) => ({ name: f.name, data: col((r) => r.fields[f.name]) as never, type: PARQUET_TYPES[f.type] })),
        ],
        createdBy: 'floe s3-sink',
      });
      return new Uint8Array(buf);
    }
    const lines = rows.map((r) => JSON.stringify({ topic: r.record.topic, partition: r.record.partition, offset: r.record.offset, timestamp: r.record.timestamp, key: r.key, value: r.value, headers: r.headers }));
    return new TextEncoder().encode(`${lines.join('\n')}\n`);
  }

  private async put(rows: Row[]): Promise<void> {
    const first = rows[0]!.record;
    const body = this.body(rows);
    try {
      await this.clients.s3.send(
        new PutObjectCommand({
          Bucket: this.config['s3.bucket.name'],
          Key: objectKey(this.config, first.topic, first.partition, rows[0]!.path, first.offset),
          Body: body,
          ContentLength: body.byteLength,
          ContentType: this.config['format.class'] === 'parquet' ? 'application/vnd.apache.parquet' : 'application/x-ndjson',
          // An object is never replaced: a replay's PUT of the same name (and the same bytes) is refused.
          IfNoneMatch: '*',
        }),
      );
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return;
      throw e;
    }
  }
}
