// The console reads and writes through Floe's HTTP API, relative to where it is served (/console/), so
// it works behind any prefix and under the API's own authorization. Errors keep the API's code and
// message, which the pages show as they are.

/** The API's root: the folder above the console's own. */
const BASE = new URL('..', location.href);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  body?: unknown;
  signal?: AbortSignal;
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  if (options.signal) init.signal = options.signal;
  const r = await fetch(new URL(path.replace(/^\//, ''), BASE), init);
  const text = await r.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!r.ok) {
    const e = body as { error_code?: number; message?: string } | undefined;
    throw new ApiError(r.status, e?.error_code ?? r.status, e?.message ?? `HTTP ${r.status}`);
  }
  return body as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => call<T>('GET', path, signal ? { signal } : {});
export const post = <T>(path: string, body?: unknown) => call<T>('POST', path, { body: body ?? {} });

/** A path segment: names are validated by the server, and encoded here all the same. */
export const seg = (s: string | number) => encodeURIComponent(String(s));

// The answers the console reads, as the API documents them (README, "HTTP API").

export interface TopicInfo {
  topic_name: string;
  partitions_count: number;
}

export interface PartitionOffsets {
  log_start_offset: number;
  high_watermark: number;
  bytes: number;
  offset?: number | null;
}

export interface TopicConfig {
  name: string;
  value: string | null;
  is_default: boolean;
  source: string;
}

export interface NativeRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export interface NativeRead {
  high_watermark: number;
  log_start_offset: number;
  next_offset: number;
  records: NativeRecord[];
}

export interface GroupSummary {
  group_id: string;
  generation: number;
  state: string;
  members: number;
}

export interface GroupOffset {
  topic: string;
  partition: number;
  committed_offset: number;
  high_watermark: number | null;
  lag: number | null;
}

export interface GroupDescription {
  group_id: string;
  generation: number;
  state: string;
  strategy: string;
  members: Array<{ member_id: string; topics: string[]; topic_pattern?: string | null; last_heartbeat_ms_ago: number; assignment: Array<{ topic: string; partition: number }> }>;
  instances: Array<{ instance_id: string; mode: string; format: string }>;
  offsets: GroupOffset[];
}

export interface ResetRow {
  topic: string;
  partition: number;
  offset: number;
  current_offset?: number | null;
}

export interface Series {
  source: 'local' | 'cloudwatch';
  step_ms: number;
  timestamps: number[];
  topics: Record<string, { produced_per_s: Array<number | null>; fetched_per_s: Array<number | null> }>;
  groups: Record<string, { lag: Array<number | null> }>;
}

export interface LastError {
  message: string;
  offset?: number;
  time?: number;
}

export interface TriggerView {
  name: string;
  topics: string[];
  target: Record<string, unknown> & { type: string };
  group_id: string;
  dead_letter_topic: string;
  enabled: boolean;
  batch_size: number;
  retry_attempts: number;
}

export interface TriggerDescription extends TriggerView {
  state: string;
  partitions: Array<{ topic: string; partition: number; committed_offset: number; high_watermark: number; lag: number; lag_ms: number; attempts: number; retry_at: number | null; last_error: LastError | null; delivered: number; dead_letters: number }>;
  dead_letters: { topic: string; records: number };
  redrives: Array<{ partition: number; next_offset?: number; end_offset?: number; done: boolean; delivered: number; dead_letters: number }>;
}

export interface TableView {
  name: string;
  topic: string;
}

export interface TableDescription extends TableView {
  lag: number;
  partitions: Array<{ partition: number; applied_offset: number; high_watermark: number; lag: number }>;
}

export interface ConnectorView {
  name: string;
  type: string;
  topics: string[];
  state: string;
}

export interface ConnectorDescription extends ConnectorView {
  config?: Record<string, unknown>;
  'errors.tolerance'?: string;
  'errors.deadletterqueue.topic.name'?: string | null;
  error: { message: string; offset?: number; time?: number } | null;
  records_written: number;
  dead_letters?: { topic: string; records: number } | null;
  partitions: Array<{ topic: string; partition: number; committed_offset: number; high_watermark: number; lag: number; lag_ms: number; last_error: LastError | string | null }>;
}

/** Runs fn over items with at most `limit` requests in flight (browsers queue past six a host anyway). */
export async function eachBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Every topic with its partitions' offsets and bytes. */
export async function topicsWithPartitions(signal?: AbortSignal) {
  const list = await get<{ data: TopicInfo[] }>('/v3/clusters/floe/topics', signal);
  const pairs = list.data.flatMap((t) => Array.from({ length: t.partitions_count }, (_, p) => ({ topic: t.topic_name, partition: p })));
  const offsets = await eachBounded(pairs, 8, (x) => get<PartitionOffsets>(`/floe/v1/topics/${seg(x.topic)}/partitions/${x.partition}/offsets`, signal).catch(() => null));
  return list.data
    .map((t) => {
      const partitions = pairs.flatMap((x, i) => (x.topic === t.topic_name ? [{ partition: x.partition, offsets: offsets[i] ?? null }] : []));
      const records = partitions.reduce((s, p) => s + (p.offsets ? p.offsets.high_watermark - p.offsets.log_start_offset : 0), 0);
      const bytes = partitions.reduce((s, p) => s + (p.offsets?.bytes ?? 0), 0);
      return { name: t.topic_name, partitions, records, bytes };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Group ids a client can name (internal groups, such as a table's, use other characters). */
export const PUBLIC_GROUP = /^[a-zA-Z0-9._-]{1,249}$/;
