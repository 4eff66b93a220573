// A trigger's settings from the API's JSON (snake_case, as Lambda's event source mapping names them),
// validated once here for both create and PATCH: every bad field is a 400 that names it, and an
// unknown field is refused rather than ignored (a typo would otherwise silently keep a default).
import { FloeError } from '../errors.ts';
import { TRIGGER_LIMITS, type StartingPosition, type Trigger, type TriggerSettings, type TriggerTarget } from '../model/trigger.ts';
import { validateTopicName } from '../topics/names.ts';
import { compileFilters } from './filters.ts';

const NAME = /^[a-zA-Z0-9._-]{1,200}$/;

const FIELDS = new Set([
  'name',
  'topic',
  'topics',
  'target',
  'group_id',
  'batch_size',
  'max_batching_window_ms',
  'starting_position',
  'starting_timestamp',
  'filters',
  'retry_attempts',
  'maximum_record_age_ms',
  'bisect_on_error',
  'dead_letter_topic',
  'parallelism',
  'enabled',
]);

/** Fields PATCH may not change: the name is the trigger's identity. */
const FIXED = new Set(['name']);

function bad(message: string): FloeError {
  return new FloeError('BAD_REQUEST', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${name} must be true or false`);
  return v;
}

export function validateTriggerName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw bad(`trigger name must be 1 to 200 characters of [a-zA-Z0-9._-], got ${JSON.stringify(name)}`);
  return name;
}

function topicName(v: unknown, field: string): string {
  if (typeof v !== 'string') throw bad(`${field} must be a topic name`);
  try {
    return validateTopicName(v);
  } catch (e) {
    throw bad(`${field}: ${(e as Error).message}`);
  }
}

/** Which kinds of target this runtime accepts: module and http only where the server is the user's own machine. */
export interface TargetPolicy {
  localTargets: boolean;
}

function target(v: unknown, policy: TargetPolicy): TriggerTarget {
  if (!isObject(v)) throw bad('target must be an object: {"type":"lambda","function":"name-or-arn"}');
  const timeoutMs = v.timeout_ms === undefined ? TRIGGER_LIMITS.timeoutMs.default : int(v.timeout_ms, 'target.timeout_ms', 1, TRIGGER_LIMITS.timeoutMs.max);
  const known = (names: string[]) => {
    for (const k of Object.keys(v)) if (!['type', 'timeout_ms', ...names].includes(k)) throw bad(`target: unknown field '${k}' for type '${String(v.type)}'`);
  };
  switch (v.type) {
    case 'lambda':
      known(['function']);
      if (typeof v.function !== 'string' || !/^[a-zA-Z0-9_:.$/-]{1,256}$/.test(v.function)) throw bad('target.function must be a Lambda function name, alias or ARN');
      return { type: 'lambda', function: v.function, timeoutMs };
    case 'module':
    case 'http':
      if (!policy.localTargets) throw bad(`target type '${v.type}' runs code or reaches a URL from the server, so only the local runtime accepts it; use {"type":"lambda"}`);
      if (v.type === 'module') {
        known(['path', 'export']);
        if (typeof v.path !== 'string' || v.path.length === 0) throw bad('target.path must be the path of a module, relative to the folder the server runs in');
        if (v.export !== undefined && (typeof v.export !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(v.export))) throw bad('target.export must be the name of an exported function');
        return { type: 'module', path: v.path, export: (v.export as string | undefined) ?? 'handler', timeoutMs };
      }
      known(['url']);
      if (typeof v.url !== 'string' || !/^https?:\/\//.test(v.url)) throw bad('target.url must be an http:// or https:// URL');
      try {
        new URL(v.url);
      } catch {
        throw bad('target.url must be an http:// or https:// URL');
      }
      return { type: 'http', url: v.url, timeoutMs };
    default:
      throw bad(`target.type must be 'lambda'${policy.localTargets ? ", 'module' or 'http'" : ''}`);
  }
}

/** The settings of `body` over `base` (the defaults for a create, the current settings for a PATCH). */
function apply(body: Record<string, unknown>, base: TriggerSettings, policy: TargetPolicy, patch: boolean): TriggerSettings {
  for (const k of Object.keys(body)) {
    if (!FIELDS.has(k)) throw bad(`unknown field '${k}'`);
    if (patch && FIXED.has(k) && body[k] !== base.name) throw bad(`${k} cannot be changed; create a new trigger`);
  }
  const s: TriggerSettings = { ...base };
  if (body.topic !== undefined && body.topics !== undefined) throw bad('give topic or topics, not both');
  if (body.topic !== undefined) s.topics = [topicName(body.topic, 'topic')];
  if (body.topics !== undefined) {
    if (!Array.isArray(body.topics) || body.topics.length === 0 || body.topics.length > 100) throw bad('topics must be an array of 1 to 100 topic names');
    s.topics = [...new Set(body.topics.map((t, i) => topicName(t, `topics[${i}]`)))];
  }
  if (body.target !== undefined) s.target = target(body.target, policy);
  if (body.group_id !== undefined) {
    if (typeof body.group_id !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(body.group_id)) throw bad('group_id must be 1 to 249 characters of [a-zA-Z0-9._-]');
    s.group = body.group_id;
  }
  if (body.batch_size !== undefined) s.batchSize = int(body.batch_size, 'batch_size', 1, TRIGGER_LIMITS.batchSize.max);
  if (body.max_batching_window_ms !== undefined) s.maxBatchingWindowMs = int(body.max_batching_window_ms, 'max_batching_window_ms', 0, TRIGGER_LIMITS.maxBatchingWindowMs.max);
  if (body.starting_position !== undefined) {
    if (!['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'].includes(body.starting_position as string)) throw bad('starting_position must be LATEST, TRIM_HORIZON or AT_TIMESTAMP');
    s.startingPosition = body.starting_position as StartingPosition;
  }
  if (body.starting_timestamp !== undefined) s.startingTimestamp = body.starting_timestamp === null ? null : int(body.starting_timestamp, 'starting_timestamp', 0, 8.64e15);
  if (s.startingPosition === 'AT_TIMESTAMP' && s.startingTimestamp === null) throw bad('starting_position AT_TIMESTAMP needs starting_timestamp (ms since the epoch)');
  if (s.startingPosition !== 'AT_TIMESTAMP' && body.starting_timestamp !== undefined && body.starting_timestamp !== null) throw bad('starting_timestamp goes with starting_position AT_TIMESTAMP');
  if (body.filters !== undefined) {
    compileFilters(body.filters);
    s.filters = (body.filters as Array<{ pattern: unknown }>).map((f) => ({ pattern: typeof f.pattern === 'string' ? f.pattern : JSON.stringify(f.pattern) }));
  }
  if (body.retry_attempts !== undefined) s.retryAttempts = int(body.retry_attempts, 'retry_attempts', 0, TRIGGER_LIMITS.retryAttempts.max);
  if (body.maximum_record_age_ms !== undefined) {
    s.maximumRecordAgeMs = body.maximum_record_age_ms === -1 ? -1 : int(body.maximum_record_age_ms, 'maximum_record_age_ms (or -1 for no limit)', 1000, 8.64e15);
  }
  if (body.bisect_on_error !== undefined) s.bisectOnError = bool(body.bisect_on_error, 'bisect_on_error');
  if (body.dead_letter_topic !== undefined) s.deadLetterTopic = topicName(body.dead_letter_topic, 'dead_letter_topic');
  if (body.parallelism !== undefined) {
    if (body.parallelism === null) s.parallelism = null;
    else {
      const p = body.parallelism;
      if (!isObject(p) || p.by !== 'key' || Object.keys(p).some((k) => k !== 'by' && k !== 'max')) throw bad('parallelism must be {"by":"key","max":N} or null');
      s.parallelism = { by: 'key', max: int(p.max, 'parallelism.max', 1, TRIGGER_LIMITS.parallelism.max) };
    }
  }
  if (body.enabled !== undefined) s.enabled = bool(body.enabled, 'enabled');
  if (s.topics.includes(s.deadLetterTopic)) throw bad(`dead_letter_topic '${s.deadLetterTopic}' is one of the trigger's own topics`);
  return s;
}

export function settingsForCreate(body: unknown, policy: TargetPolicy): TriggerSettings {
  if (!isObject(body)) throw bad('request body must be a JSON object');
  const name = validateTriggerName(body.name);
  if (body.topic === undefined && body.topics === undefined) throw bad('topic (or topics) is required');
  if (body.target === undefined) throw bad('target is required');
  const defaults: TriggerSettings = {
    name,
    topics: [],
    target: { type: 'lambda', function: '', timeoutMs: TRIGGER_LIMITS.timeoutMs.default },
    group: `trigger.${name}`,
    batchSize: TRIGGER_LIMITS.batchSize.default,
    maxBatchingWindowMs: TRIGGER_LIMITS.maxBatchingWindowMs.default,
    startingPosition: 'LATEST',
    startingTimestamp: null,
    filters: [],
    retryAttempts: TRIGGER_LIMITS.retryAttempts.default,
    maximumRecordAgeMs: -1,
    bisectOnError: true,
    deadLetterTopic: `${name}.dlq`,
    parallelism: null,
    enabled: true,
  };
  // The default dead-letter topic name must itself be a valid topic name.
  if (body.dead_letter_topic === undefined) topicName(defaults.deadLetterTopic, 'dead_letter_topic (default <name>.dlq)');
  return apply(body, defaults, policy, false);
}

export function settingsForPatch(body: unknown, current: Trigger, policy: TargetPolicy): TriggerSettings {
  if (!isObject(body)) throw bad('request body must be a JSON object');
  // The current target stays as it is unless changed, even where this runtime would not accept it anew.
  return apply(body, current, policy, true);
}

/** The settings as the API shows them. */
export function settingsView(t: Trigger) {
  const tg = t.target;
  return {
    name: t.name,
    id: t.id,
    topics: t.topics,
    target:
      tg.type === 'lambda'
        ? { type: tg.type, function: tg.function, timeout_ms: tg.timeoutMs }
        : tg.type === 'module'
          ? { type: tg.type, path: tg.path, export: tg.export, timeout_ms: tg.timeoutMs }
          : tg.type === 'http'
            ? { type: tg.type, url: tg.url, timeout_ms: tg.timeoutMs }
            : tg.type === 'table'
              ? { type: tg.type, table: tg.table, timeout_ms: tg.timeoutMs }
              : { type: tg.type, connector: tg.connector.name, timeout_ms: tg.timeoutMs },
    group_id: t.group,
    batch_size: t.batchSize,
    max_batching_window_ms: t.maxBatchingWindowMs,
    starting_position: t.startingPosition,
    starting_timestamp: t.startingTimestamp,
    filters: t.filters,
    retry_attempts: t.retryAttempts,
    maximum_record_age_ms: t.maximumRecordAgeMs,
    bisect_on_error: t.bisectOnError,
    dead_letter_topic: t.deadLetterTopic,
    parallelism: t.parallelism,
    enabled: t.enabled,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
}
