// Byte helpers of the runtime: keys as map keys, byte order, and the API's base64.

/** A stable map key for bytes (hex keeps byte order, so sorting hex sorts the bytes). */
export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

export function b64(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function unb64(s: string | null | undefined): Uint8Array | null {
  return s === null || s === undefined ? null : new Uint8Array(Buffer.from(s, 'base64'));
}

/** Unsigned byte-wise order, as DynamoDB orders binary sort keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function inRange(key: Uint8Array, from: Uint8Array | null, to: Uint8Array | null): boolean {
  return (from === null || compareBytes(key, from) >= 0) && (to === null || compareBytes(key, to) < 0);
}
