// Group commit: produce requests served by one process that arrive within a short window and go to
// the same topic share one S3 PUT and one commit transaction (per transaction's worth of partitions),
// as a database groups the log writes of concurrent transactions. Each request keeps its own batches,
// offsets and error. The first request of a group waits for the window; those arriving during it
// join, and so do those arriving while the topic's writes in flight are at their limit. Requests of an
// idempotent producer are not grouped: two sequences of one producer on one partition cannot share a
// transaction (one producer state item each), and a retry must find its own.
import type { FloeError } from '../errors.ts';
import type { Topic } from '../topics/topics.ts';
import type { PlannedBatch } from './types.ts';

/** One request's part of a group: its planned batches, and what to do with the group's outcome. */
export interface GroupedRequest {
  batches: PlannedBatch[];
  resolve: (value: GroupOutcome) => void;
  reject: (error: unknown) => void;
}

/** How one batch of a group fared: the transaction (chunk) it went in, and its base offset or error. */
export type BatchOutcome = { chunk: number; base: number } | { chunk: number; error: FloeError };

/** What a group's write gives each of its requests: every batch's outcome, and the object they share. */
export interface GroupOutcome {
  outcomes: Map<PlannedBatch, BatchOutcome>;
  objectKey: string;
}

export interface GroupCommitOptions {
  /** How long the first request of a group waits for others; 0 turns grouping off. */
  windowMs: number;
  /** A group closes early once its batches reach this many bytes (one object, one request's worth of memory). */
  maxBytes: number;
}

interface OpenGroup {
  topic: Topic;
  requests: GroupedRequest[];
  bytes: number;
  /** The window has passed: the group is written as soon as the topic's previous write is done. */
  due: boolean;
  timer: NodeJS.Timeout;
}

/** Per topic: the group taking requests, full groups waiting their turn, and the writes under way. */
interface TopicLane {
  current?: OpenGroup;
  full: OpenGroup[];
  writing: number;
}

/**
 * Writes of one topic under way at once in a process. Allocation never races, so more would be safe;
 * a few keep groups large (one object and one commit for many requests) while the next one forms.
 */
export const GROUP_WRITES_IN_FLIGHT = 4;

export class GroupCommitter {
  private readonly lanes = new Map<string, TopicLane>();

  constructor(
    private readonly options: GroupCommitOptions,
    /** Writes the batches of several requests as one object and commit. */
    private readonly write: (topic: Topic, requests: GroupedRequest[]) => Promise<void>,
  ) {}

  get enabled(): boolean {
    return this.options.windowMs > 0;
  }

  /**
   * Adds a request's batches to the group of its topic that takes requests (opening one), and waits for
   * that group's write. At most GROUP_WRITES_IN_FLIGHT writes per topic are under way at a time in this
   * process: requests that come meanwhile join the next group.
   */
  submit(topic: Topic, batches: PlannedBatch[]): Promise<GroupOutcome> {
    return new Promise<GroupOutcome>((resolve, reject) => {
      const bytes = batches.reduce((n, b) => n + b.bytes.length, 0);
      let lane = this.lanes.get(topic.id);
      if (!lane) this.lanes.set(topic.id, (lane = { full: [], writing: 0 }));
      // A full group waits for its turn; so does one planned against another partition count.
      const current = lane.current;
      if (current && (current.topic.partitions !== topic.partitions || current.bytes + bytes > this.options.maxBytes)) {
        this.close(lane, current);
        this.pump(topic.id);
      }
      if (!lane.current) {
        const opened: OpenGroup = {
          topic,
          requests: [],
          bytes: 0,
          due: false,
          timer: setTimeout(() => {
            opened.due = true;
            this.pump(topic.id);
          }, this.options.windowMs),
        };
        lane.current = opened;
      }
      lane.current.requests.push({ batches, resolve, reject });
      lane.current.bytes += bytes;
    });
  }

  private close(lane: TopicLane, group: OpenGroup): void {
    clearTimeout(group.timer);
    if (lane.current === group) lane.current = undefined;
    lane.full.push(group);
  }

  /** Starts the topic's next writes while under the limit: full groups first, else the current one once due. */
  private pump(topicId: string): void {
    const lane = this.lanes.get(topicId);
    if (!lane) return;
    while (lane.writing < GROUP_WRITES_IN_FLIGHT) {
      if (lane.full.length === 0 && lane.current?.due) this.close(lane, lane.current);
      const group = lane.full.shift();
      if (!group) {
        if (!lane.current && lane.writing === 0) this.lanes.delete(topicId);
        return;
      }
      lane.writing++;
      this.write(group.topic, group.requests)
        .catch((e: unknown) => {
          for (const r of group.requests) r.reject(e);
        })
        .finally(() => {
          lane.writing--;
          this.pump(topicId);
        });
    }
  }
}
