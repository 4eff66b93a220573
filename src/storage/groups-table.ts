// The groups table: per group id, the group item (generation, members, assignment), the consumer
// instances, and the committed offsets. Every membership change is a conditional write on the group
// item's version, so two coordinators can never both decide the next generation.
import { FloeError } from '../errors.ts';
import { mapBounded } from '../map-bounded.ts';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CommittedOffset, GroupState, GroupSummary, InstanceState, Strategy } from '../model/group.ts';
import { conditionally } from './aws-errors.ts';
import { consistentBatchGet } from './batch-get.ts';
import type { AwsClients } from './clients.ts';
import { Commit, sendCommit, TRANSACTION_MAX_ITEMS, type CommitItem } from './commit.ts';
import { queryAll, scanAll } from './pages.ts';
import { GROUP_SORT_KEY, INSTANCE_PREFIX, instanceSortKey, OFFSET_PREFIX, PENDING_PREFIX, offsetSortKey, parseTopicPartitionKey, topicPartitionKey } from './keys.ts';

/** How an offset commit is fenced: as a member of a generation, or as the group was when read (no members). */
export type OffsetGuard = { kind: 'member'; member: string; generation: number } | { kind: 'unchanged'; group: GroupState };

export type OffsetCommitResult =
  | { complete: true; written: CommittedOffset[] }
  /** The guard failed (or a race was lost) before every offset was written; `written` were. */
  | { complete: false; written: CommittedOffset[]; reason: string };

/** Offsets one transaction holds beside its guard. */
export const OFFSETS_PER_TRANSACTION = TRANSACTION_MAX_ITEMS - 1;

/** Consumer instances idle this long are destroyed, as in the REST Proxy. */
export const INSTANCE_IDLE_MS = 5 * 60 * 1000;

function groupFromItem(i: Record<string, unknown>): GroupState {
  return {
    generation: i.generation as number,
    version: i.version as number,
    strategy: i.strategy as Strategy,
    members: (i.members as GroupState['members']) ?? {},
    assignment: (i.assignment as GroupState['assignment']) ?? {},
    exists: true,
  };
}

/** Instances saved before they recorded topic ids have none: their positions are taken as they are. */
function instanceFromItem(i: Record<string, unknown>): InstanceState {
  const state = i.state as InstanceState;
  return { ...state, topicIds: state.topicIds ?? {} };
}

function offsetFromItem(topic: string, partition: number, item: Record<string, unknown>): CommittedOffset {
  return {
    topic,
    topicId: (item.topicId as string | undefined) ?? null,
    partition,
    offset: item.offset as number,
    metadata: (item.metadata as string | null) ?? null,
    generation: item.generation as number,
    time: item.time as number,
  };
}

const EMPTY_GROUP = (strategy: Strategy): GroupState => ({ generation: 0, version: 0, strategy, members: {}, assignment: {}, exists: false });

