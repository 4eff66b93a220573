// The trigger dispatcher: finds lanes with records to deliver and runs them (src/triggers/lane.ts), with
// no always-on poller. It is woken per partition when a commit advances it (locally by this process's
// own commits; in AWS by the DynamoDB stream of partition heads) and by a sweep (each second locally,
// each minute in AWS) that catches missed wake-ups and retries whose backoff has passed. Any number of
// dispatchers may run: a lane's lease makes one of them its only deliverer at a time.
import { randomUUID } from 'node:crypto';
import type { Fetcher } from '../fetch/fetch.ts';
import type { LaneState, Trigger } from '../model/trigger.ts';
import type { AwsClients } from '../storage/clients.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { laneSortKey, REDRIVE_PREFIX } from '../storage/keys.ts';
import type { LogTable } from '../storage/log-table.ts';
import type { TriggersTable } from '../storage/triggers-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { compileFilters, type RecordFilter } from './filters.ts';
import { LaneRun, type AttemptEvent, type LaneDeps, type LaneResult, type LaneSource } from './lane.ts';
import type { ProduceRecord } from '../produce/types.ts';
import type { TargetInvoker } from './targets.ts';

export interface DispatcherDeps {
  clients: AwsClients;
  triggers: TriggersTable;
  groups: GroupsTable;
  topics: TopicService;
  fetcher: Fetcher;
  log: LogTable;
  targets: TargetInvoker;
  tableWriter?: LaneDeps['tableWriter'];
  connectorWriter?: LaneDeps['connectorWriter'];
  produce: (topic: string, records: ProduceRecord[]) => Promise<void>;
  /** The API URL, the event's `bootstrapServers`. */
  bootstrapServers: string;
  /** Lanes run at once in this process. */
  concurrency?: number;
  /** Longest one lane run holds its lease before it yields (and is rescheduled), in ms. */
  runMs?: number;
  onAttempt?: (e: AttemptEvent) => void;
  onCommitted?: LaneDeps['onCommitted'];
  leaseMs?: number;
  backoffBaseMs?: number;
  logLine?: (line: string) => void;
}

export interface SweepSummary {
  triggers: number;
  lanes: number;
  ran: number;
}

/** Triggers are read at most this often for wake-ups (their changes in this process refresh it at once). */
const TRIGGER_CACHE_MS = 2000;

