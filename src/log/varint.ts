// Zig-zag varints as Kafka's record format uses them (protobuf's encoding). Values are JS numbers:
// 32-bit ones take the bitwise fast path, 64-bit ones (timestamp deltas) stay exact up to 2^53.
import { LogFormatError } from './errors.ts';

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Bytes a signed varint (or varlong) takes. */
export function varintSize(n: number): number {
  let u = zigzag(n);
  let size = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    size++;
  }
  return size;
}

/** Writes a signed varint at pos; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let u = zigzag(n);
  if (u < 0x10000000) {
    // Fits 28 bits: bitwise is safe and fast.
    while (u >= 0x80) {
      buf[pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    buf[pos++] = u;
    return pos;
  }
  while (u >= 128) {
    buf[pos++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[pos++] = u;
  return pos;
}

/** A decoded varint and the position after it. Reused by the decoder to avoid allocations. */
export interface Cursor {
  pos: number;
}

/** Reads a signed varint (at most 10 bytes) at cursor.pos and advances it. */
export function readVarint(buf: Uint8Array, cursor: Cursor, end: number): number {
  let pos = cursor.pos;
  let b = pos < end ? buf[pos++]! : -1;
  if (b < 0) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'varint runs past the end of the batch');
  if (b < 0x80) {
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let u = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'varint runs past the end of the batch');
    b = buf[pos++]!;
    u += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (u > Number.MAX_SAFE_INTEGER) throw new LogFormatError('CORRUPT_RECORD_BATCH', 'varint is larger than 2^53');
      cursor.pos = pos;
      return unzigzag(u);
    }
    mul *= 128;
  }
  throw new LogFormatError('CORRUPT_RECORD_BATCH', 'varint longer than 10 bytes');
}
