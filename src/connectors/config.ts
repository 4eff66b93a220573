// A connector's settings, as the API takes them: Kafka Connect's shape (`name`, `config` of string
// values, `errors.tolerance`, `errors.deadletterqueue.topic.name`) and each sink's own keys, validated
// on every write so a stored connector is always one its writer can run. Numbers and booleans in
// `config` are taken as their text, as Kafka Connect's REST API takes them.
import { FloeError } from '../errors.ts';
import type { ConnectorSpec, ConnectorType } from '../model/trigger.ts';
import { validateResourceName, validateTopicName } from '../topics/names.ts';

export const CONNECTOR_TYPES: readonly ConnectorType[] = ['dynamodb-sink', 's3-sink'];

export const CONNECTOR_LIMITS = {
  /** Records per S3 object at most (one batch of the connector's trigger holds a whole object). */
  flushSize: { default: 1000, max: 10_000 },
  /** Records one DynamoDB sink batch takes. */
  dynamoBatch: 1000,
  topics: 100,
} as const;

const bad = (message: string) => new FloeError('INVALID_CONFIG', message);

export function validateConnectorName(name: unknown): string {
  return validateResourceName('connector', name);
}

/** The settings of one sink type: which keys it takes, and the check of their values. */
interface SinkKeys {
  required: string[];
  optional: Record<string, string | undefined>;
  check: (c: Record<string, string>) => void;
}

function int(c: Record<string, string>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max) throw bad(`${key} must be an integer from ${min} to ${max}, got '${v}'`);
  return Number(v);
}

function oneOf(c: Record<string, string>, key: string, values: string[]): void {
  const v = c[key];
  if (v !== undefined && !values.includes(v)) throw bad(`${key} must be one of ${values.join(', ')}, got '${v}'`);
}

function attributeName(c: Record<string, string>, key: string): void {
  const v = c[key];
  if (v !== undefined && (v.length === 0 || v.length > 255)) throw bad(`${key} must be an attribute name of 1 to 255 characters`);
}

/** Kafka's S3 sink names its formats by class; the short names are Floe's. */
const FORMAT_CLASSES: Record<string, 'json' | 'parquet'> = {
  json: 'json',
  parquet: 'parquet',
  'io.confluent.connect.s3.format.json.JsonFormat': 'json',
  'io.confluent.connect.s3.format.parquet.ParquetFormat': 'parquet',
};

export const PARQUET_FIELD_TYPES = ['string', 'int32', 'int64', 'double', 'boolean', 'timestamp', 'json'] as const;
export type ParquetFieldType = (typeof PARQUET_FIELD_TYPES)[number];

/** `value.schema`: the JSON value's fields as Parquet columns, `{"field": "type", ...}`. */
export function valueSchema(c: Record<string, string>): Array<{ name: string; type: ParquetFieldType }> {
  const raw = c['value.schema'];
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad('value.schema must be a JSON object of field names to types');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('value.schema must be a JSON object of field names to types');
  const out: Array<{ name: string; type: ParquetFieldType }> = [];
  for (const [name, type] of Object.entries(parsed)) {
    if (!(PARQUET_FIELD_TYPES as readonly unknown[]).includes(type)) throw bad(`value.schema: field '${name}' has type ${JSON.stringify(type)}; types are ${PARQUET_FIELD_TYPES.join(', ')}`);
    if (RECORD_COLUMNS.includes(name)) throw bad(`value.schema: field '${name}' is one of the record's own columns (${RECORD_COLUMNS.join(', ')})`);
    out.push({ name, type: type as ParquetFieldType });
  }
  if (out.length > 200) throw bad('value.schema has more than 200 fields');
  return out;
}

/** The columns every Parquet object has. */
export const RECORD_COLUMNS = ['key', 'value', 'headers', 'topic', 'partition', 'offset', 'timestamp'];

/** `path.format` tokens: UTC fields of the record's time, and 'quoted' literal text. */
const PATH_TOKEN = /'[^']*'|yyyy|MM|dd|HH|mm|[^'yMdHm]+/g;