export class TriggerDispatcher {
  /** Identifies this dispatcher in leases. */
  readonly owner = randomUUID();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly queue: Array<() => void> = [];
  private active = 0;
  private cache: { at: number; triggers: Trigger[]; byTopicId: Map<string, Array<{ trigger: Trigger; topic: string }>> } | undefined;
  private readonly filters = new Map<string, { version: number; filter: RecordFilter }>();
  private stopped = false;
  private deadline: number | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Where the API listens, once a server knows (the event's `bootstrapServers`). */
  setBootstrapServers(url: string): void {
    this.deps.bootstrapServers = url;
  }

  /** Runs the due lanes of one trigger now (after a change made some due); resolves when they end. */
  async kick(name: string, _redrives?: number[]): Promise<void> {
    if (this.stopped) return;
    const t = await this.deps.triggers.get(name);
    if (!t || !t.enabled) return;
    await Promise.allSettled((await this.due(t)).map((source) => this.schedule(t, source)));
  }

  /** Forgets the cached triggers, after this process changed one. */
  invalidate(): void {
    this.cache = undefined;
  }

  private async triggersNow(): Promise<{ triggers: Trigger[]; byTopicId: Map<string, Array<{ trigger: Trigger; topic: string }>> }> {
    if (this.cache && Date.now() - this.cache.at < TRIGGER_CACHE_MS) return this.cache;
    const triggers = await this.deps.triggers.list();
    const byTopicId = new Map<string, Array<{ trigger: Trigger; topic: string }>>();
    for (const t of triggers) {
      for (const name of t.topics) {
        const topic = await this.deps.topics.resolve(name).catch(() => undefined);
        if (!topic) continue;
        byTopicId.set(topic.id, [...(byTopicId.get(topic.id) ?? []), { trigger: t, topic: name }]);
      }
    }
    this.cache = { at: Date.now(), triggers, byTopicId };
    return this.cache;
  }

  private filterOf(t: Trigger): RecordFilter {
    const hit = this.filters.get(t.name);
    if (hit && hit.version === t.version) return hit.filter;
    const filter = compileFilters(t.filters);
    this.filters.set(t.name, { version: t.version, filter });
    return filter;
  }

  /** A commit advanced this partition: deliver it to every enabled trigger on its topic; resolves when those runs end. */
  async wake(topicId: string, partition: number): Promise<void> {
    if (this.stopped) return;
    const { byTopicId } = await this.triggersNow();
    const runs: Promise<void>[] = [];
    for (const { trigger, topic } of byTopicId.get(topicId) ?? []) {
      if (trigger.enabled) runs.push(this.schedule(trigger, { key: laneSortKey(topic, partition), topic, partition, redrive: false }));
    }
    await Promise.allSettled(runs);
  }

  /** Bounds how long one lane run may take (before it yields and is scheduled again). */
  setRunMs(ms: number): void {
    this.deps.runMs = ms;
  }

  /**
   * An absolute end for all work (a Lambda invocation's end, less what the last commit and the release
   * of leases need): no run goes past it, and none starts again after it; what is left waits for the
   * next wake-up or sweep.
   */
  setDeadline(at: number | undefined): void {
    this.deadline = at;
  }

  /**
   * Every lane of every enabled trigger that is behind (or has a redrive to do) and whose backoff has
   * passed is scheduled; the answer resolves once those runs have ended (unless `wait` is false).
   */
  async sweep(options: { wait?: boolean } = {}): Promise<SweepSummary> {
    if (this.stopped) return { triggers: 0, lanes: 0, ran: 0 };
    this.invalidate();
    const { triggers } = await this.triggersNow();
    const runs: Promise<void>[] = [];
    let lanes = 0;
    for (const t of triggers) {
      if (!t.enabled) continue;
      for (const source of await this.due(t)) {
        lanes++;
        runs.push(this.schedule(t, source));
      }
    }
    if (options.wait !== false) await Promise.allSettled(runs);
    return { triggers: triggers.length, lanes, ran: runs.length };
  }

  /** The trigger's lanes with work: behind their partition's high watermark, or a redrive not finished. */
  private async due(t: Trigger): Promise<LaneSource[]> {
    const now = Date.now();
    const states = new Map<string, LaneState>((await this.deps.triggers.lanes(t.name)).map((l) => [l.key, l]));
    const out: LaneSource[] = [];
    for (const l of states.values()) {
      if (l.key.startsWith(REDRIVE_PREFIX) && (l.next ?? 0) < (l.end ?? 0) && l.retryAt <= now) {
        out.push({ key: l.key, topic: t.deadLetterTopic, partition: Number(l.key.slice(REDRIVE_PREFIX.length)), redrive: true });
      }
    }
    for (const name of t.topics) {
      const topic = await this.deps.topics.resolve(name).catch(() => undefined);
      if (!topic) continue;
      const partitions = [...Array(topic.partitions).keys()];
      const [heads, offsets] = await Promise.all([this.deps.log.getHeads(topic.id, partitions), this.deps.groups.getOffsets(t.group, partitions.map((p) => [name, p]), { requireStable: false }).catch(() => new Map())]);
      for (const p of partitions) {
        const key = laneSortKey(name, p);
        const lane = states.get(key);
        if (lane && lane.retryAt > now) continue;
        const hw = heads.get(p)?.highWatermark ?? 0;
        if (lane?.heldTo != null && hw <= lane.heldTo) continue;
        const committed = [...offsets.values()].find((o) => o.partition === p && o.topic === name);
        const position = committed && (committed.topicId === null || committed.topicId === topic.id) ? committed.offset : (heads.get(p)?.logStartOffset ?? 0);
        if (position < hw) out.push({ key, topic: name, partition: p, redrive: false });
      }
    }
    return out;
  }

  /** Runs the lane now, or once its run in this process ends (coalescing wake-ups); resolves when done, never rejects. */
  schedule(t: Trigger, source: LaneSource): Promise<void> {
    const id = `${t.name}\u0000${source.key}`;
    const current = this.running.get(id);
    if (current) {
      this.again.add(id);
      return current;
    }
    const run = (async () => {
      try {
        for (;;) {
          this.again.delete(id);
          const result = await this.slot(() => this.runLane(t, source));
          if (this.stopped || this.timeLeft() <= 0) return;
          if (result === 'more' || this.again.has(id)) {
            // Settings may have changed meanwhile (a PATCH, a pause). Unread, the lane waits for the
            // next wake-up or sweep, as after a failed run: a run never rejects (sweeps need not wait
            // for theirs, and nothing may be left unhandled in a server's process).
            let fresh: Trigger | undefined;
            try {
              fresh = await this.deps.triggers.get(t.name);
            } catch (e) {
              this.deps.logLine?.(`trigger ${t.name}: ${source.key}: ${(e as Error).message}`);
              return;
            }
            if (!fresh || !fresh.enabled) return;
            t = fresh;
            continue;
          }
          return;
        }
      } finally {
        this.running.delete(id);
      }
    })();
    this.running.set(id, run);
    return run;
  }

  private async runLane(t: Trigger, source: LaneSource): Promise<LaneResult> {
    try {
      const lane = new LaneRun({ ...this.deps, owner: this.owner, log: this.deps.logLine }, t, (x) => this.filterOf(x), source);
      if (this.timeLeft() <= 0) return 'more';
      return await lane.run(Date.now() + Math.min(this.deps.runMs ?? 30_000, this.timeLeft()), this.deadline);
    } catch (e) {
      // The lease runs out and the lane is taken up again: a storage error never loses a record.
      this.deps.logLine?.(`trigger ${t.name}: ${source.key}: ${(e as Error).message}`);
      return 'idle';
    }
  }

  private timeLeft(): number {
    return this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - Date.now();
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    const limit = this.deps.concurrency ?? 32;
    if (this.active >= limit) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  /** Stops scheduling new runs and waits for those under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }
}

