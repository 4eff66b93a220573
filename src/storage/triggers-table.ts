// The triggers table: per trigger, its settings item, and one item per lane (a source partition, or a
// dead-letter partition being redriven) with the lease that makes one dispatcher its only deliverer,
// the fence that turns away a dispatcher that lost it, and the lane's retry state and counters.
// A lane's progress (its committed offset) lives in the groups table, as an ordinary consumer group's;
// a dispatcher writes it in one transaction with a condition on its lease (leaseCheckParams).
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LaneState, Trigger } from '../model/trigger.ts';
import { conditionally } from './aws-errors.ts';
import type { AwsClients } from './clients.ts';
import type { CommitItem } from './commit.ts';
import { TRIGGER_SORT_KEY } from './keys.ts';
import { queryAll, scanAll } from './pages.ts';
import { mapBounded } from '../map-bounded.ts';

/** A change to a lane: attributes set (null removes), counters added. */
export interface LaneChange {
  set?: Partial<Omit<LaneState, 'key' | 'fence' | 'delivered' | 'filtered' | 'deadLetters' | 'invocations'>>;
  add?: Partial<Pick<LaneState, 'delivered' | 'filtered' | 'deadLetters' | 'invocations'>>;
}

function laneFromItem(key: string, i: Record<string, unknown> | undefined): LaneState {
  const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  const opt = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    key,
    owner: typeof i?.owner === 'string' ? i.owner : null,
    until: num(i?.until, 0),
    fence: num(i?.fence, 0),
    attempts: num(i?.attempts, 0),
    failingOffset: opt(i?.failingOffset),
    retryAt: num(i?.retryAt, 0),
    bisectLimit: opt(i?.bisectLimit),
    bisectUntil: opt(i?.bisectUntil),
    lastError: (i?.lastError as LaneState['lastError']) ?? null,
    delivered: num(i?.delivered, 0),
    filtered: num(i?.filtered, 0),
    deadLetters: num(i?.deadLetters, 0),
    invocations: num(i?.invocations, 0),
    next: opt(i?.next),
    end: opt(i?.end),
    heldTo: opt(i?.heldTo),
  };
}

