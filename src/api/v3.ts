// REST Proxy v3, for what v2 lacks: topic administration and producing records with headers.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { MAX_TIMESTAMP_MS, type ProduceRecord } from '../produce/produce.ts';
import { effectiveConfigs, TOPIC_CONFIGS } from '../topics/configs.ts';
import type { Topic } from '../topics/topics.ts';
import { runProduce } from './acks.ts';
import { requestBodies } from './body.ts';
import { decodeBase64, jsonToBytes } from './embedded.ts';
import { toFloeError } from './http-errors.ts';
import { requireJsonBody } from './media.ts';
import type { AppOptions } from './options.ts';
import { acksQuery, topicParam } from './params.ts';

/** Floe is one logical cluster; its id is fixed so v3 URLs stay stable. */
export const CLUSTER_ID = 'floe';

function base(c: Context): string {
  return new URL(c.req.url).origin;
}

function clusterParam(c: Context): string {
  const id = c.req.param('cluster');
  if (id !== CLUSTER_ID) throw new FloeError('NOT_FOUND', `Cluster ${id} not found.`);
  return id;
}

function clusterData(c: Context) {
  const self = `${base(c)}/v3/clusters/${CLUSTER_ID}`;
  return {
    kind: 'KafkaCluster',
    metadata: { self, resource_name: `crn:///kafka=${CLUSTER_ID}` },
    cluster_id: CLUSTER_ID,
    controller: { related: `${self}/brokers/0` },
    acls: { related: `${self}/acls` },
    brokers: { related: `${self}/brokers` },
    broker_configs: { related: `${self}/broker-configs` },
    consumer_groups: { related: `${self}/consumer-groups` },
    topics: { related: `${self}/topics` },
    partition_reassignments: { related: `${self}/topics/-/partitions/-/reassignment` },
  };
}

function topicData(c: Context, t: Topic) {
  const self = `${base(c)}/v3/clusters/${CLUSTER_ID}/topics/${t.topic}`;
  return {
    kind: 'KafkaTopic',
    metadata: { self, resource_name: `crn:///kafka=${CLUSTER_ID}/topic=${t.topic}` },
    cluster_id: CLUSTER_ID,
    topic_name: t.topic,
    is_internal: false,
    replication_factor: 1,
    partitions_count: t.partitions,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
    partition_reassignments: { related: `${self}/partitions/-/reassignment` },
    authorized_operations: [],
  };
}

function configData(c: Context, t: Topic, name: string) {
  const value = effectiveConfigs(t.configs)[name] ?? null;
  const isDefault = t.configs[name] === undefined;
  return {
    kind: 'KafkaTopicConfig',
    metadata: { self: `${base(c)}/v3/clusters/${CLUSTER_ID}/topics/${t.topic}/configs/${name}`, resource_name: `crn:///kafka=${CLUSTER_ID}/topic=${t.topic}/config=${name}` },
    cluster_id: CLUSTER_ID,
    topic_name: t.topic,
    name,
    value,
    is_read_only: false,
    is_sensitive: false,
    is_default: isDefault,
    source: isDefault ? 'DEFAULT_CONFIG' : 'DYNAMIC_TOPIC_CONFIG',
    synonyms: [],
  };
}

function list(kind: string, self: string, data: unknown[]) {
  return { kind, metadata: { self, next: null }, data };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** v3 configs arrive as [{name, value}]; turned into a map, validated later by the topic service. */
function configList(raw: unknown, allowDelete: boolean): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!Array.isArray(raw)) throw new FloeError('VALIDATION', 'configs must be an array of {"name","value"}');
  const out: Record<string, unknown> = {};
  for (const [i, item] of raw.entries()) {
    if (!isObject(item) || typeof item.name !== 'string') throw new FloeError('VALIDATION', `configs[${i}] must be an object with a string "name"`);
    if (allowDelete && item.operation !== undefined && String(item.operation).toUpperCase() === 'DELETE') out[item.name] = null;
    else out[item.name] = item.value;
  }
  return out;
}

