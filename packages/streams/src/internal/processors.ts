// The stateful processors: aggregations (keyed, windowed, sessions, tables), table sources,
// suppression and stream-stream joins. Each reads and writes its stores through the byte interface,
// in the layouts of ./stores.ts, so the test driver and the real runtime run the same code.

import type { Serde } from '../serdes.ts';
import { Window, Windowed } from '../serdes.ts';
import type { TopicRef } from '../task.ts';
import type { TimeWindows, SessionWindows } from '../windows.ts';
import { concat, readU64, u64 } from './bytes.ts';
import { Change, type NodeContext, type ProcessorFactory, type StreamRecord, type TaskRuntime } from './graph.ts';
import {
  changelogTopic,
  decodeTimestamped,
  encodeTimestamped,
  joinKey,
  keyBytesOf,
  keyPrefix,
  KeyValueView,
  META_SEQUENCE,
  parseJoinKey,
  parseSessionKey,
  parseWindowKey,
  prefixRange,
  sessionKey,
  windowKey,
} from './stores.ts';

export const DROPPED_LATE = 'dropped-late-records';
export const DROPPED = 'dropped-records';

const isNull = (v: unknown): boolean => v === null || v === undefined;

export type Getter = (key: unknown) => Promise<{ value: unknown; timestamp: number } | null>;

/** How a table's current value is looked up by a processor that joins against it (Kafka's value getters). */
export interface TableGetter {
  /** The stores the lookup reads: whoever uses it must run in the same sub-topology. */
  readonly stores: string[];
  make(task: TaskRuntime): Getter;
}

export function storeGetter(storeName: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): TableGetter {
  return {
    stores: [storeName],
    make(task) {
      const kv = new KeyValueView(task.store(storeName), keySerde, valueSerde);
      return (key) => (isNull(key) ? Promise.resolve(null) : kv.get(key));
    },
  };
}

/** A time-windowed table's lookup by `Windowed` key. */
export function windowStoreGetter(storeName: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): TableGetter {
  return {
    stores: [storeName],
    make(task) {
      const store = task.store(storeName);
      const topic = changelogTopic(storeName);
      return async (key) => {
        if (isNull(key)) return null;
        const wk = key as Windowed<unknown>;
        const raw = await store.get(windowKey(keyBytesOf(keySerde, topic, wk.key), wk.window.start));
        if (raw === null) return null;
        const { timestamp, bytes } = decodeTimestamped(raw);
        return { value: valueSerde.deserialize(topic, bytes), timestamp };
      };
    },
  };
}

export function sessionStoreGetter(storeName: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): TableGetter {
  return {
    stores: [storeName],
    make(task) {
      const store = task.store(storeName);
      const topic = changelogTopic(storeName);
      return async (key) => {
        if (isNull(key)) return null;
        const wk = key as Windowed<unknown>;
        const raw = await store.get(sessionKey(keyBytesOf(keySerde, topic, wk.key), wk.window.start, wk.window.end));
        if (raw === null) return null;
        const { timestamp, bytes } = decodeTimestamped(raw);
        return { value: valueSerde.deserialize(topic, bytes), timestamp };
      };
    },
  };
}

/** Makes a table processor also keep its results in a store (a table op with `Materialized`). */
export function materializing(storeName: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>, inner: ProcessorFactory): ProcessorFactory {
  return (ctx) => {
    const kv = new KeyValueView(ctx.task.store(storeName), keySerde, valueSerde);
    return inner({
      task: ctx.task,
      forwardTo: (child, r) => ctx.forwardTo(child, r),
      forward: async (r) => {
        kv.put(r.key, (r.value as Change).newValue, r.timestamp);
        await ctx.forward(r);
      },
    });
  };
}

/** `builder.table` and `toTable`: the latest value per key; `null` deletes. */
export function tableSource(storeName: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): ProcessorFactory {
  return (ctx) => {
    const kv = new KeyValueView(ctx.task.store(storeName), keySerde, valueSerde);
    return {
      async process(r) {
        if (isNull(r.key)) {
          ctx.task.count(DROPPED);
          return;
        }
        const old = await kv.get(r.key);
        const value = isNull(r.value) ? null : r.value;
        // A delete of a key the table never had changes nothing downstream.
        if (value === null && old === null) return;
        kv.put(r.key, value, r.timestamp);
        await ctx.forward({ key: r.key, value: new Change(value, old?.value ?? null), timestamp: r.timestamp, headers: r.headers });
      },
    };
  };
}

