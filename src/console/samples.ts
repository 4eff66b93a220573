// Figures over time for the console: produce and fetch rates per topic, total lag per group. Locally a
// small ring in memory, fed by the engine's metrics and a timer that reads each group's lag; in AWS the
// same series come from CloudWatch (cloudwatch.ts). The console asks one route for either.
import type { Engine } from '../engine/engine.ts';
import { mapBounded } from '../map-bounded.ts';
import type { Metrics } from '../metrics.ts';

/** What the console asks for: the last `minutes`, optionally one topic's or one group's series only. */
export interface SeriesQuery {
  minutes: number;
  topic?: string;
  group?: string;
}

/** Series over shared timestamps (ms, the end of each step); null where nothing was measured. */
export interface Series {
  source: 'local' | 'cloudwatch';
  step_ms: number;
  timestamps: number[];
  topics: Record<string, { produced_per_s: Array<number | null>; fetched_per_s: Array<number | null> }>;
  groups: Record<string, { lag: Array<number | null> }>;
}

export interface SampleSource {
  series(query: SeriesQuery): Promise<Series>;
}

/** One step of the ring: counts since the step before, and the lag read at its end. */
interface Slot {
  at: number;
  ms: number;
  produced: Map<string, number>;
  fetched: Map<string, number>;
  lag: Map<string, number>;
}

export interface SampleRingOptions {
  /** Time between samples (ms); 10 s by default, so an hour is 360 samples. */
  intervalMs?: number;
  /** Samples kept; an hour's worth by default. */
  capacity?: number;
  /** Total lag of each group, read at every sample. */
  lagOf: () => Promise<Map<string, number>>;
  /** Where a failed sample is reported (it is skipped, the ring goes on). */
  log?: (line: string) => void;
}

/** Series for this many names at most: a ring is for a console, not a metrics store. */
const MAX_NAMES = 1000;

export class SampleRing implements SampleSource {
  readonly intervalMs: number;
  private readonly capacity: number;
  private readonly slots: Slot[] = [];
  private produced = new Map<string, number>();
  private fetched = new Map<string, number>();
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /** The engine's metrics: counts added up until the next sample. */
  readonly metrics: Metrics = {
    commitRetries: () => undefined,
    consumerLag: () => undefined,
    recordsProduced: (topic, records) => add(this.produced, topic, records),
    recordsFetched: (topic, records) => add(this.fetched, topic, records),
  };

  constructor(private readonly options: SampleRingOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.capacity = options.capacity ?? Math.ceil(3_600_000 / this.intervalMs);
  }

  /** Samples now, then every interval; each waits for the one before, so slow lag reads never pile up. */
  start(): void {
    const tick = () => {
      this.running = this.sample()
        .catch((e: unknown) => this.options.log?.(`console samples: ${(e as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One sample: the counts since the last one, and every group's lag now. */
  async sample(): Promise<void> {
    const lag = await this.options.lagOf();
    const now = Date.now();
    const slot: Slot = { at: now, ms: Math.max(1, now - this.last), produced: this.produced, fetched: this.fetched, lag };
    this.produced = new Map();
    this.fetched = new Map();
    this.last = now;
    this.slots.push(slot);
    if (this.slots.length > this.capacity) this.slots.shift();
  }

  async series(query: SeriesQuery): Promise<Series> {
    const from = Date.now() - query.minutes * 60_000;
    const slots = this.slots.filter((s) => s.at >= from);
    const topicNames = new Set<string>();
    const groupNames = new Set<string>();
    for (const s of slots) {
      for (const t of s.produced.keys()) topicNames.add(t);
      for (const t of s.fetched.keys()) topicNames.add(t);
      for (const g of s.lag.keys()) groupNames.add(g);
    }
    const rate = (n: number | undefined, ms: number) => Math.round(((n ?? 0) * 1000 * 100) / ms) / 100;
    // A topic's series or a group's, as asked; both kinds when neither is named.
    if (query.group !== undefined) topicNames.clear();
    if (query.topic !== undefined) groupNames.clear();
    const topics: Series['topics'] = {};
    for (const t of [...topicNames].filter((t) => query.topic === undefined || t === query.topic).sort()) {
      topics[t] = { produced_per_s: slots.map((s) => rate(s.produced.get(t), s.ms)), fetched_per_s: slots.map((s) => rate(s.fetched.get(t), s.ms)) };
    }
    const groups: Series['groups'] = {};
    for (const g of [...groupNames].filter((g) => query.group === undefined || g === query.group).sort()) {
      groups[g] = { lag: slots.map((s) => s.lag.get(g) ?? null) };
    }
    return { source: 'local', step_ms: this.intervalMs, timestamps: slots.map((s) => s.at), topics, groups };
  }
}

function add(counts: Map<string, number>, name: string, n: number): void {
  if (!counts.has(name) && counts.size >= MAX_NAMES) return;
  counts.set(name, (counts.get(name) ?? 0) + n);
}

/** Each group's total lag (records), as the group describe computes it; groups that fail to describe are left out. */
export async function groupLags(engine: Engine): Promise<Map<string, number>> {
  const groups = (await engine.groupAdmin.list()).slice(0, MAX_NAMES);
  const out = new Map<string, number>();
  await mapBounded(groups, 8, async (g) => {
    const d = await engine.groupAdmin.describe(g.group_id).catch(() => undefined);
    if (d) out.set(g.group_id, d.offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0));
  });
  return out;
}