/** An UpdateExpression from a change; every attribute name goes through a placeholder (several are reserved words). */
function updateOf(change: LaneChange, extra: { set?: string[]; add?: string[]; remove?: string[] } = {}) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = [...(extra.set ?? [])];
  const adds = [...(extra.add ?? [])];
  const removes = [...(extra.remove ?? [])];
  for (const [k, v] of Object.entries(change.set ?? {})) {
    if (v === undefined) continue;
    names[`#${k}`] = k;
    if (v === null) removes.push(`#${k}`);
    else {
      values[`:${k}`] = v;
      sets.push(`#${k} = :${k}`);
    }
  }
  for (const [k, v] of Object.entries(change.add ?? {})) {
    if (!v) continue;
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    adds.push(`#${k} :${k}`);
  }
  const parts = [sets.length ? `SET ${sets.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean);
  return { expression: parts.join(' '), names, values };
}

export class TriggersTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  private triggerItem(t: Trigger) {
    return { n: t.name, s: TRIGGER_SORT_KEY, trigger: t, topics: t.topics, version: t.version };
  }

  /** Creates the trigger; false when one of that name exists. */
  async create(t: Trigger): Promise<boolean> {
    return conditionally(this.clients.ddb.send(new PutCommand({ TableName: this.table, Item: this.triggerItem(t), ConditionExpression: 'attribute_not_exists(n)' })));
  }

  async get(name: string): Promise<Trigger | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { n: name, s: TRIGGER_SORT_KEY }, ConsistentRead: true }));
    return r.Item ? (r.Item.trigger as Trigger) : undefined;
  }

  /** Every trigger: one Scan of the settings items only (lanes are filtered out by the projection's key). */
  async list(): Promise<Trigger[]> {
    const items = await scanAll(this.clients, {
      TableName: this.table,
      FilterExpression: 's = :s',
      ExpressionAttributeValues: { ':s': TRIGGER_SORT_KEY },
      ConsistentRead: true,
    });
    return items.map((i) => i.trigger as Trigger).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Replaces the settings on condition nobody changed them since `readVersion`. */
  async replace(t: Trigger, readVersion: number): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(new PutCommand({ TableName: this.table, Item: this.triggerItem(t), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': readVersion } })),
    );
  }

  /** Deletes the trigger's item (false when it was not there), then its lanes. */
  async delete(name: string): Promise<boolean> {
    const removed = await conditionally(this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { n: name, s: TRIGGER_SORT_KEY }, ConditionExpression: 'attribute_exists(n)' })));
    await this.deleteLanes(name);
    return removed;
  }

  /** Removes every lane item of the name (left by a deleted trigger of the same name, or before a create). */
  async deleteLanes(name: string): Promise<void> {
    const lanes = await queryAll(this.clients, { TableName: this.table, KeyConditionExpression: 'n = :n', ExpressionAttributeValues: { ':n': name }, ProjectionExpression: 's', ConsistentRead: true });
    await mapBounded(
      lanes.filter((l) => l.s !== TRIGGER_SORT_KEY),
      16,
      async (l) => {
        await this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { n: name, s: l.s } }));
      },
    );
  }

  async lanes(name: string): Promise<LaneState[]> {
    const items = await queryAll(this.clients, { TableName: this.table, KeyConditionExpression: 'n = :n', ExpressionAttributeValues: { ':n': name }, ConsistentRead: true });
    return items.filter((i) => i.s !== TRIGGER_SORT_KEY).map((i) => laneFromItem(String(i.s), i));
  }

  async lane(name: string, key: string): Promise<LaneState> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { n: name, s: key }, ConsistentRead: true }));
    return laneFromItem(key, r.Item);
  }

  /**
   * Takes the lane's lease for `owner` until `until`, when nobody holds it or its holder's lease ran out
   * before `now`; the fence goes up, so whatever the previous holder still writes is refused. The lane's
   * state as it is now, or undefined when another dispatcher holds it.
   */
  async takeLease(name: string, key: string, owner: string, now: number, until: number): Promise<LaneState | undefined> {
    try {
      const r = await this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { n: name, s: key },
          UpdateExpression: 'SET #owner = :o, #until = :u, #fence = if_not_exists(#fence, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(#owner) OR #until < :now',
          ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until', '#fence': 'fence' },
          ExpressionAttributeValues: { ':o': owner, ':u': until, ':now': now, ':zero': 0, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return laneFromItem(key, r.Attributes);
    } catch (e) {
      if ((e as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw e;
    }
  }

  /** The condition every write of a lease holder carries: still its owner, under the same fence. */
  private holder(owner: string, fence: number) {
    return { condition: '#owner = :me AND #fence = :fence', names: { '#owner': 'owner', '#fence': 'fence' }, values: { ':me': owner, ':fence': fence } };
  }

  /** A change of the lane by its lease holder, as a transaction item (beside the offset it commits). */
  laneUpdateParams(name: string, key: string, owner: string, fence: number, change: LaneChange): CommitItem {
    const u = updateOf(change);
    const h = this.holder(owner, fence);
    return {
      Update: {
        TableName: this.table,
        Key: { n: name, s: key } as never,
        UpdateExpression: u.expression,
        ConditionExpression: h.condition,
        ExpressionAttributeNames: { ...u.names, ...h.names },
        ExpressionAttributeValues: { ...u.values, ...h.values } as never,
      },
    };
  }

  /** The same change as one write: false when the lease was lost. */
  async updateLane(name: string, key: string, owner: string, fence: number, change: LaneChange): Promise<boolean> {
    const p = this.laneUpdateParams(name, key, owner, fence, change).Update!;
    return conditionally(this.clients.ddb.send(new UpdateCommand(p as never)));
  }

  /** Gives the lease up (the next dispatcher need not wait for it to run out); false when it was lost already. */
  async release(name: string, key: string, owner: string, fence: number, change: LaneChange = {}): Promise<boolean> {
    const u = updateOf({ ...change, set: { ...change.set, owner: null } });
    const h = this.holder(owner, fence);
    return conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { n: name, s: key },
          UpdateExpression: u.expression,
          ConditionExpression: h.condition,
          ExpressionAttributeNames: { ...u.names, ...h.names },
          ExpressionAttributeValues: { ...u.values, ...h.values },
        }),
      ),
    );
  }

  /**
   * Takes the lane from whoever holds it, for an operator's change of position (seek, redrive): the fence
   * goes up and the lease is dropped, so a delivery in flight cannot commit over the new position, and
   * the retry state starts afresh. As a transaction item, beside the offsets it sets.
   */
  resetLaneParams(name: string, key: string, set: LaneChange['set'] = {}): CommitItem {
    const u = updateOf(
      { set: { attempts: 0, failingOffset: null, retryAt: 0, bisectLimit: null, bisectUntil: null, heldTo: null, owner: null, ...set } },
      { set: ['#fence = if_not_exists(#fence, :zero) + :one'] },
    );
    return {
      Update: {
        TableName: this.table,
        Key: { n: name, s: key } as never,
        UpdateExpression: u.expression,
        ExpressionAttributeNames: { ...u.names, '#fence': 'fence' },
        ExpressionAttributeValues: { ...u.values, ':zero': 0, ':one': 1 } as never,
      },
    };
  }

  async resetLane(name: string, key: string, set: LaneChange['set'] = {}): Promise<void> {
    await this.clients.ddb.send(new UpdateCommand(this.resetLaneParams(name, key, set).Update as never));
  }
}
