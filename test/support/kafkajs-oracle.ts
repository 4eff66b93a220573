// kafkajs as an independent implementation of the record batch format and the Java partitioner, for
// tests and the benchmark only (a devDependency). Its internal modules are CommonJS without types.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkajsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

interface KafkajsBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  records: KafkajsRecord[];
}

type Encoder = { buffer: Buffer };

const RecordBatch = require('kafkajs/src/protocol/recordBatch/v0').RecordBatch as (args: Record<string, unknown>) => Promise<Encoder>;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (args: Record<string, unknown>) => Encoder;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<KafkajsBatch>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => unknown;
const { Types: CompressionTypes } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number; GZIP: number } };
const crc32CModule = require('kafkajs/src/protocol/recordBatch/crc32C') as (buf: Buffer) => number;
const { Partitioners } = require('kafkajs') as { Partitioners: { DefaultPartitioner: () => (args: { topic: string; partitionMetadata: Array<{ partitionId: number }>; message: { key: Buffer | null } }) => number } };

export interface OracleRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** kafkajs keeps headers as an object: keys must be unique here. */
  headers?: Record<string, Buffer>;
  timestamp: number;
}

/** kafkajs's encoding of the records as one batch (base offset 0). */
export async function kafkajsEncode(records: OracleRecord[], compression: 'none' | 'gzip' = 'none'): Promise<Buffer> {
  const first = records[0]!.timestamp;
  const encoded = records.map((r, i) => Record({ offsetDelta: i, timestampDelta: r.timestamp - first, key: r.key, value: r.value, headers: r.headers ?? {} }));
  const batch = await RecordBatch({
    compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    firstTimestamp: first,
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    lastOffsetDelta: records.length - 1,
    partitionLeaderEpoch: -1,
    producerEpoch: -1,
    firstSequence: -1,
    records: encoded,
  });
  return batch.buffer;
}

/** kafkajs's decoding of one batch. */
export async function kafkajsDecode(bytes: Buffer): Promise<KafkajsBatch> {
  return decodeBatch(new Decoder(bytes));
}

/** kafkajs's default partitioner (the Java client's murmur2 one). */
export function kafkajsPartition(key: Buffer, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({ topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, p) => ({ partitionId: p })), message: { key } });
}

/** kafkajs's CRC-32C (unsigned). */
export function kafkajsCrc32c(buf: Buffer): number {
  return crc32CModule(buf) >>> 0;
}
