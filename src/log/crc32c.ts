// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's v2 record batches.
// Node 20 has no built-in CRC-32C, so it is table driven, slicing-by-16: sixteen 256-entry tables let
// each step fold sixteen input bytes instead of one.
//
// Inputs of WASM_MIN bytes or more go through a 432-byte WebAssembly module (crc32c.wat, embedded
// below) running the same algorithm: its loads need no per-access bounds checks, which makes it
// about twice as fast as the JavaScript loop even after copying the input into its memory. Shorter
// inputs stay in JavaScript, where there is no copy or call to pay for.

const POLY = 0x82f63b78;

/** Table t, entry n, at TABLE[t * 256 + n]. Int32Array keeps entries small integers for V8. */
const TABLE = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let t = 1; t < 16; t++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[t * 256 + n] = c;
  }
}

/** Assembled from crc32c.wat (the test suite checks that they match). */
const WASM_BASE64 =
  'AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQABBxMCBm1lbW9yeQIABmNyYzMyYwAACv0CAfoCAQZ/IAJBf3MhAiAAIAFqIQMgAyABQQ9xayEEAkADQCAAIARPDQEgAiAAKAIAcyEFIAAoAgQhBiAAKAIIIQcgACgCDCEIIAVB/wFxQQJ0KAKAeCAFQQh2Qf8BcUECdCgCgHBzIAVBEHZB/wFxQQJ0KAKAaCAFQRh2QQJ0KAKAYHNzIAZB/wFxQQJ0KAKAWCAGQQh2Qf8BcUECdCgCgFBzIAZBEHZB/wFxQQJ0KAKASCAGQRh2QQJ0KAKAQHNzcyAHQf8BcUECdCgCgDggB0EIdkH/AXFBAnQoAoAwcyAHQRB2Qf8BcUECdCgCgCggB0EYdkECdCgCgCBzcyAIQf8BcUECdCgCgBggCEEIdkH/AXFBAnQoAoAQcyAIQRB2Qf8BcUECdCgCgAggCEEYdkECdCgCAHNzc3MhAiAAQRBqIQAMAAsLAkADQCAAIANPDQEgAiAALQAAc0H/AXFBAnQoAgAgAkEIdnMhAiAAQQFqIQAMAAsLIAJBf3ML';
const WASM_MIN = 256;
const WASM_TABLES_BYTES = 16 * 1024;
/** Input is copied into the module's memory this many bytes at a time. */
const WASM_CHUNK = 256 * 1024;

interface WasmCrc {
  memory: Uint8Array;
  crc32c(pointer: number, length: number, previous: number): number;
}

/** The few WebAssembly APIs used here (the project's TypeScript libs do not declare them). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

function loadWasm(): WasmCrc | null {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) return null;
  const instance = new api.Instance(new api.Module(Buffer.from(WASM_BASE64, 'base64')));
  const memory = instance.exports.memory as WasmMemory;
  const pages = Math.ceil((WASM_TABLES_BYTES + WASM_CHUNK) / 65536);
  memory.grow(pages - memory.buffer.byteLength / 65536);
  const view = new DataView(memory.buffer);
  for (let i = 0; i < TABLE.length; i++) view.setInt32(i * 4, TABLE[i]!, true);
  return { memory: new Uint8Array(memory.buffer), crc32c: instance.exports.crc32c as WasmCrc['crc32c'] };
}

const wasm = loadWasm();

/**
 * CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. Pass the result of an earlier call as
 * `previous` to continue a checksum over more bytes.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  if (wasm !== null && end - start >= WASM_MIN) {
    let c = previous;
    for (let s = start; s < end; s += WASM_CHUNK) {
      const e = Math.min(end, s + WASM_CHUNK);
      wasm.memory.set(buf.subarray(s, e), WASM_TABLES_BYTES);
      c = wasm.crc32c(WASM_TABLES_BYTES, e - s, c) >>> 0;
    }
    return c;
  }
  return crc32cJs(buf, start, end, previous);
}

/** The same checksum in plain JavaScript (also what short inputs use). */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  const t = TABLE;
  let c = ~previous;
  let i = start;
  const end16 = end - ((end - start) & 15);
  while (i < end16) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + buf[i + 4]!]! ^
      t[2560 + buf[i + 5]!]! ^
      t[2304 + buf[i + 6]!]! ^
      t[2048 + buf[i + 7]!]! ^
      t[1792 + buf[i + 8]!]! ^
      t[1536 + buf[i + 9]!]! ^
      t[1280 + buf[i + 10]!]! ^
      t[1024 + buf[i + 11]!]! ^
      t[768 + buf[i + 12]!]! ^
      t[512 + buf[i + 13]!]! ^
      t[256 + buf[i + 14]!]! ^
      t[buf[i + 15]!]!;
    i += 16;
  }
  while (i < end) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Assembled WebAssembly module bytes, for the test that checks them against crc32c.wat. */
export const CRC32C_WASM_BASE64 = WASM_BASE64;