/**
 * A grouped stream's count, reduce or aggregate. Without `init` it is a reduce: the first value is
 * the aggregate. Forwards the aggregate's change; its timestamp is the latest of its records'.
 */
export function streamAggregate(storeName: string, keySerde: Serde<unknown>, aggSerde: Serde<unknown>, init: (() => unknown) | undefined, add: (key: unknown, value: unknown, agg: unknown) => unknown): ProcessorFactory {
  return (ctx) => {
    const kv = new KeyValueView(ctx.task.store(storeName), keySerde, aggSerde);
    return {
      async process(r) {
        if (isNull(r.key) || isNull(r.value)) {
          ctx.task.count(DROPPED);
          return;
        }
        const old = await kv.get(r.key);
        const oldAgg = old?.value ?? null;
        const base = oldAgg ?? (init ? init() : null);
        const newAgg = base === null ? r.value : add(r.key, r.value, base);
        const timestamp = old ? Math.max(old.timestamp, r.timestamp) : r.timestamp;
        kv.put(r.key, newAgg, timestamp);
        await ctx.forward({ key: r.key, value: new Change(newAgg, oldAgg), timestamp, headers: r.headers });
      },
    };
  };
}

/**
 * A grouped table's aggregate: each change first subtracts the old value (from this group: the
 * repartition step sent it here because it was in this group), then adds the new one. Without `init`
 * it is a reduce. A `null` result deletes the row.
 */
export function tableAggregate(
  storeName: string,
  keySerde: Serde<unknown>,
  aggSerde: Serde<unknown>,
  init: (() => unknown) | undefined,
  add: (key: unknown, value: unknown, agg: unknown) => unknown,
  subtract: (key: unknown, value: unknown, agg: unknown) => unknown,
): ProcessorFactory {
  return (ctx) => {
    const kv = new KeyValueView(ctx.task.store(storeName), keySerde, aggSerde);
    return {
      async process(r) {
        if (isNull(r.key)) {
          ctx.task.count(DROPPED);
          return;
        }
        const change = r.value as Change;
        const old = await kv.get(r.key);
        const oldAgg = old?.value ?? null;
        let agg: unknown = oldAgg;
        if (!isNull(change.oldValue) && agg !== null) agg = subtract(r.key, change.oldValue, agg);
        if (!isNull(change.newValue)) {
          const base = isNull(agg) ? (init ? init() : null) : agg;
          agg = base === null ? change.newValue : add(r.key, change.newValue, base);
        }
        if (isNull(agg)) agg = null;
        if (agg === null && oldAgg === null) return;
        const timestamp = old ? Math.max(old.timestamp, r.timestamp) : r.timestamp;
        kv.put(r.key, agg, timestamp);
        await ctx.forward({ key: r.key, value: new Change(agg, oldAgg), timestamp, headers: r.headers });
      },
    };
  };
}

export interface LateRecords {
  topic: TopicRef;
  keySerde: Serde<unknown>;
  valueSerde: Serde<unknown>;
}

function dropLate(task: TaskRuntime, r: StreamRecord, late: LateRecords | undefined): void {
  task.count(DROPPED_LATE);
  if (!late) return;
  task.send(late.topic, {
    key: late.keySerde.serialize(late.topic.name, r.key),
    value: late.valueSerde.serialize(late.topic.name, r.value),
    timestamp: r.timestamp,
    headers: r.headers,
  });
}

/**
 * Time-windowed aggregation. A window `[start, end)` closes when stream time reaches `end + grace`;
 * a record for closed windows only is dropped (counted once, and sent to the late-records topic if
 * there is one). Windows are deleted once stream time passes `start + retention`, when the key's
 * windows are next read.
 */
