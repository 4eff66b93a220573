// Kafka record batch, magic 2 (KIP-98), byte for byte as the Java client and broker write it:
//
// RecordBatch =>
//   baseOffset: int64            (Floe stores 0 and writes the real base offset on the fetch path)
//   batchLength: int32           (bytes after this field)
//   partitionLeaderEpoch: int32
//   magic: int8                  (= 2)
//   crc: uint32                  (CRC-32C of everything from attributes to the end)
//   attributes: int16            (bits 0-2 compression: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd;
//                                 bit 3 timestamp type: 0 CreateTime, 1 LogAppendTime;
//                                 bit 4 isTransactional; bit 5 isControl)
//   lastOffsetDelta: int32
//   baseTimestamp: int64
//   maxTimestamp: int64
//   producerId: int64
//   producerEpoch: int16
//   baseSequence: int32
//   records: [Record]            (int32 count, then the records, compressed together if compressed)
//
// Record =>
//   length: varint               (bytes after this field)
//   attributes: int8             (unused, 0)
//   timestampDelta: varlong
//   offsetDelta: varint
//   keyLength: varint            (-1 = null key)
//   key: byte[keyLength]
//   valueLength: varint          (-1 = null value: a tombstone)
//   value: byte[valueLength]
//   headers: varint count, then Header*
//
// Header =>
//   headerKeyLength: varint, headerKey: UTF-8 string, headerValueLength: varint (-1 = null), value: byte[]
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.ts';
import { LogFormatError } from './errors.ts';
import { readVarint, varintSize, writeVarint, type Cursor } from './varint.ts';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** CreateTime in ms since the epoch. */
  timestamp: number;
}

export type Compression = 'none' | 'gzip';

