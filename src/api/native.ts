// Floe's own read endpoints: what the REST shapes leave out (headers, timestamps, the high watermark
// and log start offset, seeking by time).
import type { Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import type { IsolationLevel } from '../fetch/fetch.ts';
import { intQuery, partitionParam, topicParam } from './params.ts';

const b64 = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));

export function nativeRoutes(app: Hono, engine: Engine): void {
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

  /** Kafka's ListOffsets: `timestamp` in ms, or `earliest` / `latest`. */
  app.get('/floe/v1/topics/:topic/partitions/:partition/offsets', async (c) => {
    const topic = topicParam(c.req.param('topic'));
    const partition = partitionParam(topic, c.req.param('partition'));
    const o = await engine.fetcher.offsets(topic, partition);
    const ts = c.req.query('timestamp');
    const body: Record<string, number> = { log_start_offset: o.logStartOffset, high_watermark: o.highWatermark };
    if (ts !== undefined) body.offset = await startOffset(engine, topic, partition, undefined, ts);
    return c.json(body);
  });
}

async function startOffset(engine: Engine, topic: string, partition: number, offset: string | undefined, timestamp: string | undefined): Promise<number> {
  if (timestamp !== undefined) {
    if (offset !== undefined) throw new FloeError('BAD_REQUEST', 'give offset or timestamp, not both');
    if (timestamp === 'earliest' || timestamp === 'latest') return startOffset(engine, topic, partition, timestamp, undefined);
    const ts = intQuery(timestamp, 'timestamp', { min: 0 })!;
    return engine.fetcher.offsetForTime(topic, partition, ts);
  }
  if (offset === 'earliest' || offset === 'latest') {
    const o = await engine.fetcher.offsets(topic, partition);
    return offset === 'earliest' ? o.logStartOffset : o.highWatermark;
  }
  const n = intQuery(offset, 'offset', { min: 0 });
  if (n === undefined) throw new FloeError('BAD_REQUEST', "query parameter 'offset' (a number, earliest or latest) or 'timestamp' is required");
  return n;
}