export function windowAggregate(
  storeName: string,
  windows: TimeWindows,
  retentionMs: number,
  keySerde: Serde<unknown>,
  aggSerde: Serde<unknown>,
  init: (() => unknown) | undefined,
  add: (key: unknown, value: unknown, agg: unknown) => unknown,
  late: LateRecords | undefined,
): ProcessorFactory {
  return (ctx) => {
    const store = ctx.task.store(storeName);
    const topic = changelogTopic(storeName);
    return {
      async process(r) {
        if (isNull(r.key) || isNull(r.value) || r.timestamp < 0) {
          ctx.task.count(DROPPED);
          return;
        }
        const now = ctx.task.streamTime;
        const kb = keyBytesOf(keySerde, topic, r.key);
        const [from, to] = prefixRange(keyPrefix(kb));
        const existing = new Map<number, { timestamp: number; bytes: Uint8Array }>();
        for (const [k, v] of await store.range(from, to)) {
          const { start } = parseWindowKey(k);
          if (start + retentionMs <= now) store.put(k, null);
          else existing.set(start, decodeTimestamped(v));
        }
        let dropped = false;
        for (const w of windows.windowsFor(r.timestamp)) {
          if (w.end + windows.graceMs <= now) {
            dropped = true;
            continue;
          }
          const old = existing.get(w.start);
          const oldAgg = old ? aggSerde.deserialize(topic, old.bytes) : null;
          const base = oldAgg ?? (init ? init() : null);
          const newAgg = base === null ? r.value : add(r.key, r.value, base);
          const timestamp = old ? Math.max(old.timestamp, r.timestamp) : r.timestamp;
          const bytes = aggSerde.serialize(topic, newAgg);
          store.put(windowKey(kb, w.start), bytes === null ? null : encodeTimestamped(timestamp, bytes));
          await ctx.forward({ key: new Windowed(r.key, w), value: new Change(newAgg, oldAgg), timestamp, headers: r.headers });
        }
        if (dropped) dropLate(ctx.task, r, late);
      },
    };
  };
}

/**
 * Session aggregation: a record joins every session of its key within `gap` of it, merging them
 * (their aggregates through `merge`, the removed sessions forwarded as deletes). A session closes
 * when stream time reaches `end + gap + grace`; a record whose session would be closed, or that would
 * merge into a closed one, is late.
 */
export function sessionAggregate(
  storeName: string,
  windows: SessionWindows,
  retentionMs: number,
  keySerde: Serde<unknown>,
  aggSerde: Serde<unknown>,
  init: () => unknown,
  add: (key: unknown, value: unknown, agg: unknown) => unknown,
  merge: (key: unknown, a: unknown, b: unknown) => unknown,
  late: LateRecords | undefined,
): ProcessorFactory {
  const gap = windows.gapMs;
  const grace = windows.graceMs;
  // A closed session must stay visible as long as a record on time could still reach it (within gap).
  const keepMs = Math.max(retentionMs, 2 * gap + grace);
  return (ctx) => {
    const store = ctx.task.store(storeName);
    const topic = changelogTopic(storeName);
    return {
      async process(r) {
        if (isNull(r.key) || isNull(r.value) || r.timestamp < 0) {
          ctx.task.count(DROPPED);
          return;
        }
        const now = ctx.task.streamTime;
        const ts = r.timestamp;
        const kb = keyBytesOf(keySerde, topic, r.key);
        const [from, to] = prefixRange(keyPrefix(kb));
        const overlapping: Array<{ start: number; end: number; timestamp: number; agg: unknown; key: Uint8Array }> = [];
        let mergesIntoClosed = false;
        for (const [k, v] of await store.range(from, to)) {
          const { start, end } = parseSessionKey(k);
          if (end + keepMs <= now) {
            store.put(k, null);
            continue;
          }
          if (end >= ts - gap && start <= ts + gap) {
            if (end + gap + grace <= now) mergesIntoClosed = true;
            const { timestamp, bytes } = decodeTimestamped(v);
            overlapping.push({ start, end, timestamp, agg: aggSerde.deserialize(topic, bytes), key: k });
          }
        }
        if (ts + gap + grace <= now || mergesIntoClosed) {
          dropLate(ctx.task, r, late);
          return;
        }
        let agg = init();
        let start = ts;
        let end = ts;
        let timestamp = ts;
        for (const s of overlapping) {
          agg = merge(r.key, agg, s.agg);
          start = Math.min(start, s.start);
          end = Math.max(end, s.end);
          timestamp = Math.max(timestamp, s.timestamp);
        }
        agg = add(r.key, r.value, agg);
        let previous: unknown = null;
        for (const s of overlapping) {
          if (s.start === start && s.end === end) {
            previous = s.agg;
            continue;
          }
          store.put(s.key, null);
          await ctx.forward({ key: new Windowed(r.key, new Window(s.start, s.end)), value: new Change(null, s.agg), timestamp: r.timestamp, headers: r.headers });
        }
        const bytes = aggSerde.serialize(topic, agg);
        store.put(sessionKey(kb, start, end), bytes === null ? null : encodeTimestamped(timestamp, bytes));
        await ctx.forward({ key: new Windowed(r.key, new Window(start, end)), value: new Change(agg, previous), timestamp, headers: r.headers });
      },
    };
  };
}