export class GroupsTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  async getGroup(group: string, strategy: Strategy = 'range'): Promise<GroupState> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { g: group, s: GROUP_SORT_KEY }, ConsistentRead: true }));
    return r.Item ? groupFromItem(r.Item) : EMPTY_GROUP(strategy);
  }

  /**
   * Writes the next state of the group if nobody changed it since `read`: same version, and every
   * member this writer expires has not heartbeated since. False when another writer got there first.
   */
  async replaceGroup(group: string, read: GroupState, next: Omit<GroupState, 'exists' | 'version'>, expired: string[]): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let condition = 'attribute_not_exists(g)';
    if (read.exists) {
      // Nobody changed membership since the read...
      condition = 'version = :v';
      values[':v'] = read.version;
      // ...and no member this writer expires has heartbeated since (heartbeats leave the version alone).
      // Every heartbeat sets pollingUntil to at least its own time, which is past the value of a member
      // found expired, so that attribute alone tells; items written before it existed have only the
      // heartbeat time. One clause per member keeps the expression short when many expire at once.
      expired.forEach((id, i) => {
        const m = read.members[id]!;
        names[`#e${i}`] = id;
        if (m.pollingUntil === undefined) {
          values[`:hb${i}`] = m.heartbeat;
          condition += ` AND members.#e${i}.heartbeat = :hb${i}`;
        } else {
          values[`:hb${i}`] = m.pollingUntil;
          condition += ` AND members.#e${i}.pollingUntil = :hb${i}`;
        }
      });
    }
    return conditionally(
      this.clients.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: { g: group, s: GROUP_SORT_KEY, ...next, version: read.version + 1 },
          ConditionExpression: condition,
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        }),
      ),
    );
  }

  /**
   * Records a heartbeat, and until when the records call that carries it will wait; false when the
   * member is gone or the group moved on since `read`.
   */
  async heartbeat(group: string, member: string, read: GroupState, now: number, pollingUntil: number): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { g: group, s: GROUP_SORT_KEY },
          UpdateExpression: 'SET members.#m.heartbeat = :now, members.#m.pollingUntil = :until',
          ConditionExpression: 'version = :v AND attribute_exists(members.#m)',
          ExpressionAttributeNames: { '#m': member },
          ExpressionAttributeValues: { ':now': now, ':until': pollingUntil, ':v': read.version },
        }),
      ),
    );
  }

  async getInstance(group: string, id: string): Promise<InstanceState | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { g: group, s: instanceSortKey(id) }, ConsistentRead: true }));
    return r.Item ? instanceFromItem(r.Item) : undefined;
  }

  /** Creates an instance; false when the name is taken. */
  async createInstance(state: InstanceState): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: this.instanceItem(state),
          ConditionExpression: 'attribute_not_exists(s)',
        }),
      ),
    );
  }

  /** Saves an instance; false when it was deleted meanwhile (it is not brought back). */
  async saveInstance(state: InstanceState): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(new PutCommand({ TableName: this.table, Item: this.instanceItem(state), ConditionExpression: 'attribute_exists(s)' })),
    );
  }

  async deleteInstance(group: string, id: string): Promise<void> {
    await this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { g: group, s: instanceSortKey(id) } }));
  }

  private instanceItem(state: InstanceState) {
    // DynamoDB's TTL removes long-idle instances eventually; reads check lastUsed, since TTL is not prompt.
    return { g: state.group, s: instanceSortKey(state.id), state, ttl: Math.floor((state.lastUsed + INSTANCE_IDLE_MS) / 1000) + 3600 };
  }

  /**
   * Committed offsets of the partitions, for a consumer about to start from them: refused with a
   * retriable error while a transaction holds offsets of the group that it has not yet committed or
   * aborted (Kafka's RequireStable), so no consumer starts from offsets about to move. A reader that
   * knows no transaction writes the group's offsets (a trigger's own group) skips that check.
   */
  async getOffsets(group: string, partitions: Array<[string, number]>, options: { requireStable?: boolean } = {}): Promise<Map<string, CommittedOffset>> {
    const out = new Map<string, CommittedOffset>();
    if (partitions.length === 0) return out;
    if (options.requireStable !== false) await this.assertStable(group);
    const items = await consistentBatchGet(this.clients, partitions.map(([t, p]) => ({ table: this.table, key: { g: group, s: offsetSortKey(t, p) } })));
    partitions.forEach(([t, p], i) => {
      const item = items[i];
      if (item) out.set(topicPartitionKey(t, p), offsetFromItem(t, p, item));
    });
    return out;
  }

  async listOffsets(group: string): Promise<CommittedOffset[]> {
    const items = await queryAll(this.clients, {
      TableName: this.table,
      KeyConditionExpression: 'g = :g AND begins_with(s, :prefix)',
      ExpressionAttributeValues: { ':g': group, ':prefix': OFFSET_PREFIX },
      ConsistentRead: true,
    });
    return items.map((item) => {
      const [topic, partition] = parseTopicPartitionKey(String(item.s).slice(OFFSET_PREFIX.length));
      return offsetFromItem(topic, partition, item);
    });
  }

  async listInstances(group: string): Promise<InstanceState[]> {
    const items = await queryAll(this.clients, { TableName: this.table, KeyConditionExpression: 'g = :g AND begins_with(s, :prefix)', ExpressionAttributeValues: { ':g': group, ':prefix': INSTANCE_PREFIX }, ConsistentRead: true });
    return items.map(instanceFromItem);
  }

  /**
   * Every group id with a group item, a consumer instance or a committed offset (Kafka lists Empty groups
   * that only have offsets too). One paginated Scan of the whole table, an admin call: the projection
   * keeps instance states and offsets out of the answer, and the ids are deduplicated.
   */
  async listGroups(): Promise<GroupSummary[]> {
    const items = await scanAll(this.clients, {
      TableName: this.table,
      ProjectionExpression: 'g, s, generation, members',
      ConsistentRead: true,
    });
    const groups = new Map<string, GroupSummary>();
    for (const i of items) {
      const group = String(i.g);
      if (i.s === GROUP_SORT_KEY) {
        groups.set(group, { group, generation: i.generation as number, members: (i.members as GroupSummary['members']) ?? {} });
      } else if (!groups.has(group)) {
        groups.set(group, { group, generation: 0, members: {} });
      }
    }
    return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  /**
   * Deletes the group: its group item first, on condition nobody changed it since `read` (a member that
   * joined meanwhile keeps it), then its consumer instances and committed offsets. False when the group
   * item changed. A member that joins afterwards starts a new group.
   */
  async deleteGroup(group: string, read: GroupState): Promise<boolean> {
    if (read.exists) {
      const removed = await conditionally(
        this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { g: group, s: GROUP_SORT_KEY }, ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': read.version } })),
      );
      if (!removed) return false;
    }
    const items = await queryAll(this.clients, { TableName: this.table, KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': group }, ProjectionExpression: 's', ConsistentRead: true });
    await mapBounded(
      items.filter((i) => i.s !== GROUP_SORT_KEY),
      16,
      async (i) => {
        await this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { g: group, s: i.s } }));
      },
    );
    return true;
  }

  /** Whether the group has anything at all: a group item, an instance or a committed offset. */
  async groupExists(group: string): Promise<boolean> {
    const r = await this.clients.ddb.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': group }, ProjectionExpression: 's', Limit: 1, ConsistentRead: true }),
    );
    return (r.Items?.length ?? 0) > 0;
  }

  /**
   * Writes committed offsets, each transaction guarded by a condition on the group item: the fence that
   * keeps a zombie (a member the group has moved on from) from overwriting a new owner's progress.
   * Every offset written carries the id of the topic it was made against.
   *
   * A commit of up to OFFSETS_PER_TRANSACTION offsets is one transaction: all or nothing. A larger one
   * takes several, in order, each under the guard; when the guard fails part-way, the offsets of the
   * transactions before stay written, and the result says exactly which.
   */
  async commitOffsets(group: string, offsets: Array<CommittedOffset & { topicId: string }>, guard: OffsetGuard): Promise<OffsetCommitResult> {
    const written: Array<CommittedOffset & { topicId: string }> = [];
    for (let i = 0; i < offsets.length; i += OFFSETS_PER_TRANSACTION) {
      const chunk = offsets.slice(i, i + OFFSETS_PER_TRANSACTION);
      const commit = new Commit().add(this.guardParams(group, guard), 'fenced');
      for (const o of chunk) commit.add(this.offsetPutParams(group, o));
      const outcome = await sendCommit(this.clients, commit);
      if (!outcome.committed) return { complete: false, written, reason: outcome.reason };
      written.push(...chunk);
    }
    return { complete: true, written };
  }

  /** Throws UNSTABLE_OFFSET_COMMIT while a transaction holds offsets of the group. */
  async assertStable(group: string): Promise<void> {
    const r = await this.clients.ddb.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'g = :g AND begins_with(s, :p)', ExpressionAttributeValues: { ':g': group, ':p': PENDING_PREFIX }, Limit: 1, ConsistentRead: true }),
    );
    const item = r.Items?.[0];
    if (item) {
      throw new FloeError('UNSTABLE_OFFSET_COMMIT', `group '${group}' has offsets in transaction '${String(item.s).slice(PENDING_PREFIX.length)}', not yet committed or aborted; retry shortly`);
    }
  }

  /** Marks the group's offsets as pending in transaction `n` of `tid` (one marker per transactional id). */
  pendingPutParams(group: string, tid: string, n: number): CommitItem {
    return { Put: { TableName: this.table, Item: { g: group, s: `${PENDING_PREFIX}${tid}`, n } as never } };
  }

  /**
   * That the marker of transaction `n` is still there (its offsets not yet applied): written back as it
   * is, on that condition (a put, where a condition check would need one more grant for no more safety).
   */
  pendingCheckParams(group: string, tid: string, n: number): CommitItem {
    return { Put: { TableName: this.table, Item: { g: group, s: `${PENDING_PREFIX}${tid}`, n } as never, ConditionExpression: 'n = :n', ExpressionAttributeValues: { ':n': n } as never } };
  }

  pendingDeleteParams(group: string, tid: string, n: number): CommitItem {
    return { Delete: { TableName: this.table, Key: { g: group, s: `${PENDING_PREFIX}${tid}` } as never, ConditionExpression: 'n = :n', ExpressionAttributeValues: { ':n': n } as never } };
  }

  /** The fence of KIP-447: the committer is still a member of that generation. */
  memberCheckParams(group: string, member: string, generation: number): CommitItem {
    return this.guardParams(group, { kind: 'member', member, generation });
  }

  offsetPutParams(group: string, o: CommittedOffset & { topicId: string }): CommitItem {
    return {
      Put: { TableName: this.table, Item: { g: group, s: offsetSortKey(o.topic, o.partition), topicId: o.topicId, offset: o.offset, metadata: o.metadata, generation: o.generation, time: o.time } as never },
    };
  }

  /** The condition on the group item that fences an offset commit. */
  private guardParams(group: string, guard: OffsetGuard): CommitItem {
    const check = { TableName: this.table, Key: { g: group, s: GROUP_SORT_KEY } as never };
    if (guard.kind === 'member') {
      // Still a member, of the generation whose assignment gave it these partitions.
      return {
        ConditionCheck: {
          ...check,
          ConditionExpression: 'generation = :g AND attribute_exists(members.#m)',
          ExpressionAttributeNames: { '#m': guard.member },
          ExpressionAttributeValues: { ':g': guard.generation } as never,
        },
      };
    }
    // From outside the group (an admin reset, a manually assigned consumer): nobody changed the group since it was read.
    return guard.group.exists
      ? { ConditionCheck: { ...check, ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': guard.group.version } as never } }
      : { ConditionCheck: { ...check, ConditionExpression: 'attribute_not_exists(g)' } };
  }
}
