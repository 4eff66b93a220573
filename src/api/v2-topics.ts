// REST Proxy v2 topic resources: metadata, produce, and (Redpanda's shape) reading a partition.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import type { ProduceRecord } from '../produce/produce.ts';
import { effectiveConfigs } from '../topics/configs.ts';
import type { Topic } from '../topics/topics.ts';
import { runProduce } from './acks.ts';
import { requestBodies } from './body.ts';
import { bytesToEmbedded, embeddedToBytes } from './embedded.ts';
import { negotiateMetadata, produceFormat, recordsFormat, reply, type EmbeddedFormat } from './media.ts';
import type { AppOptions } from './options.ts';
import { acksQuery, intQuery, partitionParam, topicParam } from './params.ts';

/** Floe has no brokers; it reports one logical broker that leads every partition and is always in sync. */
export const LOGICAL_BROKER = 0;

export function partitionMetadata(partition: number) {
  return { partition, leader: LOGICAL_BROKER, replicas: [{ broker: LOGICAL_BROKER, leader: true, in_sync: true }] };
}

function topicMetadata(t: Topic) {
  return {
    name: t.topic,
    configs: effectiveConfigs(t.configs),
    partitions: Array.from({ length: t.partitions }, (_, p) => partitionMetadata(p)),
  };
}

export function v2TopicRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  app.get('/topics', async (c) => {
    const type = negotiateMetadata(c);
    return reply(c, type, (await engine.topics.list()).map((t) => t.topic));
  });

  app.get('/topics/:topic', async (c) => {
    const type = negotiateMetadata(c);
    return reply(c, type, topicMetadata(await engine.topics.describe(topicParam(c.req.param('topic')))));
  });

  app.get('/topics/:topic/partitions', async (c) => {
    const type = negotiateMetadata(c);
    const t = await engine.topics.describe(topicParam(c.req.param('topic')));
    return reply(c, type, topicMetadata(t).partitions);
  });

  app.get('/topics/:topic/partitions/:partition', async (c) => {
    const type = negotiateMetadata(c);
    const name = topicParam(c.req.param('topic'));
    const t = await engine.topics.describe(name);
    const p = partitionParam(name, c.req.param('partition'));
    if (p >= t.partitions) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${name}' not found.`);
    return reply(c, type, partitionMetadata(p));
  });

  app.get('/topics/:topic/partitions/:partition/offsets', async (c) => {
    const type = negotiateMetadata(c);
    const name = topicParam(c.req.param('topic'));
    const p = partitionParam(name, c.req.param('partition'));
    const o = await engine.fetcher.offsets(name, p);
    return reply(c, type, { beginning_offset: o.logStartOffset, end_offset: o.highWatermark });
  });

  app.get('/brokers', (c) => reply(c, negotiateMetadata(c), { brokers: [LOGICAL_BROKER] }));

  const produce = async (c: Context, partition: number | undefined) => {
    const name = topicParam(c.req.param('topic'));
    const format = produceFormat(c);
    const type = negotiateMetadata(c);
    const acks = acksQuery(c.req.query('acks'));
    const body = await bodies.json(c, engine.config.maxRequestBytes);
    const records = parseV2Records(body, format, partition);
    const result = await runProduce(engine, options, name, records, acks, partition);
    if (result && result.transactions > 1) c.header('floe-transactions', String(result.transactions));
    return reply(c, type, {
      offsets: records.map((_, i) => {
        const r = result?.records[i];
        if (!r) return { partition: null, offset: null, error_code: null, error: null };
        if ('error' in r) return { partition: null, offset: null, error_code: r.error.errorCode, error: r.error.message };
        return { partition: r.partition, offset: r.offset, error_code: null, error: null };
      }),
      key_schema_id: null,
      value_schema_id: null,
    });
  };

  app.post('/topics/:topic', (c) => produce(c, undefined));
  app.post('/topics/:topic/partitions/:partition', (c) => {
    const name = topicParam(c.req.param('topic'));
    return produce(c, partitionParam(name, c.req.param('partition')));
  });

  app.get('/topics/:topic/partitions/:partition/records', async (c) => {
    const name = topicParam(c.req.param('topic'));
    const partition = partitionParam(name, c.req.param('partition'));
    const { format, type } = recordsFormat(c);
    const offset = intQuery(c.req.query('offset'), 'offset', { min: 0 });
    if (offset === undefined) throw new FloeError('BAD_REQUEST', "query parameter 'offset' is required");
    const result = await engine.fetcher.fetch({
      topic: name,
      partition,
      offset,
      waitMs: intQuery(c.req.query('timeout'), 'timeout', { min: 0, max: 600_000, default: 0 }),
      maxBytes: intQuery(c.req.query('max_bytes'), 'max_bytes', { min: 1, default: 1024 * 1024 }),
    });
    return reply(
      c,
      type,
      result.records.map((r) => ({
        topic: name,
        key: bytesToEmbedded(r.key, format),
        value: bytesToEmbedded(r.value, format),
        partition,
        offset: r.offset,
      })),
    );
  });
}

/** Validates a v2 produce body; any bad record fails the whole request and nothing is written. */
export function parseV2Records(body: unknown, format: EmbeddedFormat, pathPartition: number | undefined): ProduceRecord[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FloeError('VALIDATION', 'request body must be a JSON object with a "records" array');
  const records = (body as { records?: unknown }).records;
  if (records === undefined || records === null) throw new FloeError('VALIDATION', 'records may not be null');
  if (!Array.isArray(records)) throw new FloeError('VALIDATION', 'records must be an array');
  if (records.length === 0) throw new FloeError('VALIDATION', 'records may not be empty');
  return records.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new FloeError('VALIDATION', `records[${i}] must be an object`);
    const rec = r as { key?: unknown; value?: unknown; partition?: unknown };
    let partition: number | undefined;
    if (rec.partition !== undefined && rec.partition !== null) {
      if (typeof rec.partition !== 'number' || !Number.isInteger(rec.partition) || rec.partition < 0) {
        throw new FloeError('VALIDATION', `records[${i}].partition must be a non-negative integer`);
      }
      partition = rec.partition;
    }
    return {
      key: embeddedToBytes(rec.key, format, `records[${i}].key`),
      value: embeddedToBytes(rec.value, format, `records[${i}].value`),
      partition: pathPartition ?? partition,
    };
  });
}