export interface EncodeOptions {
  baseOffset?: number;
  compression?: Compression;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: 'create' | 'log-append';
  partitionLeaderEpoch?: number;
  /**
   * Offset delta of each record (ascending), when they are not 0..n-1: compaction rewrites batches
   * whose surviving records keep their original offsets. lastOffsetDelta is the last of them.
   */
  offsetDeltas?: number[];
  /** lastOffsetDelta when it must be larger than the last record's delta (a compacted batch's end). */
  lastOffsetDelta?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchHeader {
  baseOffset: number;
  /** The batchLength field: bytes after it. */
  batchLength: number;
  /** Bytes of the whole batch, the 12-byte prefix included. */
  byteLength: number;
  partitionLeaderEpoch: number;
  crc: number;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  timestampType: 'create' | 'log-append';
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface DecodedBatch extends BatchHeader {
  lastOffset: number;
  records: DecodedRecord[];
}

/** Bytes before the records: the fixed part of a v2 batch. */
export const BATCH_HEADER_SIZE = 61;
const LOG_OVERHEAD = 12; // baseOffset + batchLength
const CRC_START = 21; // attributes
const MAGIC = 2;
const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** Kafka refuses batches over 2 GiB; anything near that here is corruption. */
const MAX_BATCH_LENGTH = 0x7fffffff - LOG_OVERHEAD;

const textEncoder = new TextEncoder();

function checkSafe(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new LogFormatError('INVALID_RECORD', `${what} must be a safe integer, got ${n}`);
}

function writeInt64(buf: Buffer, n: number, pos: number): void {
  buf.writeBigInt64BE(BigInt(n), pos);
}

function readInt64(buf: Uint8Array, pos: number): number {
  const view = buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const hi = view.readInt32BE(pos);
  const lo = view.readUInt32BE(pos + 4);
  const n = hi * 0x100000000 + lo;
  if (!Number.isSafeInteger(n)) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'int64 field is beyond 2^53');
  return n;
}

function asBuffer(b: Uint8Array): Buffer {
  return b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Encodes records as one v2 record batch. Sizes are computed first and written into one buffer. */
export function encodeRecordBatch(records: RecordInput[], options: EncodeOptions = {}): Buffer {
  const n = records.length;
  if (n === 0) throw new LogFormatError('INVALID_RECORD', 'a record batch needs at least one record');
  const deltas = options.offsetDeltas;
  if (deltas && deltas.length !== n) throw new LogFormatError('INVALID_RECORD', 'offsetDeltas must have one delta per record');
  let firstTimestamp = records[0]!.timestamp;
  let maxTimestamp = firstTimestamp;
  for (let i = 0; i < n; i++) {
    const ts = records[i]!.timestamp;
    checkSafe(ts, 'timestamp');
    if (ts > maxTimestamp) maxTimestamp = ts;
  }
  const headerKeys: Array<Uint8Array[] | undefined> = new Array(n);
  const sizes = new Int32Array(n);
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const delta = deltas ? deltas[i]! : i;
    let body = 1 + varintSize(r.timestamp - firstTimestamp) + varintSize(delta);
    body += r.key === null ? 1 : varintSize(r.key.length) + r.key.length;
    body += r.value === null ? 1 : varintSize(r.value.length) + r.value.length;
    const headers = r.headers;
    if (headers && headers.length > 0) {
      const keys: Uint8Array[] = new Array(headers.length);
      body += varintSize(headers.length);
      for (let h = 0; h < headers.length; h++) {
        const hdr = headers[h]!;
        const k = textEncoder.encode(hdr.key);
        keys[h] = k;
        body += varintSize(k.length) + k.length;
        body += hdr.value === null ? 1 : varintSize(hdr.value.length) + hdr.value.length;
      }
      headerKeys[i] = keys;
    } else {
      body += 1;
    }
    sizes[i] = body;
    recordsSize += varintSize(body) + body;
  }

  const compression = options.compression ?? 'none';
  let out: Buffer;
  let recordsBuf: Buffer;
  let recordsPos: number;
  if (compression === 'none') {
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + recordsSize);
    recordsBuf = out;
    recordsPos = BATCH_HEADER_SIZE;
  } else {
    out = Buffer.alloc(0);
    recordsBuf = Buffer.allocUnsafe(recordsSize);
    recordsPos = 0;
  }
  let pos = recordsPos;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    pos = writeVarint(recordsBuf, pos, sizes[i]!);
    recordsBuf[pos++] = 0;
    pos = writeVarint(recordsBuf, pos, r.timestamp - firstTimestamp);
    pos = writeVarint(recordsBuf, pos, deltas ? deltas[i]! : i);
    if (r.key === null) pos = writeVarint(recordsBuf, pos, -1);
    else {
      pos = writeVarint(recordsBuf, pos, r.key.length);
      recordsBuf.set(r.key, pos);
      pos += r.key.length;
    }
    if (r.value === null) pos = writeVarint(recordsBuf, pos, -1);
    else {
      pos = writeVarint(recordsBuf, pos, r.value.length);
      recordsBuf.set(r.value, pos);
      pos += r.value.length;
    }
    const headers = r.headers;
    if (headers && headers.length > 0) {
      const keys = headerKeys[i]!;
      pos = writeVarint(recordsBuf, pos, headers.length);
      for (let h = 0; h < headers.length; h++) {
        const k = keys[h]!;
        pos = writeVarint(recordsBuf, pos, k.length);
        recordsBuf.set(k, pos);
        pos += k.length;
        const v = headers[h]!.value;
        if (v === null) pos = writeVarint(recordsBuf, pos, -1);
        else {
          pos = writeVarint(recordsBuf, pos, v.length);
          recordsBuf.set(v, pos);
          pos += v.length;
        }
      }
    } else {
      recordsBuf[pos++] = 0;
    }
  }
  if (compression === 'gzip') {
    const compressed = gzipSync(recordsBuf);
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
    compressed.copy(out, BATCH_HEADER_SIZE);
  } else if (compression !== 'none') {
    throw new LogFormatError('UNSUPPORTED_COMPRESSION', `compression ${String(compression)} is not supported`);
  }

  const baseOffset = options.baseOffset ?? 0;
  const producerId = options.producerId ?? -1;
  checkSafe(baseOffset, 'baseOffset');
  checkSafe(producerId, 'producerId');
  const lastOffsetDelta = options.lastOffsetDelta ?? (deltas ? deltas[n - 1]! : n - 1);
  let attributes = compression === 'gzip' ? 1 : 0;
  if (options.timestampType === 'log-append') attributes |= 0x08;
  if (options.isTransactional) attributes |= 0x10;
  if (options.isControl) attributes |= 0x20;

  writeInt64(out, baseOffset, 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  out.writeInt8(MAGIC, 16);
  out.writeInt16BE(attributes, 21);
  out.writeInt32BE(lastOffsetDelta, 23);
  writeInt64(out, firstTimestamp, 27);
  writeInt64(out, maxTimestamp, 35);
  writeInt64(out, producerId, 43);
  out.writeInt16BE(options.producerEpoch ?? -1, 51);
  out.writeInt32BE(options.baseSequence ?? -1, 53);
  out.writeInt32BE(n, 57);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length), 17);
  return out;
}

/**
 * A batch with no records that still spans offsets 0..lastOffsetDelta (base offset 0, written on fetch).
 * Kafka's log cleaner keeps such empty batches too: when compaction removes every record of a run of
 * batches, the index keeps an entry for the run's offsets, so the entries always tile the log and a
 * hole in them can only mean a reader raced a rewrite.
 */