export function v3Routes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  app.get('/v3/clusters', (c) => c.json(list('KafkaClusterList', `${base(c)}/v3/clusters`, [clusterData(c)])));
  app.get('/v3/clusters/:cluster', (c) => {
    clusterParam(c);
    return c.json(clusterData(c));
  });

  app.get('/v3/clusters/:cluster/topics', async (c) => {
    clusterParam(c);
    const topics = await engine.topics.list();
    return c.json(list('KafkaTopicList', `${base(c)}/v3/clusters/${CLUSTER_ID}/topics`, topics.map((t) => topicData(c, t))));
  });

  app.post('/v3/clusters/:cluster/topics', async (c) => {
    clusterParam(c);
    requireJsonBody(c);
    const body = await bodies.json(c, 1024 * 1024);
    if (!isObject(body)) throw new FloeError('VALIDATION', 'request body must be a JSON object');
    if (typeof body.topic_name !== 'string') throw new FloeError('VALIDATION', 'topic_name is required and must be a string');
    const partitions = body.partitions_count;
    if (partitions !== undefined && partitions !== null && (typeof partitions !== 'number' || !Number.isInteger(partitions))) {
      throw new FloeError('VALIDATION', 'partitions_count must be an integer');
    }
    const rf = body.replication_factor;
    if (rf !== undefined && rf !== null && rf !== 1 && rf !== -1) {
      // S3 and DynamoDB replicate; there is no replica count to choose.
      throw new FloeError('INVALID_CONFIG', 'replication_factor can only be 1 (storage is replicated by S3 and DynamoDB)');
    }
    const t = await engine.topics.create({
      name: body.topic_name,
      ...(typeof partitions === 'number' ? { partitions } : {}),
      configs: configList(body.configs, false),
    });
    return c.json(topicData(c, t), 201);
  });

  app.get('/v3/clusters/:cluster/topics/:topic', async (c) => {
    clusterParam(c);
    return c.json(topicData(c, await engine.topics.describe(topicParam(c.req.param('topic')))));
  });

  app.delete('/v3/clusters/:cluster/topics/:topic', async (c) => {
    clusterParam(c);
    await engine.topics.delete(topicParam(c.req.param('topic')));
    return c.body(null, 204);
  });

  app.get('/v3/clusters/:cluster/topics/:topic/configs', async (c) => {
    clusterParam(c);
    const t = await engine.topics.describe(topicParam(c.req.param('topic')));
    return c.json(list('KafkaTopicConfigList', `${base(c)}/v3/clusters/${CLUSTER_ID}/topics/${t.topic}/configs`, Object.keys(TOPIC_CONFIGS).map((n) => configData(c, t, n))));
  });

  app.get('/v3/clusters/:cluster/topics/:topic/configs/:name', async (c) => {
    clusterParam(c);
    const t = await engine.topics.describe(topicParam(c.req.param('topic')));
    const name = c.req.param('name');
    if (!TOPIC_CONFIGS[name]) throw new FloeError('NOT_FOUND', `Config ${name} not found.`);
    return c.json(configData(c, t, name));
  });

  app.put('/v3/clusters/:cluster/topics/:topic/configs/:name', async (c) => {
    clusterParam(c);
    requireJsonBody(c);
    const body = await bodies.json(c, 64 * 1024);
    if (!isObject(body) || !('value' in body)) throw new FloeError('VALIDATION', 'request body must be {"value": ...}');
    await engine.topics.alterConfigs(topicParam(c.req.param('topic')), { [c.req.param('name')]: body.value });
    return c.body(null, 204);
  });

  app.delete('/v3/clusters/:cluster/topics/:topic/configs/:name', async (c) => {
    clusterParam(c);
    const name = c.req.param('name');
    if (!TOPIC_CONFIGS[name]) throw new FloeError('NOT_FOUND', `Config ${name} not found.`);
    await engine.topics.alterConfigs(topicParam(c.req.param('topic')), { [name]: null });
    return c.body(null, 204);
  });

  app.post('/v3/clusters/:cluster/topics/:topic/configs:alter', async (c) => {
    clusterParam(c);
    requireJsonBody(c);
    const body = await bodies.json(c, 256 * 1024);
    if (!isObject(body)) throw new FloeError('VALIDATION', 'request body must be {"data": [{"name","value"}]}');
    await engine.topics.alterConfigs(topicParam(c.req.param('topic')), configList(body.data, true));
    return c.body(null, 204);
  });

  app.post('/v3/clusters/:cluster/topics/:topic/records', async (c) => {
    clusterParam(c);
    requireJsonBody(c);
    const name = topicParam(c.req.param('topic'));
    const acks = acksQuery(c.req.query('acks'));
    const text = new TextDecoder().decode(await bodies.bytes(c, engine.config.maxRequestBytes));
    const values = parseJsonStream(text);
    if (values.length === 0) throw new FloeError('MALFORMED_JSON', 'Request body is empty; expected one or more JSON records');
    // Every valid record of the body goes into one produce (one PUT, one transaction); bad ones get their own report.
    const parsed = values.map((v) => {
      try {
        return { record: parseV3Record(v) };
      } catch (e) {
        return { error: toFloeError(e) };
      }
    });
    const good = parsed.flatMap((p) => (p.record ? [p.record] : []));
    let result: Awaited<ReturnType<typeof runProduce>> | FloeError | undefined;
    if (good.length > 0) {
      try {
        result = await runProduce(engine, options, name, good, acks);
      } catch (e) {
        result = toFloeError(e);
        // A topic that does not exist fails the request as a whole, like the REST Proxy.
        if (values.length === 1 || result.status === 404) throw result;
      }
    }
    let j = 0;
    const reports = parsed.map((p) => {
      if (p.error) return { error_code: p.error.status, message: p.error.message };
      const r = result instanceof FloeError ? result : result?.records[j];
      const rec = good[j++]!;
      if (r instanceof FloeError) return { error_code: r.status, message: r.message };
      if (r && 'error' in r) return { error_code: r.error.status, message: r.error.message };
      return {
        error_code: 200,
        cluster_id: CLUSTER_ID,
        topic_name: name,
        partition_id: r ? r.partition : null,
        offset: r ? r.offset : null,
        timestamp: r ? new Date(r.timestamp).toISOString() : null,
        key: rec.key === null ? null : { type: 'BINARY', size: rec.key.length },
        value: rec.value === null ? null : { type: 'BINARY', size: rec.value.length },
      };
    });
    if (values.length === 1) {
      const only = reports[0]!;
      if (only.error_code !== 200) return c.json({ error_code: only.error_code, message: (only as { message: string }).message }, only.error_code as 400);
      return c.json(only);
    }
    return c.body(reports.map((r) => JSON.stringify(r)).join('\n'), 200, { 'content-type': 'application/json' });
  });
}

