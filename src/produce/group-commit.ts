// Group commit: produce requests served by one process that arrive within a short window and go to
// the same topic share one S3 PUT and one commit transaction (per transaction's worth of partitions),
// as a database groups the log writes of concurrent transactions. Each request keeps its own batches,
// offsets and error. The first request of a group waits for the window; those arriving during it
// join. Requests of an idempotent producer are not grouped: two sequences of one producer on one
// partition cannot share a transaction (one producer state item each), and a retry must find its own.
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
  timer: NodeJS.Timeout;
}

export class GroupCommitter {
  private readonly open = new Map<string, OpenGroup>();

  constructor(
    private readonly options: GroupCommitOptions,
    /** Writes the batches of several requests as one object and commit. */
    private readonly write: (topic: Topic, requests: GroupedRequest[]) => Promise<void>,
  ) {}

  get enabled(): boolean {
    return this.options.windowMs > 0;
  }

  /** Adds a request's batches to the open group of its topic (opening one), and waits for the group's write. */
  submit(topic: Topic, batches: PlannedBatch[]): Promise<GroupOutcome> {
    return new Promise<GroupOutcome>((resolve, reject) => {
      const bytes = batches.reduce((n, b) => n + b.bytes.length, 0);
      let group = this.open.get(topic.id);
      // A full group is written now; so is one planned against another partition count.
      if (group && (group.topic.partitions !== topic.partitions || group.bytes + bytes > this.options.maxBytes)) {
        this.flush(topic.id);
        group = undefined;
      }
      if (!group) {
        const opened: OpenGroup = { topic, requests: [], bytes: 0, timer: setTimeout(() => this.flush(topic.id), this.options.windowMs) };
        this.open.set(topic.id, opened);
        group = opened;
      }
      group.requests.push({ batches, resolve, reject });
      group.bytes += bytes;
    });
  }

  private flush(topicId: string): void {
    const group = this.open.get(topicId);
    if (!group) return;
    this.open.delete(topicId);
    clearTimeout(group.timer);
    this.write(group.topic, group.requests).catch((e: unknown) => {
      for (const r of group.requests) r.reject(e);
    });
  }
}
