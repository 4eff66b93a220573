// Delivering one lane of a trigger (one source partition, or one dead-letter partition being redriven)
// while holding its lease: fetch from the committed offset, filter, invoke, then commit the new offset in
// one transaction with a condition on the lease, so a dispatcher that lost the lane never moves it.
// Records are delivered in offset order, at least once: the offset only passes a record once the
// function took it (or a filter skipped it, or it went to the dead-letter topic), and only the lease
// holder delivers, so no two deliveries of one partition ever overlap.
//
// Failures, all bounded: a failing batch is split in two until the record that fails is alone
// (bisect; these splits cost no retry), a partial batch response retries from the lowest failed offset
// of its partition, a batch (or record) that keeps failing is retried `retry_attempts` times with
// exponential backoff, and then (or once its records are older than `maximum_record_age_ms`) it goes
// to the dead-letter topic with its full records and the partition moves on.
import { FloeError } from '../errors.ts';
import type { FetchedRecord, Fetcher } from '../fetch/fetch.ts';
import { murmur2 } from '../log/partitioner.ts';
import type { LaneState, Trigger } from '../model/trigger.ts';
import { TRIGGER_LIMITS } from '../model/trigger.ts';
import type { ProduceRecord } from '../produce/types.ts';
import type { AwsClients } from '../storage/clients.ts';
import { Commit, sendCommit, type CommitItem } from '../storage/commit.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import type { LaneChange, TriggersTable } from '../storage/triggers-table.ts';
import { sleep } from '../storage/retry.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { buildMskEvent, eventRecordBytes, parseBatchResponse, type DeliveredRecord } from './event.ts';
import type { RecordFilter } from './filters.ts';
import type { FunctionAnswer, TableTargetWriter, TargetInvoker } from './targets.ts';
import type { ConnectorWriter, SinkAnswer } from '../connectors/writer.ts';

/** Header names of a dead letter (besides the record's own headers). */
export const DLQ_HEADERS = {
  topic: 'floe.dlq.topic',
  partition: 'floe.dlq.partition',
  offset: 'floe.dlq.offset',
  trigger: 'floe.dlq.trigger',
  attempts: 'floe.dlq.attempts',
  error: 'floe.dlq.error',
  time: 'floe.dlq.time',
} as const;

const DLQ_HEADER_NAMES = new Set<string>(Object.values(DLQ_HEADERS));