export function encodeEmptyRecordBatch(lastOffsetDelta: number, timestamp: number): Buffer {
  checkSafe(timestamp, 'timestamp');
  if (!Number.isInteger(lastOffsetDelta) || lastOffsetDelta < 0 || lastOffsetDelta > 0x7fffffff) {
    throw new LogFormatError('INVALID_RECORD', `lastOffsetDelta must be a non-negative 32-bit integer, got ${lastOffsetDelta}`);
  }
  const out = Buffer.alloc(BATCH_HEADER_SIZE);
  writeInt64(out, 0, 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt32BE(-1, 12);
  out.writeInt8(MAGIC, 16);
  out.writeInt16BE(0, 21);
  out.writeInt32BE(lastOffsetDelta, 23);
  writeInt64(out, timestamp, 27);
  writeInt64(out, timestamp, 35);
  writeInt64(out, -1, 43);
  out.writeInt16BE(-1, 51);
  out.writeInt32BE(-1, 53);
  out.writeInt32BE(0, 57);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length), 17);
  return out;
}

/** Reads a batch's fixed header without touching its records (no CRC check). */
export function readBatchHeader(input: Uint8Array, position = 0): BatchHeader {
  const buf = asBuffer(input);
  if (position < 0 || buf.length - position < BATCH_HEADER_SIZE) {
    throw new LogFormatError('CORRUPT_RECORD_BATCH', `truncated record batch: ${buf.length - position} bytes, a header needs ${BATCH_HEADER_SIZE}`);
  }
  const magic = buf.readInt8(position + 16);
  if (magic !== MAGIC) throw new LogFormatError('CORRUPT_RECORD_BATCH', `unsupported record batch magic ${magic}, expected 2`);
  const batchLength = buf.readInt32BE(position + 8);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD || batchLength > MAX_BATCH_LENGTH) {
    throw new LogFormatError('CORRUPT_RECORD_BATCH', `record batch length ${batchLength} is out of range`);
  }
  const attributes = buf.readInt16BE(position + 21);
  const codec = attributes & 0x07;
  const compression = COMPRESSION_NAMES[codec];
  if (!compression) throw new LogFormatError('CORRUPT_RECORD_BATCH', `unknown compression codec ${codec}`);
  return {
    baseOffset: readInt64(buf, position),
    batchLength,
    byteLength: batchLength + LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(position + 12),
    crc: buf.readUInt32BE(position + 17),
    compression,
    timestampType: attributes & 0x08 ? 'log-append' : 'create',
    isTransactional: (attributes & 0x10) !== 0,
    isControl: (attributes & 0x20) !== 0,
    lastOffsetDelta: buf.readInt32BE(position + 23),
    firstTimestamp: readInt64(buf, position + 27),
    maxTimestamp: readInt64(buf, position + 35),
    producerId: readInt64(buf, position + 43),
    producerEpoch: buf.readInt16BE(position + 51),
    baseSequence: buf.readInt32BE(position + 53),
    recordCount: buf.readInt32BE(position + 57),
  };
}

