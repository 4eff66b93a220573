// Layouts of the DSL's stores over the byte-keyed StateStore.
//   table (kv):      key = the key's bytes                         value = timestamp (8, signed) + value bytes
//   time windows:    key = len(4) + key + start(8)                 value = timestamp + aggregate bytes
//   sessions:        key = len(4) + key + end(8) + start(8)        value = timestamp + aggregate bytes
//   join buffers:    key = len(4) + key + timestamp(8) + seq(8)    value = value bytes
// The length prefix keeps one key's entries contiguous and apart from every other key's, so `range`
// over the prefix finds exactly that key's windows, in start (or end) order. Stores that keep a copy
// of the task's stream time keep it under META_STREAM_TIME: two bytes starting 0xff, which sort after
// every structured key (they all start with a small big-endian number) and are never the length of one.

import type { Serde } from '../serdes.ts';
import type { StateStore } from '../task.ts';
import { StreamsException } from '../errors.ts';
import { concat, i64, prefixEnd, readI64, readU32, readU64, u32, u64 } from './bytes.ts';

export const META_STREAM_TIME = Uint8Array.of(0xff, 0x00);
export const META_SEQUENCE = Uint8Array.of(0xff, 0x01);

export function isMetaKey(key: Uint8Array): boolean {
  return key.length === 2 && key[0] === 0xff;
}

/** The topic name serdes see for a store's bytes, as Kafka gives store serdes the changelog's name. */
export function changelogTopic(store: string): string {
  return `${store}-changelog`;
}

export function encodeTimestamped(timestamp: number, bytes: Uint8Array): Uint8Array {
  return concat(i64(timestamp), bytes);
}

export function decodeTimestamped(b: Uint8Array): { timestamp: number; bytes: Uint8Array } {
  return { timestamp: readI64(b, 0), bytes: b.subarray(8) };
}

export function keyBytesOf(serde: Serde<unknown>, topic: string, key: unknown): Uint8Array {
  const bytes = serde.serialize(topic, key);
  if (bytes === null) throw new StreamsException(`a key serialized to null for ${topic}: keys of stores must not be null`);
  return bytes;
}

export function keyPrefix(key: Uint8Array): Uint8Array {
  return concat(u32(key.length), key);
}

/** `[from, to)` covering every entry of one key. */
export function prefixRange(prefix: Uint8Array): [Uint8Array, Uint8Array | null] {
  return [prefix, prefixEnd(prefix)];
}

export function windowKey(key: Uint8Array, start: number): Uint8Array {
  return concat(keyPrefix(key), u64(start));
}

export function parseWindowKey(b: Uint8Array): { key: Uint8Array; start: number } {
  const len = readU32(b, 0);
  return { key: b.subarray(4, 4 + len), start: readU64(b, 4 + len) };
}

export function sessionKey(key: Uint8Array, start: number, end: number): Uint8Array {
  return concat(keyPrefix(key), u64(end), u64(start));
}

export function parseSessionKey(b: Uint8Array): { key: Uint8Array; start: number; end: number } {
  const len = readU32(b, 0);
  return { key: b.subarray(4, 4 + len), end: readU64(b, 4 + len), start: readU64(b, 12 + len) };
}

export function joinKey(key: Uint8Array, timestamp: number, seq: number): Uint8Array {
  return concat(keyPrefix(key), u64(timestamp), u64(seq));
}

export function parseJoinKey(b: Uint8Array): { key: Uint8Array; timestamp: number; seq: number } {
  const len = readU32(b, 0);
  return { key: b.subarray(4, 4 + len), timestamp: readU64(b, 4 + len), seq: readU64(b, 12 + len) };
}

/** A table store read and written typed. */
export class KeyValueView {
  private readonly topic: string;

  constructor(
    private readonly store: StateStore,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
  ) {
    this.topic = changelogTopic(store.name);
  }

  keyBytes(key: unknown): Uint8Array {
    return keyBytesOf(this.keySerde, this.topic, key);
  }

  async get(key: unknown): Promise<{ value: unknown; timestamp: number } | null> {
    const raw = await this.store.get(this.keyBytes(key));
    if (raw === null) return null;
    const { timestamp, bytes } = decodeTimestamped(raw);
    return { value: this.valueSerde.deserialize(this.topic, bytes), timestamp };
  }

  /** `null` (or a value its serde writes as `null`) deletes. */
  put(key: unknown, value: unknown, timestamp: number): void {
    const bytes = value === null || value === undefined ? null : this.valueSerde.serialize(this.topic, value);
    this.store.put(this.keyBytes(key), bytes === null ? null : encodeTimestamped(timestamp, bytes));
  }
}
