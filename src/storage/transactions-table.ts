// The transactions table: per transactional id, one state item (producer id and epoch, the state of its
// current or last transaction, its deadline and partitions), the writes the transaction staged (one item
// per produce request: the object it uploaded and its batches, with no offsets yet) and the group offsets
// it carries. Every change of state is a conditional write on the state item, so two processes can never
// both decide how one transaction ends. Staged items expire by TTL a day after their transaction's
// deadline; the state item stays.
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { conditionally } from './aws-errors.ts';
import type { AwsClients } from './clients.ts';
import { createHash } from 'node:crypto';
import { consistentBatchGet } from './batch-get.ts';
import { queryAll, scanAll } from './pages.ts';
import { TXN_DUE_INDEX } from './schema.ts';

/** Kafka's transaction states, by their names. */
export type TxnStateName = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort';

export interface TxnState {
  transactionalId: string;
  producerId: number;
  /** The producer's epoch now; every older one is fenced. */
  epoch: number;
  /** The epoch the current (or last) transaction was written under. */
  txnEpoch: number;
  state: TxnStateName;
  /** Number of the current (or last) transaction of this id, from 1. */
  n: number;
  /** Sequences of the transaction's writes: from firstSeq to lastSeq of txnEpoch (none when firstSeq > lastSeq). */
  firstSeq: number;
  /** Last sequence staged under `epoch`, -1 for none. */
  lastSeq: number;
  timeoutMs: number;
  startedAt: number | null;
  /** After this (epoch ms) an open transaction is aborted, never committed. */
  deadline: number | null;
  /** "topic:partition" of every partition written. */
  partitions: string[];
  groups: string[];
  updatedAt: number;
  /**
   * The producer id and epoch the last transaction was ended with: every end bumps the epoch
   * (KIP-890), and an end asked again with these is answered as it was.
   */
  endedProducerId: number | null;
  endedEpoch: number | null;
}

export interface StagedBatch {
  partition: number;
  position: number;
  length: number;
  count: number;
  firstTimestamp: number;
  maxTimestamp: number;
}

/** One produce request of a transaction: its object and batches. */
export interface StagedWrite {
  epoch: number;
  seq: number;
  n: number;
  topic: string;
  topicId: string;
  objectKey: string;
  batches: StagedBatch[];
}

export interface StagedOffset {
  topic: string;
  topicId: string;
  partition: number;
  offset: number;
  metadata: string | null;
}

/** One sendOffsets call of a transaction. */
export interface StagedOffsets {
  n: number;
  group: string;
  generation: number;
  offsets: StagedOffset[];
}

export const STATE_SORT_KEY = 'state';
/** A string set cannot be empty: a transaction that has only offsets so far holds this one. */
const NO_PARTITION = '-';
/** Staged items live this long after their transaction's deadline (the state item is kept). */
const STAGED_TTL_S = 24 * 3600;

