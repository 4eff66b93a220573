// A partition's state as every layer sees it: the head (Kafka's log end and log start offsets) and the
// entries of its batch index. Plain types, no behaviour: storage reads and writes them, produce, fetch
// and the jobs reason about them.

export interface PartitionHead {
  /** The next offset to assign: the high watermark (= log end offset). */
  highWatermark: number;
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

export const EMPTY_HEAD: PartitionHead = { highWatermark: 0, logStartOffset: 0, bytes: 0, maxTimestamp: -1, lastAppendTime: 0, exists: false };

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
}