/**
 * Suppression until a window closes. The buffer is keyed by the window's end then the windowed key,
 * so the windows that stream time has closed are one range from the start of the store; a window's
 * entry is deleted in the same commit as its result is sent, which is what makes emission once-only
 * across restarts. A delete before the window closes just drops the pending result: the window has no
 * final result.
 */
export function suppressUntilWindowCloses(storeName: string, windowedKeySerde: Serde<unknown>, valueSerde: Serde<unknown>, closeAfterEndMs: number): ProcessorFactory {
  return (ctx) => {
    const store = ctx.task.store(storeName);
    const topic = changelogTopic(storeName);
    let scannedAt = -Infinity;
    let earliestPut = Infinity;
    return {
      async process(r) {
        const wk = r.key as Windowed<unknown>;
        const change = r.value as Change;
        const end = wk.window.end;
        // Already closed: its result was emitted (or the window never existed); an update now is late.
        if (end + closeAfterEndMs <= ctx.task.streamTime) return;
        const key = concat(u64(end), keyBytesOf(windowedKeySerde, topic, wk));
        const bytes = isNull(change.newValue) ? null : valueSerde.serialize(topic, change.newValue);
        store.put(key, bytes === null ? null : encodeTimestamped(r.timestamp, bytes));
        earliestPut = Math.min(earliestPut, end);
      },
      async onTime() {
        const now = ctx.task.streamTime;
        if (now === scannedAt && earliestPut + closeAfterEndMs > now) return;
        scannedAt = now;
        earliestPut = Infinity;
        const bound = now - closeAfterEndMs + 1;
        if (bound <= 0) return;
        for (const [k, v] of await store.range(null, u64(bound))) {
          store.put(k, null);
          const { timestamp, bytes } = decodeTimestamped(v);
          const key = windowedKeySerde.deserialize(topic, k.subarray(8));
          await ctx.forward({ key, value: new Change(valueSerde.deserialize(topic, bytes), null), timestamp, headers: [] });
        }
      },
    };
  };
}

export interface StreamJoinSide {
  side: 'this' | 'other';
  thisStore: string;
  otherStore: string;
  /** Left and outer joins: records without a match wait here until their window closes. */
  outerStore: string | null;
  keySerde: Serde<unknown>;
  thisValueSerde: Serde<unknown>;
  otherValueSerde: Serde<unknown>;
  /** The other side's records match if their time is in `[t - lookBefore, t + lookAfter]`. */
  lookBefore: number;
  lookAfter: number;
  graceMs: number;
  /** How long either side's records are kept: before + after + grace. */
  retentionMs: number;
  /** Always called as (this side's value, the other side's value): the caller orders them for the user's joiner. */
  joiner: (key: unknown, thisValue: unknown, otherValue: unknown) => unknown;
  /** Whether this side's unmatched records are emitted (with `null`) when their window closes. */
  thisOuter: boolean;
  otherOuter: boolean;
  /** The left side emits the outer store's closed records (one side must; `side` must then be `this`). */
  emitsUnmatched: boolean;
  /** Emits an unmatched record of either side. */
  unmatched: (side: 'this' | 'other', key: unknown, value: unknown) => unknown;
}

// The outer store's side byte is absolute: 0 for the join's left (`this`) stream, 1 for the right.
const SIDE_BYTE = { this: 0, other: 1 } as const;

function outerKey(closeAt: number, side: 'this' | 'other', key: Uint8Array, timestamp: number, seq: number): Uint8Array {
  return concat(u64(closeAt), Uint8Array.of(SIDE_BYTE[side]), joinKey(key, timestamp, seq));
}

/**
 * One side of a stream-stream join. Each record is buffered in this side's window store and joined
 * with the other side's buffered records in its window. For left/outer joins, a record that found no
 * match waits in a shared store keyed by the time its window closes (`t + lookAfter + grace`); a later
 * match removes it, and once stream time passes that time it is emitted with `null` (Kafka 3.x's
 * behaviour: unmatched results are not emitted eagerly). As in Kafka, an out-of-order record still
 * joins what is buffered; one older than retention (before + after + grace) is late and dropped.
 */
