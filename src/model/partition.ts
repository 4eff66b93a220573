// A partition's state as every layer sees it: the head (Kafka's log end and log start offsets) and the
// entries of its batch index. Plain types, no behaviour: storage reads and writes them, produce, fetch
// and the jobs reason about them.

/**
 * One offset range handed out by the head and not yet under the high watermark: its size, when it was
 * handed out (ms, the allocating process's clock), and a tag the allocating writer chose, so that it can
 * tell its own ranges from others' (an allocation retried after a lost answer is applied twice).
 */
export interface Allocation {
  count: number;
  at: number;
  tag: string;
}

export interface PartitionHead {
  /**
   * The high watermark (= log end offset): every offset below it is committed, in an index entry that
   * holds records or an empty batch. Readers see exactly this prefix.
   */
  highWatermark: number;
  /** The next offset to hand out: offsets from the high watermark up to here are allocated, in flight. */
  allocatedEnd: number;
  /** The ranges in flight, in offset order, the first starting at the high watermark. */
  allocations: Allocation[];
  /** The topic was deleted: no more allocations. */
  gone: boolean;
  /** The first offset retention has not removed. */
  logStartOffset: number;
  /** Bytes of record batches in the log. */
  bytes: number;
  /** Largest record timestamp appended so far; index entries carry it so time lookups are a query. */
  maxTimestamp: number;
  /** When the last batch was committed (ms). */
  lastAppendTime: number;
  /** False when no batch was ever committed: the head item does not exist yet. */
  exists: boolean;
}

export const EMPTY_HEAD: PartitionHead = { highWatermark: 0, allocatedEnd: 0, allocations: [], gone: false, logStartOffset: 0, bytes: 0, maxTimestamp: -1, lastAppendTime: 0, exists: false };

/** Where one record batch lives and what it holds: (topic, partition, base offset) in the index. */
export interface IndexEntry {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  objectKey: string;
  position: number;
  length: number;
  firstTimestamp: number;
  maxTimestamp: number;
  /** Running maximum of maxTimestamp over the partition up to this batch: monotonic, so it can be indexed. */
  timeIndex: number;
  appendTime: number;
  isControl: boolean;
  isTransactional: boolean;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /**
   * The key (base offset) was once given up with an empty batch (a hole filled): rewrites keep this key,
   * so the entry of a writer that was too slow, which needs exactly this key free, can never land here.
   */
  pinned?: boolean;
  /**
   * Left out of the time index (its timeIndex is stored all the same): the index needs only enough
   * entries for a lookup to land close to its answer and read the rest by offset (LogTable
   * firstBatchAtOrAfterTime), and each entry it holds costs a write unit more.
   */
  untimed?: boolean;
}