/** Decodes the batch at `position`, checking its CRC unless told not to. */
export function decodeRecordBatch(input: Uint8Array, position = 0, options: { verifyCrc?: boolean; baseOffset?: number } = {}): DecodedBatch {
  const buf = asBuffer(input);
  const header = readBatchHeader(buf, position);
  // The real base offset, where the stored bytes hold another (Floe stores 0): read as if written there,
  // so a reader need not copy the bytes to write it in (the CRC does not cover it).
  if (options.baseOffset !== undefined) {
    checkSafe(options.baseOffset, 'baseOffset');
    header.baseOffset = options.baseOffset;
  }
  const end = position + header.byteLength;
  if (end > buf.length) {
    throw new LogFormatError('CORRUPT_RECORD_BATCH', `truncated record batch: needs ${header.byteLength} bytes, ${buf.length - position} there`);
  }
  if (options.verifyCrc !== false) {
    const actual = crc32c(buf, position + CRC_START, end);
    if (actual !== header.crc) throw new LogFormatError('CRC_MISMATCH', `record batch CRC mismatch: stored ${header.crc}, computed ${actual}`);
  }
  const count = header.recordCount;
  if (count < 0) throw new LogFormatError('CORRUPT_RECORD_BATCH', `negative record count ${count}`);
  let data: Buffer;
  let pos: number;
  let dataEnd: number;
  if (header.compression === 'none') {
    data = buf;
    pos = position + BATCH_HEADER_SIZE;
    dataEnd = end;
  } else if (header.compression === 'gzip') {
    try {
      data = gunzipSync(buf.subarray(position + BATCH_HEADER_SIZE, end));
    } catch (e) {
      throw new LogFormatError('CORRUPT_RECORD_BATCH', `gzip data of the batch is corrupt: ${(e as Error).message}`);
    }
    pos = 0;
    dataEnd = data.length;
  } else {
    throw new LogFormatError('UNSUPPORTED_COMPRESSION', `record batch uses ${header.compression} compression, which Floe does not decode`);
  }
  // Each record takes at least 7 bytes: a count beyond what the bytes can hold is corruption.
  if (count > (dataEnd - pos) / 7 + 1) throw new LogFormatError('CORRUPT_RECORD_BATCH', `record count ${count} does not fit in the batch`);
  const records: DecodedRecord[] = new Array(count);
  const cur: Cursor = { pos };
  const seenKeys: SeenHeaderKeys = { start: [], length: [], key: [] };
  for (let i = 0; i < count; i++) {
    const length = readVarint(data, cur, dataEnd);
    const recordEnd = cur.pos + length;
    if (length < 6 || recordEnd > dataEnd) throw new LogFormatError('CORRUPT_RECORD_BATCH', `record ${i} length ${length} is out of range`);
    cur.pos++; // attributes
    const timestamp = header.firstTimestamp + readVarint(data, cur, recordEnd);
    const offset = header.baseOffset + readVarint(data, cur, recordEnd);
    const key = readBytes(data, cur, recordEnd, 'key');
    const value = readBytes(data, cur, recordEnd, 'value');
    const headerCount = readVarint(data, cur, recordEnd);
    if (headerCount < 0 || headerCount > recordEnd - cur.pos) throw new LogFormatError('CORRUPT_RECORD_BATCH', `record ${i} header count ${headerCount} is out of range`);
    const headers: RecordHeader[] = new Array(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const key = readHeaderKey(data, cur, recordEnd, h, seenKeys);
      headers[h] = { key, value: readBytes(data, cur, recordEnd, 'header value') };
    }
    if (cur.pos !== recordEnd) throw new LogFormatError('CORRUPT_RECORD_BATCH', `record ${i} length does not match its fields`);
    records[i] = { offset, timestamp, key, value, headers };
  }
  if (cur.pos !== dataEnd) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'trailing bytes after the last record');
  return { ...header, lastOffset: header.baseOffset + header.lastOffsetDelta, records };
}

/** Where the previous record's header keys lie in the data, by header index, and their strings. */
interface SeenHeaderKeys {
  start: number[];
  length: number[];
  key: string[];
}

/**
 * Records of one batch mostly carry the same header keys in the same order, so a key whose bytes
 * equal those of the key at the same index in the record before reuses its string: decoding UTF-8
 * into a new string per header was a tenth of a decode.
 */
function readHeaderKey(data: Buffer, cur: Cursor, end: number, index: number, seen: SeenHeaderKeys): string {
  const len = readVarint(data, cur, end);
  if (len === -1) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'null header key');
  if (len < -1 || cur.pos + len > end) throw new LogFormatError('CORRUPT_RECORD_BATCH', `header key length ${len} is out of range`);
  const start = cur.pos;
  cur.pos += len;
  const before = seen.start[index];
  if (before !== undefined && seen.length[index] === len) {
    let i = 0;
    while (i < len && data[before + i] === data[start + i]) i++;
    if (i === len) return seen.key[index]!;
  }
  const key = data.toString('utf8', start, start + len);
  seen.start[index] = start;
  seen.length[index] = len;
  seen.key[index] = key;
  return key;
}

function readBytes(data: Buffer, cur: Cursor, end: number, what: string): Buffer | null {
  const len = readVarint(data, cur, end);
  if (len === -1) return null;
  if (len < -1 || cur.pos + len > end) throw new LogFormatError('CORRUPT_RECORD_BATCH', `${what} length ${len} is out of range`);
  const out = data.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return out;
}

/** Decodes consecutive batches filling the whole buffer. */
export function decodeRecordBatches(input: Uint8Array, options: { verifyCrc?: boolean } = {}): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos < input.length) {
    const batch = decodeRecordBatch(input, pos, options);
    out.push(batch);
    pos += batch.byteLength;
  }
  return out;
}

/** Writes a batch's base offset in place. Kafka's CRC does not cover it, so the batch stays valid. */
export function setBaseOffset(input: Uint8Array, baseOffset: number, position = 0): void {
  checkSafe(baseOffset, 'baseOffset');
  writeInt64(asBuffer(input), baseOffset, position);
}
