// The produce path's request and answer shapes, shared by its modules and the API.
import type { RecordHeader } from '../log/index.ts';
import type { FloeError } from '../errors.ts';

export interface ProduceRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Target partition; when absent the partitioner chooses. */
  partition?: number;
  /** CreateTime in ms; defaults to now. Ignored under message.timestamp.type=LogAppendTime. */
  timestamp?: number;
}

export interface ProducedRecord {
  partition: number;
  offset: number;
  timestamp: number;
}

export interface FailedRecord {
  partition: number;
  error: FloeError;
}

export interface ProduceResult {
  topic: string;
  /** One per request record, in request order. */
  records: Array<ProducedRecord | FailedRecord>;
  /** DynamoDB transactions the commit took: more than one when the request touched too many partitions. */
  transactions: number;
  objectKey: string;
}

export interface IdempotentProducer {
  /** From LogAppender.allocateProducerId(). */
  id: number;
  /** A producer that restarts bumps its epoch; requests of an older epoch are fenced. */
  epoch: number;
  /** One per request, increasing; a retry of a request sends the same sequence. */
  sequence: number;
}

export interface ProduceOptions {
  /** Sends every record without its own partition here. */
  partition?: number;
  /** Makes the request idempotent: a retry with the same sequence gets the first attempt's offsets. */
  producer?: IdempotentProducer;
  /** Encodes transactional batches (the producer's transaction stages them; see src/transactions/). */
  transactional?: boolean;
}

/** One record batch of the request, encoded, with where it sits in the request's object. */
export interface PlannedBatch {
  partition: number;
  /** Indexes into the request's records. */
  recordIndexes: number[];
  bytes: Buffer;
  position: number;
  firstTimestamp: number;
  maxTimestamp: number;
  timestamps: number[];
  /** Set when the batch sits in another object than the one its commit names (a transaction's roll-forward). */
  objectKey?: string;
  /** Its byte length there, when `bytes` is not at hand. */
  length?: number;
  /** A transactional batch (flag set in its header); a control batch is Kafka's commit or abort marker. */
  transactional?: boolean;
  control?: boolean;
}

/** A batch's length in its object. */
export function batchLength(b: PlannedBatch): number {
  return b.length ?? b.bytes.length;
}
