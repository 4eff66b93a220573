// The built-in target of a table's internal trigger: it writes a batch of one partition's records into
// the tables table. The lane (src/triggers/lane.ts) gives it the batch in offset order under its lease
// and commits the offset after it, as for any trigger; so the table's applied offset is the trigger's
// committed offset, and a crash between the writes and the commit only replays the batch.
//
// Only the latest record per key of a batch is written; each write is conditioned on the offset the key
// holds, so a replay, a retry or a late write never takes a key back to an older record, and a failed
// condition means "already applied". A tombstone leaves a delete marker that expires after the topic's
// delete.retention.ms (by then compaction has removed the key's older records too).
import type { DeliveredRecord } from '../triggers/event.ts';
import type { FunctionAnswer } from '../triggers/targets.ts';
import type { TriggerTarget } from '../model/trigger.ts';
import type { TableRecord, TablesTable } from '../storage/tables-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { topicSettings } from '../topics/configs.ts';
import { mapBounded } from '../map-bounded.ts';

/** Writes of one batch in flight at once. */
const WRITE_CONCURRENCY = 16;

export type TableTarget = Extract<TriggerTarget, { type: 'table' }>;

export interface TableWriterDeps {
  tables: TablesTable;
  topics: TopicService;
}

/** The latest record of each key, in the batch's order; keyless records have no place in a table. */
export function latestPerKey(records: ReadonlyArray<Pick<DeliveredRecord, 'key' | 'value' | 'offset' | 'timestamp'>>): TableRecord[] {
  const latest = new Map<string, TableRecord>();
  for (const r of records) {
    if (r.key === null) continue;
    const id = Buffer.from(r.key).toString('hex');
    const prev = latest.get(id);
    if (!prev || prev.offset < r.offset) latest.set(id, { key: r.key, value: r.value, offset: r.offset, timestamp: r.timestamp });
  }
  return [...latest.values()];
}

export class TableWriter {
  constructor(private readonly deps: TableWriterDeps) {}

  /** Applies the records of one partition; a storage failure is a failed attempt, which the lane retries. */
  async write(target: TableTarget, records: DeliveredRecord[]): Promise<FunctionAnswer> {
    if (records.length === 0) return { ok: true, answer: undefined };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<FunctionAnswer>((r) => {
      // Writes still under way after this are harmless: each is conditioned on its offset.
      timer = setTimeout(() => r({ ok: false, error: `table writes did not finish within ${target.timeoutMs} ms`, unknown: true }), target.timeoutMs);
    });
    return Promise.race([this.apply(target, records), late]).finally(() => clearTimeout(timer));
  }

  private async apply(target: TableTarget, records: DeliveredRecord[]): Promise<FunctionAnswer> {
    try {
      const { topic, partition } = records[0]!;
      const settings = topicSettings((await this.deps.topics.resolve(topic)).configs);
      const ttl = Math.floor((Date.now() + settings.deleteRetentionMs) / 1000);
      await mapBounded(latestPerKey(records), WRITE_CONCURRENCY, async (r) => {
        await this.deps.tables.write(target.id, partition, r, ttl);
      });
      return { ok: true, answer: undefined };
    } catch (e) {
      return { ok: false, error: `table '${target.table}': ${(e as Error).message}`, unknown: false };
    }
  }
}
