// Byte helpers for store keys and the DSL's internal record formats. Stores order keys byte-wise
// (unsigned), so numbers inside keys are big-endian and non-negative, and variable-length parts are
// length-prefixed: one key's entries then stay contiguous whatever the other keys are.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

export function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
}

/** Unsigned big-endian; negative numbers clamp to 0 (they only appear as range bounds, where 0 is the floor). */
export function u64(n: number): Uint8Array {
  const v = n < 0 ? 0 : Math.floor(n);
  const b = new Uint8Array(8);
  const view = new DataView(b.buffer);
  view.setUint32(0, Math.floor(v / 2 ** 32));
  view.setUint32(4, v % 2 ** 32);
  return b;
}

export function readU64(b: Uint8Array, at: number): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}

/** Signed big-endian, as Kafka writes longs. */
export function i64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(Math.trunc(n)));
  return b;
}

export function readI64(b: Uint8Array, at: number): number {
  return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigInt64(at));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** The smallest key greater than every key that starts with `prefix` (`null`: no bound, the prefix is all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! !== 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return null;
}

/** Lowercase hex: its string order is the bytes' order, which the in-memory store relies on. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return b;
}
