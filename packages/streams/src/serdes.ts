// Serdes turn typed keys and values into the bytes that cross the task seam (topics and stores).
// `null` always maps to `null` both ways, so tombstones survive every serde; formats follow Kafka's
// serdes where Kafka has one, so topics stay readable by Java clients.

import { concat, fromUtf8, i64, readI64, utf8 } from './internal/bytes.ts';

/**
 * Writes and reads one type as bytes. `topic` is the topic (or a store's changelog) the bytes are for.
 * `null` maps to `null` in both directions.
 *
 * @example
 * const upper: Serde<string> = {
 *   serialize: (_topic, s) => (s === null ? null : new TextEncoder().encode(s.toUpperCase())),
 *   deserialize: (_topic, b) => (b === null ? null : new TextDecoder().decode(b)) as string,
 * };
 */
export interface Serde<T> {
  serialize(topic: string, data: T): Uint8Array | null;
  deserialize(topic: string, data: Uint8Array | null): T;
}

function isNull(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

function wrongType(serde: string, expected: string, data: unknown): never {
  throw new TypeError(`${serde} cannot write a ${typeof data} (it writes ${expected}): give the operator a serde for this type (Consumed, Produced, Grouped or Materialized)`);
}

const stringSerde: Serde<string> = {
  serialize(_topic, data) {
    if (isNull(data)) return null;
    if (typeof data !== 'string') wrongType('Serdes.String()', 'strings', data);
    return utf8(data);
  },
  deserialize(_topic, data) {
    return (data === null ? null : fromUtf8(data)) as string;
  },
};

const bytesSerde: Serde<Uint8Array> = {
  serialize(_topic, data) {
    if (isNull(data)) return null;
    if (!(data instanceof Uint8Array)) wrongType('Serdes.Bytes()', 'Uint8Array', data);
    return data;
  },
  deserialize(_topic, data) {
    return data as Uint8Array;
  },
};

const longSerde: Serde<number> = {
  serialize(_topic, data) {
    if (isNull(data)) return null;
    if (typeof data !== 'number' || !Number.isInteger(data)) wrongType('Serdes.Long()', 'integers', data);
    return i64(data);
  },
  deserialize(topic, data) {
    if (data === null) return null as unknown as number;
    if (data.length !== 8) throw new TypeError(`Serdes.Long() needs 8 bytes, got ${data.length} (topic ${topic})`);
    return readI64(data, 0);
  },
};

const integerSerde: Serde<number> = {
  serialize(_topic, data) {
    if (isNull(data)) return null;
    if (typeof data !== 'number' || !Number.isInteger(data)) wrongType('Serdes.Integer()', 'integers', data);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, data);
    return b;
  },
  deserialize(topic, data) {
    if (data === null) return null as unknown as number;
    if (data.length !== 4) throw new TypeError(`Serdes.Integer() needs 4 bytes, got ${data.length} (topic ${topic})`);
    return new DataView(data.buffer, data.byteOffset, 4).getInt32(0);
  },
};

const doubleSerde: Serde<number> = {
  serialize(_topic, data) {
    if (isNull(data)) return null;
    if (typeof data !== 'number') wrongType('Serdes.Double()', 'numbers', data);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, data);
    return b;
  },
  deserialize(topic, data) {
    if (data === null) return null as unknown as number;
    if (data.length !== 8) throw new TypeError(`Serdes.Double() needs 8 bytes, got ${data.length} (topic ${topic})`);
    return new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);
  },
};

/**
 * The built-in serdes. `Long`, `Integer` and `Double` are Kafka's big-endian formats, so a Java
 * consumer with `LongDeserializer` reads what `count()` writes.
 *
 * @example
 * builder.stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.Json<{ n: number }>() });
 */
export class Serdes {
  private constructor() {}

  /** UTF-8 text. */
  static String(): Serde<string> {
    return stringSerde;
  }

  /** JSON as UTF-8 text; `T` is trusted, not checked. */
  static Json<T>(): Serde<T> {
    return {
      serialize(_topic, data) {
        if (isNull(data)) return null;
        const text = JSON.stringify(data);
        return text === undefined ? null : utf8(text);
      },
      deserialize(_topic, data) {
        return (data === null ? null : JSON.parse(fromUtf8(data))) as T;
      },
    };
  }

  /** The bytes as they are. */
  static Bytes(): Serde<Uint8Array> {
    return bytesSerde;
  }

  /** An integer as 8 bytes, big-endian two's complement (Kafka's `LongSerde`); exact up to 2^53. */
  static Long(): Serde<number> {
    return longSerde;
  }

  /** An integer as 4 bytes, big-endian two's complement (Kafka's `IntegerSerde`). */
  static Integer(): Serde<number> {
    return integerSerde;
  }

  /** A number as an 8-byte IEEE 754 double, big-endian (Kafka's `DoubleSerde`). */
  static Double(): Serde<number> {
    return doubleSerde;
  }
}

/**
 * A window's bounds in milliseconds: time windows are `[start, end)`, session windows `[start, end]`
 * (a session's end is its last record's timestamp).
 *
 * @example
 * const w = new Window(0, 60_000); // the first minute of the epoch
 */
export class Window {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  toString(): string {
    return `Window{start=${this.start}, end=${this.end}}`;
  }
}

/**
 * The key of a windowed aggregation's result: the record key and the window it was aggregated in.
 *
 * @example
 * counts.toStream().foreach((wk, n) => console.log(wk.key, wk.window.start, wk.window.end, n));
 */
export class Windowed<K> {
  constructor(
    readonly key: K,
    readonly window: Window,
  ) {}

  toString(): string {
    return `[${String(this.key)}@${this.window.start}/${this.window.end}]`;
  }
}

function innerKey<K>(inner: Serde<K>, topic: string, key: K): Uint8Array {
  const bytes = inner.serialize(topic, key);
  if (bytes === null) throw new TypeError('a windowed key needs a key that does not serialize to null');
  return bytes;
}

/**
 * Serdes for windowed keys, in Kafka's formats: a time-windowed key is the key's bytes then the
 * window start (8 bytes, big-endian); a session-windowed key is the key's bytes, then the end, then
 * the start.
 *
 * @example
 * counts.toStream().to('counts', Produced.with(WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), 60_000), Serdes.Long()));
 */
export class WindowedSerdes {
  private constructor() {}

  /** Time windows of `windowSize` ms: the end is not written, it is `start + windowSize`. */
  static timeWindowedSerdeFrom<K>(inner: Serde<K>, windowSize: number): Serde<Windowed<K>> {
    return {
      serialize(topic, data) {
        if (isNull(data)) return null;
        return concat(innerKey(inner, topic, data.key), i64(data.window.start));
      },
      deserialize(topic, data) {
        if (data === null) return null as unknown as Windowed<K>;
        const start = readI64(data, data.length - 8);
        return new Windowed(inner.deserialize(topic, data.subarray(0, data.length - 8)), new Window(start, start + windowSize));
      },
    };
  }

  /** Session windows: both bounds are written. */
  static sessionWindowedSerdeFrom<K>(inner: Serde<K>): Serde<Windowed<K>> {
    return {
      serialize(topic, data) {
        if (isNull(data)) return null;
        return concat(innerKey(inner, topic, data.key), i64(data.window.end), i64(data.window.start));
      },
      deserialize(topic, data) {
        if (data === null) return null as unknown as Windowed<K>;
        const end = readI64(data, data.length - 16);
        const start = readI64(data, data.length - 8);
        return new Windowed(inner.deserialize(topic, data.subarray(0, data.length - 16)), new Window(start, end));
      },
    };
  }
}
