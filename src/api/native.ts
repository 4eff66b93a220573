// Floe's own read endpoints: what the REST shapes leave out (headers, timestamps, the high watermark
// and log start offset, seeking by time).
import type { Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import type { IsolationLevel } from '../fetch/fetch.ts';
import { MAX_TIMESTAMP_MS, type IdempotentProducer, type ProduceRecord } from '../produce/produce.ts';
import { requestBodies } from './body.ts';
import { decodeBase64 } from './embedded.ts';
import { requireJsonBody } from './media.ts';
import type { AppOptions } from './options.ts';
import { intQuery, partitionParam, topicParam } from './params.ts';

const b64 = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));

export function nativeRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  /** Kafka's InitProducerId: a fresh producer id, for idempotent produce. */
  app.post('/floe/v1/producer-ids', async (c) => {
    return c.json({ producer_id: await engine.producer.allocateProducerId(), producer_epoch: 0 });
  });

  /**
   * Native produce: base64 keys and values, headers, timestamps, and optional idempotence
   * (`producer_id`, `producer_epoch`, `sequence`: a retry with the same sequence is written once).
   */
  app.post('/floe/v1/topics/:topic/records', async (c) => {
    const topic = topicParam(c.req.param('topic'));
    requireJsonBody(c);
    const body = await bodies.json(c, engine.config.maxRequestBytes);
    const { records, producer, transactionalId } = parseNativeProduce(body);
    if (transactionalId !== undefined) {
      // In the producer's transaction: staged now, offsets only when it commits (docs/design.md).
      const r = await engine.transactions.send(transactionalId, producer!, topic, records);
      return c.json({ topic: r.topic, transactional_id: transactionalId, duplicate: r.duplicate, records: r.partitions.map((partition) => ({ partition, offset: null })) });
    }
    const r = await engine.producer.produce(topic, records, producer ? { producer } : {});
    return c.json({
      topic: r.topic,
      transactions: r.transactions,
      records: r.records.map((x) => ('error' in x ? { partition: x.partition, error_code: x.error.errorCode, message: x.error.message } : { partition: x.partition, offset: x.offset, timestamp: x.timestamp })),
    });
  });

  /**
   * offset: a number, `earliest` or `latest`; or `timestamp` (ms) to start at the first record at or
   * after that time.
   */
  app.get('/floe/v1/topics/:topic/partitions/:partition/records', async (c) => {
    const topic = topicParam(c.req.param('topic'));
    const partition = partitionParam(topic, c.req.param('partition'));
    const offset = await startOffset(engine, topic, partition, c.req.query('offset'), c.req.query('timestamp'));
    const isolation = c.req.query('isolation_level') ?? 'read_uncommitted';
    if (isolation !== 'read_uncommitted' && isolation !== 'read_committed') {
      throw new FloeError('BAD_REQUEST', "isolation_level must be read_uncommitted or read_committed");
    }
    const maxRecords = intQuery(c.req.query('max_records'), 'max_records', { min: 1, max: 100_000 });
    const r = await engine.fetcher.fetch({
      topic,
      partition,
      offset,
      waitMs: intQuery(c.req.query('timeout'), 'timeout', { min: 0, max: 600_000, default: 0 }),
      maxBytes: intQuery(c.req.query('max_bytes'), 'max_bytes', { min: 1, default: 1024 * 1024 }),
      ...(maxRecords !== undefined ? { maxRecords } : {}),
      isolation: isolation as IsolationLevel,
    });
    return c.json({
      topic,
      partition,
      high_watermark: r.highWatermark,
      log_start_offset: r.logStartOffset,
      last_stable_offset: r.lastStableOffset,
      next_offset: r.nextOffset,
      records: r.records.map((rec) => ({
        offset: rec.offset,
        timestamp: rec.timestamp,
        key: b64(rec.key),
        value: b64(rec.value),
        headers: rec.headers.map((h) => ({ key: h.key, value: b64(h.value) })),
      })),
    });
  });

  /**
   * Kafka's ListOffsets: `timestamp` in ms (Kafka's -1 and -2, or `latest` and `earliest`, name the ends
   * of the log); `offset` is null when no record is that recent, as Kafka answers -1.
   */
  app.get('/floe/v1/topics/:topic/partitions/:partition/offsets', async (c) => {
    const topic = topicParam(c.req.param('topic'));
    const partition = partitionParam(topic, c.req.param('partition'));
    const ts = c.req.query('timestamp');
    const offset = ts === undefined ? undefined : await offsetForTimestamp(engine, topic, partition, ts);
    const o = await engine.fetcher.offsets(topic, partition);
    return c.json({ log_start_offset: o.logStartOffset, high_watermark: o.highWatermark, bytes: o.bytes, ...(offset !== undefined ? { offset } : {}) });
  });
}