/** A body of one JSON value, or several concatenated / newline-separated (the v3 streaming form). */
export function parseJsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const start = i;
    const first = text[i]!;
    if (first !== '{' && first !== '[') {
      try {
        return [JSON.parse(text)];
      } catch (e) {
        throw new FloeError('MALFORMED_JSON', `Unexpected character in JSON body: ${(e as Error).message}`);
      }
    }
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const ch = text[i]!;
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    try {
      out.push(JSON.parse(text.slice(start, i)));
    } catch (e) {
      throw new FloeError('MALFORMED_JSON', `Unexpected character in JSON body: ${(e as Error).message}`);
    }
  }
  return out;
}

function v3Data(node: unknown, what: string): Buffer | null {
  if (node === undefined || node === null) return null;
  if (!isObject(node)) throw new FloeError('VALIDATION', `${what} must be an object {"type","data"}`);
  const type = node.type === undefined ? (typeof node.data === 'string' ? 'STRING' : 'JSON') : String(node.type).toUpperCase();
  const data = node.data;
  if (data === undefined || data === null) return null;
  switch (type) {
    case 'BINARY':
      if (typeof data !== 'string') throw new FloeError('VALIDATION', `${what}.data must be a base64 string for type BINARY`);
      return decodeBase64(data, `${what}.data`);
    case 'STRING':
      if (typeof data !== 'string') throw new FloeError('VALIDATION', `${what}.data must be a string for type STRING`);
      return Buffer.from(data, 'utf8');
    case 'JSON':
      return jsonToBytes(data, `${what}.data`);
    case 'AVRO':
    case 'PROTOBUF':
    case 'JSONSCHEMA':
      throw new FloeError('UNSUPPORTED_MEDIA_TYPE', `${what}.type ${type} needs a schema registry, which Floe does not have`);
    default:
      throw new FloeError('VALIDATION', `${what}.type must be BINARY, JSON or STRING`);
  }
}

export function parseV3Record(v: unknown): ProduceRecord {
  if (!isObject(v)) throw new FloeError('VALIDATION', 'each record must be a JSON object');
  const rec: ProduceRecord = { key: v3Data(v.key, 'key'), value: v3Data(v.value, 'value') };
  if (v.partition_id !== undefined && v.partition_id !== null) {
    if (typeof v.partition_id !== 'number' || !Number.isInteger(v.partition_id) || v.partition_id < 0) throw new FloeError('VALIDATION', 'partition_id must be a non-negative integer');
    rec.partition = v.partition_id;
  }
  if (v.timestamp !== undefined && v.timestamp !== null) {
    const ts = typeof v.timestamp === 'number' ? v.timestamp : Date.parse(String(v.timestamp));
    if (!Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP_MS) throw new FloeError('VALIDATION', 'timestamp must be an ISO-8601 date-time or epoch milliseconds, at the latest 9999-12-31');
    rec.timestamp = ts;
  }
  if (v.headers !== undefined && v.headers !== null) {
    if (!Array.isArray(v.headers)) throw new FloeError('VALIDATION', 'headers must be an array of {"name","value"}');
    rec.headers = v.headers.map((h: unknown, i) => {
      if (!isObject(h) || typeof h.name !== 'string') throw new FloeError('VALIDATION', `headers[${i}] must be {"name": string, "value": base64 string or null}`);
      if (h.value !== undefined && h.value !== null && typeof h.value !== 'string') throw new FloeError('VALIDATION', `headers[${i}].value must be a base64 string or null`);
      return { key: h.name, value: typeof h.value === 'string' ? decodeBase64(h.value, `headers[${i}].value`) : null };
    });
  }
  return rec;
}
