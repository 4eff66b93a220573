export { crc32c } from './crc32c.ts';
export { LogFormatError, type LogFormatErrorCode } from './errors.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
export {
  BATCH_HEADER_SIZE,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeEmptyRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  setBaseOffset,
  type BatchHeader,
  type Compression,
  type DecodedBatch,
  type DecodedRecord,
  type EncodeOptions,
  type RecordHeader,
  type RecordInput,
} from './record-batch.ts';