/** A `timestamp` query: ms since the epoch, or Kafka's -1 (latest) and -2 (earliest), or those words. */
async function offsetForTimestamp(engine: Engine, topic: string, partition: number, timestamp: string): Promise<number | null> {
  const special = { latest: 'latest', '-1': 'latest', earliest: 'earliest', '-2': 'earliest' } as const;
  if (timestamp in special) {
    const o = await engine.fetcher.offsets(topic, partition);
    return special[timestamp as keyof typeof special] === 'earliest' ? o.logStartOffset : o.highWatermark;
  }
  const ts = intQuery(timestamp, 'timestamp', { min: 0, max: MAX_TIMESTAMP_MS })!;
  return engine.fetcher.offsetForTime(topic, partition, ts);
}

async function startOffset(engine: Engine, topic: string, partition: number, offset: string | undefined, timestamp: string | undefined): Promise<number> {
  if (timestamp !== undefined) {
    if (offset !== undefined) throw new FloeError('BAD_REQUEST', 'give offset or timestamp, not both');
    // No record that recent: start at the high watermark, where the next one will be.
    return (await offsetForTimestamp(engine, topic, partition, timestamp)) ?? (await engine.fetcher.offsets(topic, partition)).highWatermark;
  }
  if (offset === 'earliest' || offset === 'latest') {
    const o = await engine.fetcher.offsets(topic, partition);
    return offset === 'earliest' ? o.logStartOffset : o.highWatermark;
  }
  const n = intQuery(offset, 'offset', { min: 0 });
  if (n === undefined) throw new FloeError('BAD_REQUEST', "query parameter 'offset' (a number, earliest or latest) or 'timestamp' is required");
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalBase64(v: unknown, what: string): Buffer | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new FloeError('VALIDATION', `${what} must be a base64 string or null`);
  return decodeBase64(v, what);
}

export function parseNativeProduce(body: unknown): { records: ProduceRecord[]; producer?: IdempotentProducer; transactionalId?: string } {
  if (!isObject(body)) throw new FloeError('VALIDATION', 'request body must be a JSON object with a "records" array');
  if (!Array.isArray(body.records)) throw new FloeError('VALIDATION', 'records must be an array');
  if (body.records.length === 0) throw new FloeError('VALIDATION', 'records may not be empty');
  const records = body.records.map((r: unknown, i): ProduceRecord => {
    if (!isObject(r)) throw new FloeError('VALIDATION', `records[${i}] must be an object`);
    const rec: ProduceRecord = { key: optionalBase64(r.key, `records[${i}].key`), value: optionalBase64(r.value, `records[${i}].value`) };
    if (r.partition !== undefined && r.partition !== null) {
      if (typeof r.partition !== 'number' || !Number.isInteger(r.partition) || r.partition < 0) throw new FloeError('VALIDATION', `records[${i}].partition must be a non-negative integer`);
      rec.partition = r.partition;
    }
    if (r.timestamp !== undefined && r.timestamp !== null) {
      if (typeof r.timestamp !== 'number' || !Number.isSafeInteger(r.timestamp) || r.timestamp < 0 || r.timestamp > MAX_TIMESTAMP_MS) {
        throw new FloeError('VALIDATION', `records[${i}].timestamp must be epoch milliseconds, at the latest ${MAX_TIMESTAMP_MS} (9999-12-31)`);
      }
      rec.timestamp = r.timestamp;
    }
    if (r.headers !== undefined && r.headers !== null) {
      if (!Array.isArray(r.headers)) throw new FloeError('VALIDATION', `records[${i}].headers must be an array of {"key","value"}`);
      rec.headers = r.headers.map((h: unknown, j) => {
        if (!isObject(h) || typeof h.key !== 'string') throw new FloeError('VALIDATION', `records[${i}].headers[${j}] must be {"key": string, "value": base64 or null}`);
        return { key: h.key, value: optionalBase64(h.value, `records[${i}].headers[${j}].value`) };
      });
    }
    return rec;
  });
  const fields = [body.producer_id, body.producer_epoch, body.sequence];
  const tid = body.transactional_id;
  if (tid !== undefined && tid !== null && typeof tid !== 'string') throw new FloeError('VALIDATION', 'transactional_id must be a string');
  if (fields.every((f) => f === undefined || f === null)) {
    if (typeof tid === 'string') throw new FloeError('VALIDATION', 'a transactional write needs producer_id, producer_epoch and sequence (from init)');
    return { records };
  }
  if (!fields.every((f) => typeof f === 'number')) throw new FloeError('VALIDATION', 'producer_id, producer_epoch and sequence go together, as integers');
  const producer = { id: body.producer_id as number, epoch: body.producer_epoch as number, sequence: body.sequence as number };
  return typeof tid === 'string' ? { records, producer, transactionalId: tid } : { records, producer };
}
