// Topic configurations, with Kafka's names, defaults and ranges. Values are kept as strings, as Kafka
// keeps them, and parsed through this one table wherever a job or the produce path needs them.
import type { TopicConfigs } from '../model/topic.ts';
import { FloeError } from '../errors.ts';

interface ConfigSpec {
  default: string;
  doc: string;
  /** Returns an error message, or undefined when the value is acceptable. */
  check(value: string): string | undefined;
}

const long = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  if (!/^-?\d+$/.test(v)) return 'must be an integer';
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) return `must be between ${min} and ${max}`;
  return undefined;
};
const ratio = (v: string) => {
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(v)) return 'must be a number';
  const n = Number(v);
  return n >= 0 && n <= 1 ? undefined : 'must be between 0 and 1';
};
const oneOf = (...values: string[]) => (v: string) => (values.includes(v) ? undefined : `must be one of ${values.join(', ')}`);

export const TOPIC_CONFIGS: Record<string, ConfigSpec> = {
  'cleanup.policy': {
    default: 'delete',
    doc: 'delete: drop old batches by retention; compact: keep the latest record per key; both: compact,delete',
    check: (v) => {
      const parts = v.split(',').map((s) => s.trim());
      const ok = parts.length > 0 && parts.length <= 2 && parts.every((p) => p === 'delete' || p === 'compact') && new Set(parts).size === parts.length;
      return ok ? undefined : 'must be delete, compact, or compact,delete';
    },
  },
  'retention.ms': { default: String(7 * 24 * 3600 * 1000), doc: 'age after which batches are dropped; -1 keeps them forever', check: long(-1) },
  'retention.bytes': { default: '-1', doc: 'partition size beyond which the oldest batches are dropped; -1 for no limit', check: long(-1) },
  'max.message.bytes': { default: '1048588', doc: 'largest record batch the topic accepts, in bytes', check: long(0, 256 * 1024 * 1024) },
  'min.cleanable.dirty.ratio': { default: '0.5', doc: 'share of the log not yet compacted that makes a partition worth cleaning', check: ratio },
  'delete.retention.ms': { default: String(24 * 3600 * 1000), doc: 'how long tombstones survive compaction', check: long(0) },
  'min.compaction.lag.ms': { default: '0', doc: 'records younger than this are never compacted', check: long(0) },
  'segment.ms': { default: String(7 * 24 * 3600 * 1000), doc: 'age of the active part of the log that compaction leaves alone', check: long(1) },
  'segment.bytes': { default: String(1024 * 1024 * 1024), doc: 'size of the active part of the log that compaction leaves alone', check: long(14) },
  'message.timestamp.type': { default: 'CreateTime', doc: 'CreateTime keeps the producer\'s timestamp; LogAppendTime stamps the commit time', check: oneOf('CreateTime', 'LogAppendTime') },
  'compression.type': { default: 'producer', doc: 'codec of stored batches: producer (as sent, uncompressed over HTTP), none or gzip', check: oneOf('producer', 'none', 'gzip', 'uncompressed') },
};

export type { TopicConfigs };

/** Validates configs given at create or alter time; unknown names and bad values are 400 40002. */
export function validateConfigs(configs: Record<string, unknown>): TopicConfigs {
  const out: TopicConfigs = {};
  for (const [name, raw] of Object.entries(configs)) {
    const spec = TOPIC_CONFIGS[name];
    if (!spec) throw new FloeError('INVALID_CONFIG', `Unknown topic config '${name}'`);
    if (raw === null || raw === undefined) continue;
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new FloeError('INVALID_CONFIG', `Invalid value for config '${name}': must be a string or a number`);
    }
    const value = String(raw).trim();
    const problem = spec.check(value);
    if (problem) throw new FloeError('INVALID_CONFIG', `Invalid value ${JSON.stringify(value)} for config '${name}': ${problem}`);
    out[name] = value;
  }
  return out;
}

/** Every config with its effective value: the topic's own where set, Kafka's default elsewhere. */
export function effectiveConfigs(configs: TopicConfigs): TopicConfigs {
  const out: TopicConfigs = {};
  for (const [name, spec] of Object.entries(TOPIC_CONFIGS)) out[name] = configs[name] ?? spec.default;
  return out;
}

/** Parsed view of the configs the engine acts on. */
export interface TopicSettings {
  cleanupPolicy: { delete: boolean; compact: boolean };
  retentionMs: number;
  retentionBytes: number;
  maxMessageBytes: number;
  minCleanableDirtyRatio: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  segmentMs: number;
  segmentBytes: number;
  logAppendTime: boolean;
  compression: 'none' | 'gzip';
}

export function topicSettings(configs: TopicConfigs): TopicSettings {
  const c = effectiveConfigs(configs);
  const policy = (c['cleanup.policy'] ?? 'delete').split(',').map((s) => s.trim());
  const num = (k: string) => Number(c[k]);
  return {
    cleanupPolicy: { delete: policy.includes('delete'), compact: policy.includes('compact') },
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    deleteRetentionMs: num('delete.retention.ms'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    segmentMs: num('segment.ms'),
    segmentBytes: num('segment.bytes'),
    logAppendTime: c['message.timestamp.type'] === 'LogAppendTime',
    compression: c['compression.type'] === 'gzip' ? 'gzip' : 'none',
  };
}