/** The index shard of a transactional id. */
export function shardOf(tid: string): string {
  return String(createHash('md5').update(tid).digest().readUInt16BE(0) % TXN_DUE_INDEX.shards);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
export const writeSortKey = (epoch: number, seq: number) => `w#${pad(epoch, 5)}#${pad(seq, 16)}`;
const offsetsPrefix = (n: number) => `o#${pad(n, 16)}#`;

function stateFromItem(i: Record<string, unknown>): TxnState {
  return {
    transactionalId: i.t as string,
    producerId: Number(i.pid),
    epoch: Number(i.epoch),
    txnEpoch: Number(i.txnEpoch),
    state: i.st as TxnStateName,
    n: Number(i.n),
    firstSeq: Number(i.firstSeq),
    lastSeq: Number(i.lastSeq),
    timeoutMs: Number(i.timeoutMs),
    startedAt: (i.startedAt as number | undefined) ?? null,
    deadline: (i.deadline as number | undefined) ?? null,
    partitions: [...((i.parts as Set<string> | undefined) ?? [])].filter((p) => p !== NO_PARTITION).sort(),
    groups: [...((i.groups as Set<string> | undefined) ?? [])].sort(),
    updatedAt: Number(i.updatedAt),
    endedProducerId: i.endedPid === undefined ? null : Number(i.endedPid),
    endedEpoch: i.endedEpoch === undefined ? null : Number(i.endedEpoch),
  };
}

/** The condition that the state item is still exactly the state read (its transaction, epoch and state). */
function sameState(s: TxnState): { ConditionExpression: string; names: Record<string, string>; values: Record<string, unknown> } {
  return {
    ConditionExpression: 'pid = :rpid AND epoch = :repoch AND n = :rn AND #st = :rst AND lastSeq = :rlast',
    names: { '#st': 'st' },
    values: { ':rpid': s.producerId, ':repoch': s.epoch, ':rn': s.n, ':rst': s.state, ':rlast': s.lastSeq },
  };
}

export class TransactionsTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  async get(tid: string): Promise<TxnState | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { t: tid, s: STATE_SORT_KEY }, ConsistentRead: true }));
    return r.Item ? stateFromItem(r.Item) : undefined;
  }

  /** Creates the state item of a new transactional id; false when another process created it first. */
  create(tid: string, producerId: number, timeoutMs: number, now: number): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: { t: tid, s: STATE_SORT_KEY, pid: producerId, epoch: 0, txnEpoch: 0, st: 'Empty', n: 0, firstSeq: 0, lastSeq: -1, timeoutMs, updatedAt: now },
          ConditionExpression: 'attribute_not_exists(t)',
        }),
      ),
    );
  }

  /**
   * Sets fields of the state item on condition it is still `read` (and, with `beforeDeadline`, that
   * the open transaction's deadline is after that time); false when not.
   */
  update(read: TxnState, set: Record<string, unknown>, now: number, options: { beforeDeadline?: number; remove?: string[] } = {}): Promise<boolean> {
    const c = sameState(read);
    const names: Record<string, string> = { ...c.names };
    const values: Record<string, unknown> = { ...c.values, ':now': now };
    let condition = c.ConditionExpression;
    if (options.beforeDeadline !== undefined) {
      condition += ' AND deadline > :at';
      values[':at'] = options.beforeDeadline;
    }
    const parts = ['updatedAt = :now'];
    Object.entries(set).forEach(([k, v], i) => {
      names[`#f${i}`] = k;
      values[`:v${i}`] = v;
      parts.push(`#f${i} = :v${i}`);
    });
    return conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { t: read.transactionalId, s: STATE_SORT_KEY },
          UpdateExpression: `SET ${parts.join(', ')}${options.remove?.length ? ` REMOVE ${options.remove.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * The state item's part of a write into the transaction: it starts the transaction when `read` has
   * none open, and records the partitions, the sequence or the group; on condition nothing changed since
   * `read` and, for an open one, that its deadline has not passed.
   */
  joinParams(read: TxnState, now: number, join: { seq?: number; partitions?: string[]; group?: string }): TransactWriteItem {
    const c = sameState(read);
    const values: Record<string, unknown> = { ...c.values, ':now': now };
    const names: Record<string, string> = { ...c.names };
    const set = ['updatedAt = :now'];
    const add: string[] = [];
    let condition = c.ConditionExpression;
    if (read.state === 'Ongoing') {
      condition += ' AND deadline > :now';
    } else {
      // Into the index of unfinished transactions, due at its deadline.
      set.push('#st = :ongoing', 'n = :n1', 'txnEpoch = :repoch', 'firstSeq = :first', 'startedAt = :now', 'deadline = :deadline', 'os = :os', 'due = :deadline');
      values[':os'] = shardOf(read.transactionalId);
      values[':ongoing'] = 'Ongoing';
      values[':n1'] = read.n + 1;
      values[':first'] = read.lastSeq + 1;
      values[':deadline'] = now + read.timeoutMs;
    }
    if (join.seq !== undefined) {
      set.push('lastSeq = :seq');
      values[':seq'] = join.seq;
    }
    const fresh = read.state !== 'Ongoing';
    if (join.partitions?.length) {
      if (fresh) set.push('parts = :parts');
      else add.push('parts :parts');
      values[':parts'] = new Set(join.partitions);
    } else if (fresh) set.push('parts = :noParts');
    if (fresh && !join.partitions?.length) values[':noParts'] = new Set([NO_PARTITION]);
    if (join.group !== undefined) {
      if (fresh) set.push('groups = :groups');
      else add.push('groups :groups');
      values[':groups'] = new Set([join.group]);
    }
    const remove = fresh && join.group === undefined ? ' REMOVE groups' : '';
    return {
      Update: {
        TableName: this.table,
        Key: { t: read.transactionalId, s: STATE_SORT_KEY } as never,
        UpdateExpression: `SET ${set.join(', ')}${add.length ? ` ADD ${add.join(', ')}` : ''}${remove}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values as never,
      },
    };
  }

  /** The staged write of one produce request, on condition its sequence is new. */
  putWriteParams(tid: string, w: StagedWrite, deadline: number): TransactWriteItem {
    return {
      Put: {
        TableName: this.table,
        Item: { t: tid, s: writeSortKey(w.epoch, w.seq), ...w, ttl: Math.floor(deadline / 1000) + STAGED_TTL_S } as never,
        ConditionExpression: 'attribute_not_exists(t)',
      },
    };
  }

  /** One sendOffsets call (a fresh key each: the roll-forward applies them in order). */
  putOffsetsParams(tid: string, o: StagedOffsets, deadline: number): TransactWriteItem {
    return {
      Put: {
        TableName: this.table,
        Item: { t: tid, s: `${offsetsPrefix(o.n)}${ulid()}`, ...o, ttl: Math.floor(deadline / 1000) + STAGED_TTL_S } as never,
      },
    };
  }

  async getWrite(tid: string, epoch: number, seq: number): Promise<StagedWrite | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { t: tid, s: writeSortKey(epoch, seq) }, ConsistentRead: true }));
    return r.Item as StagedWrite | undefined;
  }

  /** The writes of the transaction `s` describes, in sequence order. */
  async writesOf(s: TxnState): Promise<StagedWrite[]> {
    // Up to the end of the epoch's sequences: an epoch bumped by a timeout no longer knows the last one.
    const items = await queryAll(this.clients, {
      TableName: this.table,
      KeyConditionExpression: 't = :t AND s BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':t': s.transactionalId, ':from': writeSortKey(s.txnEpoch, s.firstSeq), ':to': writeSortKey(s.txnEpoch, 10 ** 16 - 1) },
      ConsistentRead: true,
    });
    return (items as unknown as StagedWrite[]).filter((w) => w.n === s.n);
  }

  /** The sendOffsets calls of transaction `n`, in the order they were made. */
  async offsetsOf(tid: string, n: number): Promise<StagedOffsets[]> {
    const items = await queryAll(this.clients, {
      TableName: this.table,
      KeyConditionExpression: 't = :t AND begins_with(s, :p)',
      ExpressionAttributeValues: { ':t': tid, ':p': offsetsPrefix(n) },
      ConsistentRead: true,
    });
    return items as unknown as StagedOffsets[];
  }

  /**
   * State items of unfinished transactions that are due (an open one past its deadline, a decided one
   * whose completion stalled), from the sparse index, then read consistently.
   */
  async dueUnfinished(now: number): Promise<TxnState[]> {
    const keys: Array<{ t: string; s: string }> = [];
    for (let shard = 0; shard < TXN_DUE_INDEX.shards; shard++) {
      const items = await queryAll(this.clients, {
        TableName: this.table,
        IndexName: TXN_DUE_INDEX.name,
        KeyConditionExpression: 'os = :os AND due <= :now',
        ExpressionAttributeValues: { ':os': String(shard), ':now': now },
      });
      for (const i of items) keys.push({ t: i.t as string, s: i.s as string });
    }
    const found = await consistentBatchGet(this.clients, keys.map((key) => ({ table: this.table, key })));
    return found.filter((i): i is Record<string, unknown> => i !== undefined).map(stateFromItem);
  }

  /**
   * Every state item of a transaction that is open or decided, by a full scan: for checks and
   * tools that must not trust the index (the sweep queries `dueUnfinished`).
   */
  async scanUnfinished(): Promise<TxnState[]> {
    const items = await scanAll(this.clients, {
      TableName: this.table,
      FilterExpression: 's = :state AND #st IN (:o, :pc, :pa)',
      ExpressionAttributeNames: { '#st': 'st' },
      ExpressionAttributeValues: { ':state': STATE_SORT_KEY, ':o': 'Ongoing', ':pc': 'PrepareCommit', ':pa': 'PrepareAbort' },
      ConsistentRead: true,
    });
    return items.map(stateFromItem);
  }
}
