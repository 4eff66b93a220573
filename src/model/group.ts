// A consumer group as stored: its members and assignment per generation, its consumer instances (the
// REST Proxy's), and its committed offsets. Plain types shared by storage and the group coordinator.

export type Strategy = 'range' | 'roundrobin' | 'sticky';

export interface MemberState {
  topics: string[];
  pattern: string | null;
  /** When the member last heartbeated. */
  heartbeat: number;
  /**
   * Until when the records call that carried the last heartbeat waits for data: a member blocked in a
   * long poll is alive, so its session runs from here (absent in items written before it existed).
   */
  pollingUntil?: number;
  sessionTimeoutMs: number;
}

/** A group as the admin listing sees it: every group id that has a group item, an instance or an offset. */
export interface GroupSummary {
  group: string;
  generation: number;
  members: Record<string, MemberState>;
}

export interface GroupState {
  generation: number;
  version: number;
  strategy: Strategy;
  members: Record<string, MemberState>;
  assignment: Record<string, Array<[string, number]>>;
  exists: boolean;
}

export interface InstanceState {
  group: string;
  id: string;
  format: 'binary' | 'json';
  autoOffsetReset: 'earliest' | 'latest' | 'none';
  autoCommit: boolean;
  fetchMinBytes: number;
  requestTimeoutMs: number;
  strategy: Strategy;
  /** Kafka's isolation.level; instances saved before it was kept have none (read_uncommitted). */
  isolation?: 'read_uncommitted' | 'read_committed';
  createdAt: number;
  lastUsed: number;
  mode: 'none' | 'subscribe' | 'assign';
  topics: string[];
  pattern: string | null;
  manual: Array<[string, number]>;
  /** The generation the instance last saw, and what it owned then. */
  generation: number;
  owned: Array<[string, number]>;
  /** "topic:partition" -> next offset to read. */
  positions: Record<string, number>;
  /** "topic:partition" -> position after the last record returned and not yet committed. */
  pending: Record<string, number>;
  /**
   * topic -> the id of the topic the positions and pending offsets of that topic were read from: a topic
   * deleted and re-created under the same name is a new log, where they do not apply.
   */
  topicIds: Record<string, string>;
  /** Rotates the partition a records call starts from, so none starves another. */
  turn: number;
}

export interface CommittedOffset {
  topic: string;
  /**
   * The id of the topic the offset was committed against: it does not apply to a topic re-created under
   * the same name since. Null in items written before offsets carried one.
   */
  topicId: string | null;
  partition: number;
  offset: number;
  metadata: string | null;
  generation: number;
  time: number;
}
