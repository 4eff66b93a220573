// The Java client's partitioners, shared by the engine (server-side partitioning) and the client
// (client-side batching): murmur2 of the key bytes for keyed records, and the sticky choice for keyless
// ones. Pure, no dependencies: the same key lands on the same partition whichever side chooses.

/** murmur2 (seed 0x9747b28c) as org.apache.kafka.common.utils.Utils.murmur2 computes it, as a signed int32. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length4 * 4;
  const rest = length % 4;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** `(murmur2(key) & 0x7fffffff) % partitions`, the Java client's choice for a keyed record. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

/**
 * Kafka's sticky partitioner for keyless records: every keyless record of one batch goes to the same
 * partition, and the next batch moves on, so batches stay large and partitions even out over time.
 *
 * @example
 * const sticky = new StickyPartitioner();
 * const p = sticky.partition(8); // the same until sticky.nextBatch()
 */
export class StickyPartitioner {
  private current: number | undefined;
  private counter: number;

  constructor(start = Math.floor(Math.random() * 1_000_000)) {
    this.counter = start;
  }

  /** The partition for a keyless record of the batch being filled. */
  partition(partitionCount: number): number {
    this.current ??= this.counter++ % partitionCount;
    return this.current % partitionCount;
  }

  /** The batch was sent: the next keyless record starts a new one, on the next partition. */
  nextBatch(): void {
    this.current = undefined;
  }
}