/** Key and value bytes one fetch asks for: base64 and JSON around them stay under the 6 MB payload. */
const FETCH_BYTES = 4 * 1024 * 1024;
/** What the event may weigh, with room for its envelope. */
const PAYLOAD_CAP = TRIGGER_LIMITS.payloadBytes - 64 * 1024;
const BACKOFF_BASE_MS = 1000;
/** How often a long run reads the trigger's settings again (a pause, a PATCH). */
const SETTINGS_CHECK_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** One invocation attempt, as an observer (a test's checker, metrics) sees it. */
export interface AttemptEvent {
  trigger: string;
  lane: string;
  records: Array<{ topic: string; partition: number; offset: number }>;
  outcome: 'ok' | 'partial' | 'failed' | 'unknown';
  error?: string;
}

export interface LaneDeps {
  clients: AwsClients;
  triggers: TriggersTable;
  groups: GroupsTable;
  topics: TopicService;
  fetcher: Fetcher;
  targets: TargetInvoker;
  /** Writes the records of tables' triggers (whose target is `table`). */
  tableWriter?: TableTargetWriter;
  /** Runs the sinks of connectors' triggers (whose target is `connector`). */
  connectorWriter?: Pick<ConnectorWriter, 'write'>;
  /** Appends dead letters (the produce path, so they are ordinary records). */
  produce: (topic: string, records: ProduceRecord[]) => Promise<void>;
  bootstrapServers: string;
  owner: string;
  onAttempt?: (e: AttemptEvent) => void;
  /** How long a lease lasts at least (ms); 60 s by default, longer when the target's timeout needs it. */
  leaseMs?: number;
  /** First retry's backoff (ms), doubling per attempt: 1 s by default. */
  backoffBaseMs?: number;
  /** After each commit of a lane's position (a checker's view of what the lane took as done). */
  onCommitted?: (e: { trigger: string; lane: string; offset: number; fence: number }) => void;
  log?: (line: string) => void;
}

/** Where a lane reads from and how its position is kept. */
export interface LaneSource {
  key: string;
  /** The topic and partition fetched: the source partition, or the dead-letter partition being redriven. */
  topic: string;
  partition: number;
  /** A redrive stops at its end; a source partition never does. */
  redrive: boolean;
}

export type LaneResult = 'busy' | 'backoff' | 'idle' | 'more' | 'lost';

function backoffMs(attempts: number, base = BACKOFF_BASE_MS): number {
  const exp = Math.min(BACKOFF_MAX_MS, base * 2 ** Math.max(0, attempts - 1));
  // Jitter keeps many failing lanes from retrying in step.
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

/** The record the function sees: a dead letter being redriven shows its original coordinates and headers. */
function delivered(source: LaneSource, r: FetchedRecord): DeliveredRecord & { at: number } {
  if (!source.redrive) return { topic: source.topic, partition: source.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers, at: r.offset };
  const h = (name: string) => {
    const v = r.headers.find((x) => x.key === name)?.value;
    return v ? Buffer.from(v).toString('utf8') : undefined;
  };
  return {
    topic: h(DLQ_HEADERS.topic) ?? source.topic,
    partition: Number(h(DLQ_HEADERS.partition) ?? source.partition),
    offset: Number(h(DLQ_HEADERS.offset) ?? r.offset),
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers.filter((x) => !DLQ_HEADER_NAMES.has(x.key)),
    at: r.offset,
  };
}

function keyLane(r: DeliveredRecord, lanes: number): number {
  return r.key ? (murmur2(r.key) & 0x7fffffff) % lanes : 0;
}

/** A record as delivered, with `at`, its offset in the partition the lane reads (the dead-letter one when redriving). */
type Lettered = DeliveredRecord & { at: number };

/** How a batch failed: from which offset, why, whether whole events failed, and the records that did. */
interface Failure {
  at: number;
  error: string;
  whole: boolean;
  failing: Lettered[];
}

/** One run of one lane under its lease. */
export class LaneRun {
  private lease!: LaneState;
  private topic!: Topic;
  private filter: RecordFilter;
  private checkedAt = 0;

  constructor(
    private readonly deps: LaneDeps,
    private trigger: Trigger,
    private readonly filterOf: (t: Trigger) => RecordFilter,
    private readonly source: LaneSource,
  ) {
    this.filter = filterOf(trigger);
  }

  /**
   * Reads the trigger's settings again: false when it was paused, deleted, re-created or moved to another
   * group since the run was scheduled (the run then stops; a batch under way has finished). Done when the
   * lease is taken and at most once a second after, so a pause is seen within a second.
   */
  private async refresh(): Promise<boolean> {
    const t = await this.deps.triggers.get(this.trigger.name);
    this.checkedAt = Date.now();
    if (!t || !t.enabled || t.id !== this.trigger.id || t.group !== this.trigger.group) return false;
    if (t.version !== this.trigger.version) {
      this.trigger = t;
      this.filter = this.filterOf(t);
    }
    return true;
  }

  private get leaseMs(): number {
    return Math.max(this.deps.leaseMs ?? 60_000, 2 * (this.trigger.target.timeoutMs + this.trigger.maxBatchingWindowMs));
  }

  /**
   * Delivers until the lane is caught up, backs off, loses its lease, or `deadline` (epoch ms) comes; with
   * a `hardEnd` (a Lambda invocation's end) no batch starts that its call could carry past it.
   */
  async run(deadline: number, hardEnd?: number): Promise<LaneResult> {
    const { triggers, owner } = this.deps;
    const now = Date.now();
    const lease = await triggers.takeLease(this.trigger.name, this.source.key, owner, now, now + this.leaseMs);
    if (!lease) return 'busy';
    this.lease = lease;
    let result: LaneResult = 'idle';
    try {
      if (lease.retryAt > now) return (result = 'backoff');
      if (!(await this.refresh())) return (result = 'idle');
      this.topic = await this.deps.topics.resolve(this.source.topic);
      let offset = await this.position();
      const roomFor = () => (hardEnd === undefined ? true : Date.now() + this.trigger.target.timeoutMs + this.trigger.maxBatchingWindowMs + 5000 < hardEnd);
      while (Date.now() < deadline && roomFor()) {
        if (Date.now() - this.checkedAt > SETTINGS_CHECK_MS && !(await this.refresh())) return (result = 'idle');
        if (this.lease.retryAt > Date.now()) {
          const wait = this.lease.retryAt - Date.now();
          // A short backoff is waited out holding the lease; a long one is left to the next wake-up.
          if (wait > Math.min(30_000, (deadline - Date.now()) / 2, this.lease.until - Date.now() - 1000)) return (result = 'backoff');
          await sleep(wait);
        }
        const step = await this.step(offset, deadline);
        if (step === 'lost') return (result = 'lost');
        if (step === 'idle') return (result = 'idle');
        offset = step;
      }
      return (result = 'more');
    } finally {
      if (result !== 'lost') await triggers.release(this.trigger.name, this.source.key, owner, this.lease.fence).catch(() => undefined);
    }
  }

  /** The committed offset of the lane; a source partition never started reads from its log start. */
  private async position(): Promise<number> {
    if (this.source.redrive) return this.lease.next ?? 0;
    // A trigger's group takes no transactional offsets (only its lanes commit it), so no stability check.
    const got = await this.deps.groups.getOffsets(this.trigger.group, [[this.source.topic, this.source.partition]], { requireStable: false });
    const o = [...got.values()][0];
    if (o && (o.topicId === null || o.topicId === this.topic.id)) return o.offset;
    return (await this.deps.fetcher.offsets(this.source.topic, this.source.partition)).logStartOffset;
  }

  /** Fetches up to a batch, waiting up to the batching window for it to fill. */
  private async collect(offset: number, limit: number, deadline: number): Promise<{ records: FetchedRecord[]; next: number }> {
    const records: FetchedRecord[] = [];
    let next = offset;
    const windowEnd = Math.min(deadline, Date.now() + this.trigger.maxBatchingWindowMs);
    const end = this.source.redrive ? (this.lease.end ?? 0) : Number.POSITIVE_INFINITY;
    for (let first = true; records.length < limit && next < end; first = false) {
      const wait = first ? 0 : windowEnd - Date.now();
      if (!first && wait <= 0) break;
      let r;
      try {
        r = await this.deps.fetcher.fetch({ topic: this.source.topic, partition: this.source.partition, offset: next, maxRecords: limit - records.length, maxBytes: FETCH_BYTES, waitMs: wait });
      } catch (e) {
        // Retention removed records the trigger had not reached: go on from the log start, and say so.
        if (e instanceof FloeError && e.code === 'OFFSET_OUT_OF_RANGE' && records.length === 0) {
          const o = await this.deps.fetcher.offsets(this.source.topic, this.source.partition);
          if (next < o.logStartOffset) {
            this.deps.log?.(`trigger ${this.trigger.name}: ${this.source.key} skipped offsets ${next} to ${o.logStartOffset - 1}, removed by retention before delivery`);
            next = o.logStartOffset;
            continue;
          }
        }
        throw e;
      }
      for (const rec of r.records) if (rec.offset < end) records.push(rec);
      next = Math.min(r.nextOffset, end);
      // Nothing there at all: the lane is caught up (a commit wakes it again); no window to wait out.
      if (records.length === 0) break;
    }
    return { records, next };
  }

  /** One batch: the offset to go on from, 'idle' when there is nothing to deliver, 'lost' with the lease. */
  private async step(offset: number, deadline: number): Promise<number | 'idle' | 'lost'> {
    const lease = this.lease;
    // Past the range a bisection was narrowing: full batches again.
    if (lease.bisectUntil !== null && offset > lease.bisectUntil) {
      if (!(await this.change({ set: { bisectLimit: null, bisectUntil: null } }))) return 'lost';
    }
    const limit = Math.min(this.trigger.batchSize, this.lease.bisectLimit ?? Number.POSITIVE_INFINITY);
    const { records: fetched, next } = await this.collect(offset, limit, deadline);
    if (fetched.length === 0) {
      // Only gaps (compaction, transaction markers) between here and `next`: move past them.
      if (next > offset) return (await this.commit(next, {})) ? next : 'lost';
      return 'idle';
    }
    // Cut the batch under the payload limit; the rest waits for the next batch.
    const all = fetched.map((r) => delivered(this.source, r));
    let bytes = 0;
    let cut = all.length;
    // A table's writer and a connector's sink get the records themselves, not an event: no payload limit to cut under.
    const builtIn = this.trigger.target.type === 'table' || this.trigger.target.type === 'connector';
    for (let i = 0; i < all.length && !builtIn; i++) {
      bytes += eventRecordBytes(all[i]!, all[i]!.topic.length);
      if (bytes > PAYLOAD_CAP) {
        cut = i;
        break;
      }
    }
    if (cut === 0) {
      // One record larger than any payload Lambda accepts: it can only be a dead letter.
      return this.deadLetter([all[0]!], `record of about ${bytes} bytes in its event is over Lambda's ${TRIGGER_LIMITS.payloadBytes}-byte payload limit`, offset);
    }
    const batch = all.slice(0, cut);
    const batchEnd = cut === all.length ? next : batch.at(-1)!.at + 1;
    if (this.trigger.target.type === 'connector') return this.sink(offset, batch, batchEnd, fetched.length >= limit);
    const invoked = batch.filter((r) => this.filter.matches(r));
    if (invoked.length === 0) return (await this.commit(batchEnd, { add: { filtered: batch.length } })) ? batchEnd : 'lost';

    // The lease must outlast the call: renew it when the call could run past it.
    if (this.lease.until - Date.now() < this.trigger.target.timeoutMs + 10_000) {
      const until = Date.now() + this.leaseMs;
      if (!(await this.change({ set: { until } }))) return 'lost';
    }
    const failedAt = await this.invoke(invoked);
    if (failedAt === null) {
      return (await this.commit(batchEnd, { add: { delivered: invoked.length, filtered: batch.length - invoked.length }, set: { attempts: 0, failingOffset: null } })) ? batchEnd : 'lost';
    }
    return this.failed(offset, batch, invoked, failedAt);
  }

  /**
   * A connector's batch: its sink says how far it is done (an S3 sink holds back the records of an
   * object not yet complete); the lane commits that far, or waits for more records when it is nowhere.
   */
  private async sink(offset: number, batch: Lettered[], batchEnd: number, full: boolean): Promise<number | 'idle' | 'lost'> {
    const writer = this.deps.connectorWriter;
    if (this.lease.until - Date.now() < this.trigger.target.timeoutMs + 10_000) {
      if (!(await this.change({ set: { until: Date.now() + this.leaseMs } }))) return 'lost';
    }
    const answer: SinkAnswer = writer ? await writer.write(this.trigger, batch, { full, end: batchEnd }) : { ok: false, error: 'this dispatcher has no connector writer', unknown: false };
    const coords = batch.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset }));
    this.deps.onAttempt?.({ trigger: this.trigger.name, lane: this.source.key, records: coords, outcome: answer.ok ? 'ok' : answer.unknown ? 'unknown' : 'failed', ...(answer.ok ? {} : { error: answer.error }) });
    if (!answer.ok) {
      const r = await this.failed(offset, batch, batch, { at: batch[0]!.at, error: answer.error, whole: true, failing: batch });
      // A connector that stopped (errors.tolerance=none) is paused: nothing more until it is resumed.
      return answer.stopped && r !== 'lost' ? 'idle' : r;
    }
    const through = Math.min(answer.through, batchEnd);
    // Records held back stay so until the partition grows past what this batch read.
    const heldTo = through < batchEnd ? batchEnd : null;
    if (through <= offset) return (await this.change({ set: { heldTo, attempts: 0, failingOffset: null } })) ? 'idle' : 'lost';
    const taken = batch.filter((r) => r.at < through).length;
    return (await this.commit(through, { add: { delivered: taken }, set: { attempts: 0, failingOffset: null, heldTo } })) ? through : 'lost';
  }

  /**
   * Invokes the function with the records: one event, or with key parallelism up to `max` events at once,
   * each holding the records of some keys. Null when all succeeded, else the lowest failed lane offset
   * with the error.
   */
  private async invoke(records: Lettered[]): Promise<Failure | null> {
    const parts = this.trigger.parallelism ? this.byKey(records, this.trigger.parallelism.max) : [records];
    const outcomes = await Promise.all(parts.map(async (part) => ({ part, failure: await this.invokeOne(part) })));
    const failed = outcomes.filter((o) => o.failure !== null);
    if (failed.length === 0) return null;
    // The lowest failed offset of any event is where the partition goes on from; only the records of the
    // events that failed, from their own failed offset, are the failing ones (the others were taken).
    const first = failed.reduce((a, b) => (b.failure!.at < a.failure!.at ? b : a)).failure!;
    const failing = failed.flatMap((o) => o.part.filter((r) => r.at >= o.failure!.at)).sort((a, b) => a.at - b.at);
    return { at: first.at, error: first.error, whole: failed.every((o) => o.failure!.whole), failing };
  }

  private byKey(records: Array<DeliveredRecord & { at: number }>, lanes: number) {
    const parts: Array<Array<DeliveredRecord & { at: number }>> = Array.from({ length: lanes }, () => []);
    for (const r of records) parts[keyLane(r, lanes)]!.push(r);
    return parts.filter((p) => p.length > 0);
  }

  private async invokeOne(records: Lettered[]): Promise<Omit<Failure, 'failing'> | null> {
    const answer: FunctionAnswer = await this.call(records);
    const coords = records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset }));
    const report = (outcome: AttemptEvent['outcome'], error?: string) =>
      this.deps.onAttempt?.({ trigger: this.trigger.name, lane: this.source.key, records: coords, outcome, ...(error ? { error } : {}) });
    if (!answer.ok) {
      report(answer.unknown ? 'unknown' : 'failed', answer.error);
      return { at: records[0]!.at, error: answer.error, whole: true };
    }
    const parsed = parseBatchResponse(answer.answer, coords);
    if (parsed.kind === 'ok') {
      report('ok');
      return null;
    }
    if (parsed.kind === 'invalid') {
      report('failed', parsed.message);
      return { at: records[0]!.at, error: `invalid partial batch response: ${parsed.message}`, whole: true };
    }
    // The lowest failed offset of any partition in the event: retried from there (documented).
    let at = Number.POSITIVE_INFINITY;
    for (const r of records) {
      const failed = parsed.failed.get(`${r.topic}-${r.partition}`);
      if (failed !== undefined && r.offset >= failed) at = Math.min(at, r.at);
    }
    report('partial', 'batchItemFailures');
    return { at, error: 'the function reported failed records (batchItemFailures)', whole: at === records[0]!.at };
  }

  /** Calls the target; a table's records go to the built-in writer as they are, with no event around them. */
  private call(records: Lettered[]): Promise<FunctionAnswer> {
    const target = this.trigger.target;
    if (target.type === 'table') {
      if (!this.deps.tableWriter) return Promise.resolve({ ok: false, error: 'this dispatcher has no table writer', unknown: false });
      return this.deps.tableWriter.write(target, records);
    }
    const event = buildMskEvent({ eventSourceArn: this.trigger.id, bootstrapServers: this.deps.bootstrapServers, records });
    return this.deps.targets.invoke(target, event, JSON.stringify(event));
  }

  /** After a failed batch: commit what went through, then bisect, retry later, or dead-letter. */
  private async failed(offset: number, batch: Lettered[], invoked: Lettered[], f: Failure): Promise<number | 'lost'> {
    const before = batch.filter((r) => r.at < f.at);
    // Bisection narrows the failing records; a dead letter holds only those (with key parallelism the
    // other keys' records after `f.at` were taken, and are delivered again with the retry).
    const rest = f.failing;
    const after = invoked.filter((r) => r.at >= f.at);
    const lease = this.lease;
    const error = { message: f.error.slice(0, 1000), offset: rest[0]!.offset, at: Date.now() };
    const progress: LaneChange['add'] = { delivered: before.filter((r) => this.filter.matches(r)).length, filtered: before.filter((r) => !this.filter.matches(r)).length };
    // Bisect: the failing part is split until the failing record is alone; the halves cost no retry.
    if (this.trigger.bisectOnError && f.whole && rest.length > 1) {
      const change = { add: progress, set: { lastError: error, bisectLimit: Math.ceil(after.length / 2), bisectUntil: Math.max(lease.bisectUntil ?? -1, after.at(-1)!.at), failingOffset: null, attempts: 0 } };
      return (await this.commit(f.at, change)) ? f.at : 'lost';
    }
    const attempts = lease.failingOffset === f.at ? lease.attempts + 1 : 1;
    const maxAge = this.trigger.maximumRecordAgeMs;
    const tooOld = maxAge >= 0 && Date.now() - rest[0]!.timestamp > maxAge;
    if (attempts > this.trigger.retryAttempts || tooOld) {
      if (f.at > offset && !(await this.commit(f.at, { add: progress }))) return 'lost';
      const why = tooOld ? `${f.error} (records older than maximum_record_age_ms ${maxAge}, not retried)` : f.error;
      // Past the failing records and the other keys' records the function took beside them.
      return this.deadLetter(rest, why, after.at(-1)!.at + 1, attempts, after.length - rest.length);
    }
    const change = { add: progress, set: { attempts, failingOffset: f.at, retryAt: Date.now() + backoffMs(attempts, this.deps.backoffBaseMs), lastError: error } };
    return (await this.commit(f.at, change)) ? f.at : 'lost';
  }

  /** The records go to the dead-letter topic in full, then the lane moves past them (and to `to` at least). */
  private async deadLetter(records: Lettered[], error: string, to: number, attempts = 1, taken = 0): Promise<number | 'lost'> {
    const time = String(Date.now());
    const text = (s: string) => new TextEncoder().encode(s);
    const letters: ProduceRecord[] = records.map((r) => ({
      key: r.key,
      value: r.value,
      timestamp: r.timestamp,
      headers: [
        ...r.headers,
        { key: DLQ_HEADERS.topic, value: text(r.topic) },
        { key: DLQ_HEADERS.partition, value: text(String(r.partition)) },
        { key: DLQ_HEADERS.offset, value: text(String(r.offset)) },
        { key: DLQ_HEADERS.trigger, value: text(this.trigger.name) },
        { key: DLQ_HEADERS.attempts, value: text(String(attempts)) },
        { key: DLQ_HEADERS.error, value: text(error.slice(0, 4000)) },
        { key: DLQ_HEADERS.time, value: text(time) },
      ],
    }));
    await this.deps.produce(this.trigger.deadLetterTopic, letters);
    const position = Math.max(records.at(-1)!.at + 1, to);
    const lastError = { message: error.slice(0, 1000), offset: records[0]!.offset, at: Date.now() };
    const change: LaneChange = { add: { deadLetters: records.length, delivered: taken }, set: { attempts: 0, failingOffset: null, retryAt: 0, lastError } };
    return (await this.commit(position, change)) ? position : 'lost';
  }

  /** Moves the lane to `offset` with `change`, on condition the lease is still this run's. */
  private async commit(offset: number, change: LaneChange): Promise<boolean> {
    const { triggers, groups, clients, owner } = this.deps;
    const items: CommitItem[] = [];
    if (this.source.redrive) {
      items.push(triggers.laneUpdateParams(this.trigger.name, this.source.key, owner, this.lease.fence, { ...change, set: { ...change.set, next: offset } }));
    } else {
      items.push(triggers.laneUpdateParams(this.trigger.name, this.source.key, owner, this.lease.fence, change));
      items.push(groups.offsetPutParams(this.trigger.group, { topic: this.source.topic, topicId: this.topic.id, partition: this.source.partition, offset, metadata: null, generation: -1, time: Date.now() }));
    }
    // Idempotent: an SDK retry after a lost answer must not add the counters twice (the items carry the time, so each commit has its own token).
    const outcome = await sendCommit(clients, new Commit().add(items[0]!, 'fenced').addAll(items.slice(1)), { idempotent: true });
    if (!outcome.committed) return false;
    this.deps.onCommitted?.({ trigger: this.trigger.name, lane: this.source.key, offset, fence: this.lease.fence });
    this.applyLocally(change, offset);
    return true;
  }

  private async change(change: LaneChange): Promise<boolean> {
    const ok = await this.deps.triggers.updateLane(this.trigger.name, this.source.key, this.deps.owner, this.lease.fence, change);
    if (ok) this.applyLocally(change);
    return ok;
  }

  /** Keeps this run's copy of the lane in step with what it wrote. */
  private applyLocally(change: LaneChange, offset?: number): void {
    const l = this.lease as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(change.set ?? {})) if (v !== undefined) l[k] = v;
    for (const [k, v] of Object.entries(change.add ?? {})) l[k] = ((l[k] as number) ?? 0) + (v ?? 0);
    if (this.source.redrive && offset !== undefined) this.lease.next = offset;
  }
}