export function checkPathFormat(format: string): void {
  if (format.length === 0 || format.length > 200) throw bad('path.format must be 1 to 200 characters');
  const joined = format.match(PATH_TOKEN)?.join('') ?? '';
  if (joined !== format) throw bad(`path.format '${format}' has text outside quotes that is not yyyy, MM, dd, HH or mm; quote literal text ('year'=yyyy)`);
  if (/(^|\/)\.\.?(\/|$)|^\//.test(format.replace(/'/g, ''))) throw bad('path.format must not start with / or hold . or .. segments');
}

const SINKS: Record<ConnectorType, SinkKeys> = {
  'dynamodb-sink': {
    required: ['table.name'],
    optional: {
      'key.attribute': undefined,
      'sort.key.attribute': undefined,
      'sort.key.value': undefined,
      'value.mapping': 'fields',
      'value.attribute': 'value',
      'delete.enabled': 'true',
      'ttl.attribute': 'ttl',
      'delete.marker.ttl.ms': undefined,
    },
    check: (c) => {
      const t = c['table.name']!;
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(t)) throw bad(`table.name '${t}' is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)`);
      for (const k of ['key.attribute', 'sort.key.attribute', 'value.attribute', 'ttl.attribute']) attributeName(c, k);
      oneOf(c, 'value.mapping', ['fields', 'raw']);
      oneOf(c, 'delete.enabled', ['true', 'false']);
      int(c, 'delete.marker.ttl.ms', 1000);
      if (c['sort.key.value'] !== undefined && c['sort.key.value'].length === 0) throw bad('sort.key.value must not be empty (DynamoDB refuses an empty key)');
    },
  },
  's3-sink': {
    required: ['s3.bucket.name'],
    optional: {
      'topics.dir': 'topics',
      'flush.size': String(CONNECTOR_LIMITS.flushSize.default),
      'rotate.interval.ms': undefined,
      'format.class': 'json',
      'path.format': undefined,
      'value.converter': 'string',
      'value.schema': undefined,
    },
    check: (c) => {
      const b = c['s3.bucket.name']!;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b)) throw bad(`s3.bucket.name '${b}' is not an S3 bucket name`);
      const dir = c['topics.dir']!;
      if (!/^[A-Za-z0-9!_.*'()/-]{1,200}$/.test(dir) || dir.startsWith('/') || dir.endsWith('/') || dir.split('/').some((s) => s === '' || s === '.' || s === '..')) {
        throw bad(`topics.dir '${dir}' must be a key prefix of safe characters, without leading or trailing '/' or empty, . or .. segments`);
      }
      int(c, 'flush.size', 1, CONNECTOR_LIMITS.flushSize.max);
      int(c, 'rotate.interval.ms', 1);
      const f = c['format.class']!;
      if (!(f in FORMAT_CLASSES)) throw bad(`format.class must be json or parquet (or Kafka's JsonFormat or ParquetFormat class), got '${f}'`);
      c['format.class'] = FORMAT_CLASSES[f]!;
      if (c['path.format'] !== undefined) checkPathFormat(c['path.format']);
      oneOf(c, 'value.converter', ['string', 'json', 'bytes']);
      if (valueSchema(c).length > 0 && c['value.converter'] !== 'json') throw bad('value.schema needs value.converter=json (the fields are read from the JSON value)');
      if (c['value.schema'] !== undefined && c['format.class'] !== 'parquet') throw bad('value.schema applies to format.class=parquet only');
    },
  },
};

/** The config map with defaults filled in, every value a string, unknown keys refused. */
export function connectorConfig(type: ConnectorType, raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FloeError('BAD_REQUEST', 'config must be a JSON object of settings');
  const sink = SINKS[type];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!sink.required.includes(k) && !(k in sink.optional)) {
      throw bad(`unknown config '${k}' for a ${type}; it takes ${[...sink.required, ...Object.keys(sink.optional)].join(', ')}`);
    }
    if (k === 'value.schema' && typeof v === 'object' && v !== null && !Array.isArray(v)) out[k] = JSON.stringify(v);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw bad(`config '${k}' must be a string, number or boolean`);
  }
  for (const k of sink.required) if (out[k] === undefined) throw bad(`a ${type} needs config '${k}'`);
  for (const [k, d] of Object.entries(sink.optional)) if (out[k] === undefined && d !== undefined) out[k] = d;
  sink.check(out);
  return out;
}

export interface ConnectorRequest {
  spec: Omit<ConnectorSpec, 'failure'>;
  topics: string[];
}

const FIELDS = ['name', 'type', 'topics', 'config', 'errors.tolerance', 'errors.deadletterqueue.topic.name'];

/** The whole body of a create, or of a PATCH laid over the connector as it is. */
export function connectorRequest(body: unknown, current?: { spec: ConnectorSpec; topics: string[] }): ConnectorRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FloeError('BAD_REQUEST', 'request body must be a JSON object: {"name","type","topics","config"}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!FIELDS.includes(k)) throw new FloeError('BAD_REQUEST', `unknown field '${k}'; expected ${FIELDS.join(', ')}`);
  if (current) {
    if (b.name !== undefined && b.name !== current.spec.name) throw new FloeError('BAD_REQUEST', 'a connector cannot be renamed');
    if (b.type !== undefined && b.type !== current.spec.type) throw new FloeError('BAD_REQUEST', `a connector's type cannot change (it is a ${current.spec.type})`);
  }
  const name = current ? current.spec.name : validateConnectorName(b.name);
  const type = current ? current.spec.type : b.type;
  if (!(CONNECTOR_TYPES as readonly unknown[]).includes(type)) throw new FloeError('BAD_REQUEST', `type must be one of ${CONNECTOR_TYPES.join(', ')}`);
  const topicsRaw = b.topics ?? current?.topics;
  if (!Array.isArray(topicsRaw) || topicsRaw.length === 0 || topicsRaw.length > CONNECTOR_LIMITS.topics) throw new FloeError('BAD_REQUEST', `topics must be a list of 1 to ${CONNECTOR_LIMITS.topics} topic names`);
  const topics = topicsRaw.map((t) => {
    if (typeof t !== 'string') throw new FloeError('BAD_REQUEST', 'topics must be topic names');
    return validateTopicName(t);
  });
  if (new Set(topics).size !== topics.length) throw new FloeError('BAD_REQUEST', 'topics must not repeat a topic');
  const config = connectorConfig(type as ConnectorType, b.config ?? current?.spec.config ?? {});
  const tolerance = b['errors.tolerance'] ?? current?.spec.tolerance ?? 'none';
  if (tolerance !== 'none' && tolerance !== 'all') throw bad(`errors.tolerance must be none or all, got ${JSON.stringify(tolerance)}`);
  const dlqRaw = b['errors.deadletterqueue.topic.name'] !== undefined ? b['errors.deadletterqueue.topic.name'] : (current?.spec.deadLetterTopic ?? null);
  let deadLetterTopic: string | null = null;
  if (dlqRaw !== null && dlqRaw !== '') {
    if (typeof dlqRaw !== 'string') throw bad('errors.deadletterqueue.topic.name must be a topic name');
    deadLetterTopic = validateTopicName(dlqRaw);
    if (topics.includes(deadLetterTopic)) throw bad('the dead-letter topic must not be one of the connector\'s topics (its letters would be sunk again)');
  }
  return { spec: { name, type: type as ConnectorType, config, tolerance, deadLetterTopic }, topics };
}