export function streamJoinSide(o: StreamJoinSide): ProcessorFactory {
  return (ctx: NodeContext) => {
    const thisStore = ctx.task.store(o.thisStore);
    const otherStore = ctx.task.store(o.otherStore);
    const outerStore = o.outerStore === null ? null : ctx.task.store(o.outerStore);
    const topic = changelogTopic(o.thisStore);
    const otherTopic = changelogTopic(o.otherStore);
    let seq: number | undefined;
    let scannedAt = -Infinity;
    let earliestPut = Infinity;
    const closeAt = (side: 'this' | 'other', timestamp: number) => timestamp + (side === 'this' ? o.lookAfter : o.lookBefore) + o.graceMs;
    return {
      async process(r) {
        if (isNull(r.key) || isNull(r.value)) {
          ctx.task.count(DROPPED);
          return;
        }
        const now = ctx.task.streamTime;
        // Older than retention: the other side's records it could match may be gone already.
        if (r.timestamp + o.retentionMs < now) {
          ctx.task.count(DROPPED_LATE);
          return;
        }
        if (seq === undefined) {
          const raw = await thisStore.get(META_SEQUENCE);
          seq = raw === null ? 0 : readU64(raw, 0);
        }
        const id = seq++;
        thisStore.put(META_SEQUENCE, u64(seq));
        const kb = keyBytesOf(o.keySerde, topic, r.key);
        const valueBytes = o.thisValueSerde.serialize(topic, r.value);
        if (valueBytes === null) return;
        thisStore.put(joinKey(kb, r.timestamp, id), valueBytes);
        const prefix = keyPrefix(kb);
        // Forget this key's records no record on time can match any more.
        const expiredBefore = now - o.retentionMs;
        if (expiredBefore > 0) for (const [k] of await thisStore.range(concat(prefix, u64(0)), concat(prefix, u64(expiredBefore)))) thisStore.put(k, null);
        const matches = await otherStore.range(concat(prefix, u64(r.timestamp - o.lookBefore)), concat(prefix, u64(r.timestamp + o.lookAfter + 1)));
        for (const [k, v] of matches) {
          const other = parseJoinKey(k);
          if (other.timestamp + o.retentionMs < now) continue;
          if (outerStore && o.otherOuter) outerStore.put(outerKey(closeAt('other', other.timestamp), o.side === 'this' ? 'other' : 'this', kb, other.timestamp, other.seq), null);
          const otherValue = o.otherValueSerde.deserialize(otherTopic, v);
          await ctx.forward({ key: r.key, value: o.joiner(r.key, r.value, otherValue), timestamp: Math.max(r.timestamp, other.timestamp), headers: r.headers });
        }
        if (matches.length === 0 && o.thisOuter) {
          const at = closeAt('this', r.timestamp);
          // Out of order and its window already closed: nothing on time can match it any more.
          if (at < now || !outerStore) await ctx.forward({ key: r.key, value: o.unmatched(o.side, r.key, r.value), timestamp: r.timestamp, headers: r.headers });
          else {
            outerStore.put(outerKey(at, o.side, kb, r.timestamp, id), valueBytes);
            earliestPut = Math.min(earliestPut, at);
          }
        }
      },
      ...(o.emitsUnmatched && o.outerStore !== null
        ? {
            async onTime() {
              const now = ctx.task.streamTime;
              if (now === scannedAt && earliestPut >= now) return;
              scannedAt = now;
              earliestPut = Infinity;
              if (now <= 0) return;
              for (const [k, v] of await outerStore!.range(null, u64(now))) {
                outerStore!.put(k, null);
                const side = k[8] === SIDE_BYTE.this ? 'this' : 'other';
                const { key, timestamp } = parseJoinKey(k.subarray(9));
                const value = side === 'this' ? o.thisValueSerde.deserialize(topic, v) : o.otherValueSerde.deserialize(otherTopic, v);
                const typedKey = o.keySerde.deserialize(topic, key);
                await ctx.forward({ key: typedKey, value: o.unmatched(side, typedKey, value), timestamp, headers: [] });
              }
            },
          }
        : {}),
    };
  };
}
