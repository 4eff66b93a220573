// The applications of the streams fault run, written with the DSL as users write them: the classic word
// count, and a windowed count (one-minute tumbling windows with a grace period no record of the run
// exceeds, so every record counts and each window's final count is known from the input).
import { Serdes, StreamsBuilder, TimeWindows, WindowedSerdes, type Windowed } from '../../packages/streams/src/index.ts';
import { isMetaKey, parseWindowKey } from '../../packages/streams/src/internal/stores.ts';
import type { StreamsApp } from './streams-workload.ts';

const words = (line: string) => line.split(' ').filter(Boolean);

export const WORD_COUNT: StreamsApp = {
  store: 'counts',
  topology(input, output) {
    const b = new StreamsBuilder();
    b.stream<string, string>(input)
      .flatMapValues(words)
      .groupBy((_k, w) => w)
      .count({ storeName: 'counts' })
      .toStream()
      .to(output, { valueSerde: Serdes.Long() });
    return b.build();
  },
  decodeKey: (k) => k.toString(),
  // The output is Kafka's Long; the store's table holds Kafka's timestamped layout (8-byte time first).
  decodeValue: (v) => Number(v.readBigInt64BE(v.length - 8)),
  expected(lines) {
    const m = new Map<string, number>();
    for (const l of lines) for (const w of words(l.value)) m.set(w, (m.get(w) ?? 0) + 1);
    return m;
  },
};

const MINUTE = 60_000;
const windowed = WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), MINUTE);

export const WINDOWED_COUNT: StreamsApp = {
  store: 'per-minute',
  topology(input, output) {
    const b = new StreamsBuilder();
    b.stream<string, string>(input)
      .flatMapValues(words)
      .groupBy((_k, w) => w)
      .windowedBy(TimeWindows.ofSizeAndGrace(MINUTE, 10 * MINUTE))
      .count({ storeName: 'per-minute' })
      .toStream()
      .to(output, { keySerde: windowed, valueSerde: Serdes.Long() });
    return b.build();
  },
  decodeKey(k) {
    const w = windowed.deserialize('', new Uint8Array(k)) as Windowed<string>;
    return `${w.key}@${w.window.start}`;
  },
  // The window store's own layout (key, then window start), and its stream time under a meta key.
  decodeStoreKey(k) {
    const b = new Uint8Array(k);
    if (isMetaKey(b)) return null;
    const { key, start } = parseWindowKey(b);
    return `${Buffer.from(key).toString()}@${start}`;
  },
  decodeValue: (v) => Number(v.readBigInt64BE(v.length - 8)),
  expected(lines) {
    const m = new Map<string, number>();
    for (const l of lines) {
      for (const w of words(l.value)) {
        const id = `${w}@${Math.floor(l.timestamp / MINUTE) * MINUTE}`;
        m.set(id, (m.get(id) ?? 0) + 1);
      }
    }
    return m;
  },
};
