// The load run: a real local server in its own process, autocannon driving a mix of v2 produce,
// partition fetches and consumer-instance records calls at it over loopback, every acknowledged
// record remembered from the produce answers, and the whole log read back at the end to check that
// each one is at its acknowledged offset with its value. Used by `npm run test:load` and by a short
// bounded test.
import autocannon from 'autocannon';
import { prng } from '../harness/faults.ts';
import { startLocalServer, type LocalServer } from '../support/local-server.ts';
import { AckLedger, recordValue } from './ledger.ts';
import { KINDS, LoadTally, type ErrorAnswer, type Kind, type KindFigures, type ServerFailure } from './tally.ts';

export interface LoadOptions {
  connections: number;
  seconds: number;
  partitions: number;
  /** Relative weights of the three request kinds; only their ratios matter. */
  shares: Record<Kind, number>;
  /** Consumer instances in the one group, created before the load starts. */
  consumers: number;
  recordsPerRequest: number;
  recordBytes: number;
  /** `max_bytes` of fetches and records calls: a consumer's page, not the server's 3 MB ceiling. */
  fetchMaxBytes: number;
  /** A request unanswered this long counts as a timeout. */
  timeoutSeconds: number;
  /** Stop after this many requests even if time is left (undefined: time alone bounds the run). */
  maxRequests?: number;
  seed: number;
  /** A server already running to load instead of starting one (tests use one on their shared emulators). */
  target?: string;
  topic?: string;
  group?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export const DEFAULT_LOAD: Omit<LoadOptions, 'signal' | 'log' | 'seed' | 'target' | 'topic' | 'group'> = {
  connections: 200,
  seconds: 60,
  partitions: 4,
  shares: { produce: 0.5, fetch: 0.3, consume: 0.2 },
  consumers: 3,
  recordsPerRequest: 10,
  recordBytes: 1024,
  fetchMaxBytes: 65536,
  // API Gateway's HTTP API cuts a request at 30 s: a slower answer would be an error in AWS too.
  timeoutSeconds: 30,
};

export interface LoadSummary {
  connections: number;
  seconds: number;
  partitions: number;
  shares: Record<Kind, number>;
  seed: number;
  duration_s: number;
  requests: number;
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  by_kind: Record<Kind, KindFigures>;
  '2xx': number;
  '4xx': number;
  /** 5xx answers, other unexpected statuses, timeouts, connection errors and 5xxxx codes inside 200 answers. */
  non_4xx_errors: number;
  '5xx': number;
  timeouts: number;
  connection_errors: number;
  errors: ErrorAnswer[];
  /**
   * Failed requests in the server's own log up to the end of the read-back (only when the run started
   * the server): also those whose client had timed out, counted above as timeouts with no error seen.
   */
  server_logged_failures: ServerFailure[];
  records_acknowledged: number;
  records_lost: number;
  records_mismatched: number;
  offsets_acknowledged_twice: number;
  records_unacknowledged_in_log: number;
  examples: string[];
  ok: boolean;
}

const BINARY = 'application/vnd.kafka.binary.v2+json';
const V2 = 'application/vnd.kafka.v2+json';

type Run = LoadOptions & { topic: string; group: string };

interface RequestContext {
  kind?: Kind;
  startedAt?: number;
  ids?: string[];
}

async function call(base: string, path: string, init: RequestInit & { signal?: AbortSignal } = {}): Promise<unknown> {
  const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000);
  const r = await fetch(`${base}${path}`, { ...init, signal });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${r.status}: ${text.slice(0, 300)}`);
  return text === '' ? undefined : JSON.parse(text);
}

async function setUp(base: string, o: Run): Promise<string[]> {
  const { topic, group } = o;
  const json = { 'content-type': 'application/json' };
  await call(base, '/v3/clusters/floe/topics', { method: 'POST', headers: json, body: JSON.stringify({ topic_name: topic, partitions_count: o.partitions }), signal: o.signal });
  const instances = Array.from({ length: o.consumers }, (_, i) => `c${i}`);
  for (const name of instances) {
    await call(base, `/consumers/${group}`, { method: 'POST', headers: { 'content-type': V2 }, body: JSON.stringify({ name, format: 'binary', 'auto.offset.reset': 'earliest' }), signal: o.signal });
    await call(base, `/consumers/${group}/instances/${name}/subscription`, { method: 'POST', headers: { 'content-type': V2 }, body: JSON.stringify({ topics: [topic] }), signal: o.signal });
  }
  // Each instance joins the group now, so the load starts with the group formed rather than rebalancing.
  for (const name of instances) await call(base, `/consumers/${group}/instances/${name}/records?timeout=0`, { headers: { accept: BINARY }, signal: o.signal });
  return instances;
}

/** Reads one partition from offset 0 to its high watermark through the v2 fetch, handing each record to the ledger. */
async function readBack(base: string, topic: string, partition: number, ledger: AckLedger, signal?: AbortSignal): Promise<void> {
  const { end_offset: end } = (await call(base, `/topics/${topic}/partitions/${partition}/offsets`, { signal })) as { end_offset: number };
  let offset = 0;
  while (offset < end) {
    const records = (await call(base, `/topics/${topic}/partitions/${partition}/records?offset=${offset}&max_bytes=3145728`, { headers: { accept: BINARY }, signal })) as Array<{ offset: number; value: string | null }>;
    // An empty page below the high watermark would loop for ever; what is unread then counts as lost.
    if (records.length === 0) return;
    for (const r of records) ledger.observe(partition, r.offset, r.value);
    offset = records[records.length - 1]!.offset + 1;
  }
}

/** Which kind of load request a logged path belongs to; setup and read-back calls are 'other'. */
function kindOfPath(method: unknown, path: unknown): Kind | 'other' {
  if (typeof path !== 'string') return 'other';
  if (method === 'POST' && /^\/topics\/[^/]+$/.test(path)) return 'produce';
  if (method === 'GET' && /^\/topics\/[^/]+\/partitions\/\d+\/records$/.test(path)) return 'fetch';
  if (method === 'GET' && /^\/consumers\/[^/]+\/instances\/[^/]+\/records$/.test(path)) return 'consume';
  return 'other';
}

function pickKind(random: () => number, shares: Record<Kind, number>): Kind {
  const total = KINDS.reduce((s, k) => s + shares[k], 0);
  let x = random() * total;
  for (const k of KINDS) {
    x -= shares[k];
    if (x < 0) return k;
  }
  return KINDS.find((k) => shares[k] > 0)!;
}

function runAutocannon(base: string, o: Run, instances: string[], ledger: AckLedger, tally: LoadTally): Promise<autocannon.Result> {
  const { topic, group } = o;
  const random = prng(o.seed);
  let requestSeq = 0;
  let consumerTurn = 0;
  let unreadable = 0;

  const setupRequest = (request: autocannon.Request, raw: object): autocannon.Request => {
    const context = raw as RequestContext;
    const kind = pickKind(random, o.shares);
    context.kind = kind;
    context.startedAt = performance.now();
    tally.sent(kind);
    if (kind === 'produce') {
      const seq = requestSeq++;
      const ids = Array.from({ length: o.recordsPerRequest }, (_, i) => `r${seq}.${i}`);
      context.ids = ids;
      const body = JSON.stringify({ records: ids.map((id) => ({ value: recordValue(id, o.recordBytes).toString('base64') })) });
      return { ...request, method: 'POST', path: `/topics/${topic}`, headers: { 'content-type': BINARY, accept: V2 }, body };
    }
    if (kind === 'fetch') {
      const partition = Math.floor(random() * o.partitions);
      // Anywhere in what has been acknowledged so far, so fetches read real records, old and new.
      const offset = Math.floor(random() * (ledger.end(partition) + 1));
      return { ...request, method: 'GET', path: `/topics/${topic}/partitions/${partition}/records?offset=${offset}&max_bytes=${o.fetchMaxBytes}`, headers: { accept: BINARY } };
    }
    const instance = instances[consumerTurn++ % instances.length]!;
    return { ...request, method: 'GET', path: `/consumers/${group}/instances/${instance}/records?max_bytes=${o.fetchMaxBytes}`, headers: { accept: BINARY } };
  };

  const onResponse = (status: number, body: string, raw: object): void => {
    const context = raw as RequestContext;
    if (context.kind === undefined || context.startedAt === undefined) return;
    tally.answered(context.kind, status, performance.now() - context.startedAt, body);
    if (context.kind !== 'produce' || status !== 200) return;
    // This runs inside autocannon's socket handler: a throw here would end the process, not the request.
    try {
      const answer = JSON.parse(body) as { offsets: Array<{ partition: number | null; offset: number | null; error_code: number | null; error: string | null }> };
      answer.offsets.forEach((r, i) => {
        const id = context.ids?.[i];
        if (r.partition !== null && r.offset !== null && id !== undefined) ledger.acknowledge(r.partition, r.offset, id);
        else if (r.error_code !== null) tally.recordError('produce', r.error_code, r.error ?? '');
      });
    } catch {
      unreadable++;
      tally.recordError('produce', 50000, `unreadable produce answer (${unreadable} so far): ${body.slice(0, 120)}`);
    }
  };

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: o.connections,
        duration: o.seconds,
        timeout: o.timeoutSeconds,
        ...(o.maxRequests !== undefined ? { maxOverallRequests: o.maxRequests } : {}),
        requests: [{ setupRequest, onResponse }],
      },
      (err, result) => {
        o.signal?.removeEventListener('abort', stop);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else if (o.signal?.aborted) reject(o.signal.reason);
        else resolve(result);
      },
    );
    const stop = () => instance.stop();
    o.signal?.addEventListener('abort', stop, { once: true });
    let second = 0;
    instance.on('tick', () => {
      second++;
      if (second % 10 === 0) o.log?.(`load: ${second} s, ${ledger.size} records acknowledged`);
    });
  });
}

export async function loadRun(options: LoadOptions): Promise<LoadSummary> {
  const o: Run = { ...options, topic: options.topic ?? 'load', group: options.group ?? 'load-group' };
  const log = o.log ?? (() => undefined);
  let server: LocalServer | undefined;
  const tally = new LoadTally();
  try {
    if (o.target === undefined) {
      log('load: starting the server');
      server = await startLocalServer({
        signal: o.signal,
        onError: (e) => tally.serverFailure(kindOfPath(e.method, e.path), String(e.code ?? 'unknown'), String(e.error ?? e.msg ?? '')),
      });
    }
    const base = server?.url ?? o.target!;
    const instances = await setUp(base, o);
    log(`load: topic ${o.topic} (${o.partitions} partitions), group ${o.group} (${instances.length} instances); ${o.connections} connections for ${o.seconds} s`);
    const ledger = new AckLedger(o.recordBytes);
    const result = await runAutocannon(base, o, instances, ledger, tally);

    log(`load: done; reading back ${ledger.size} acknowledged records`);
    const partitions = new Set([...Array.from({ length: o.partitions }, (_, p) => p), ...ledger.partitions()]);
    for (const p of partitions) await readBack(base, o.topic, p, ledger, o.signal);
    const check = ledger.check();

    const byKind = tally.figures(result.duration);
    const answered = KINDS.reduce((n, k) => n + byKind[k].requests, 0);
    const sum = (f: keyof KindFigures) => KINDS.reduce((n, k) => n + byKind[k][f], 0);
    const connectionErrors = result.errors - result.timeouts;
    const nonClient = sum('5xx') + sum('other') + result.errors + tally.serverRecordErrors();
    const latency = tally.overallLatency();
    return {
      connections: o.connections,
      seconds: o.seconds,
      partitions: o.partitions,
      shares: o.shares,
      seed: o.seed,
      duration_s: result.duration,
      requests: answered,
      requests_per_s: Math.round((answered / Math.max(result.duration, 0.001)) * 10) / 10,
      latency_p50_ms: latency.p50_ms,
      latency_p99_ms: latency.p99_ms,
      by_kind: byKind,
      '2xx': sum('2xx'),
      '4xx': sum('4xx'),
      non_4xx_errors: nonClient,
      '5xx': sum('5xx'),
      timeouts: result.timeouts,
      connection_errors: connectionErrors,
      errors: tally.errorAnswers(),
      server_logged_failures: tally.serverFailures(),
      records_acknowledged: check.acknowledged,
      records_lost: check.lost,
      records_mismatched: check.mismatched,
      offsets_acknowledged_twice: check.acknowledgedTwice,
      records_unacknowledged_in_log: check.unacknowledgedInLog,
      examples: check.examples,
      ok: nonClient === 0 && check.lost === 0 && check.mismatched === 0 && check.acknowledgedTwice === 0,
    };
  } finally {
    if (server) {
      log('load: stopping the server');
      await server.stop();
    }
  }
}
