// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's v2 record batches.
// Node has no built-in CRC-32C. Three implementations give the same answer:
//
// - native: the `crc32c` export of @node-rs/crc32, a prebuilt addon that uses the CPU's CRC-32C
//   instructions (SSE 4.2 on x64, the CRC extension on arm64): more than twice the WebAssembly speed
//   on a 100 KB batch, whose checked decode was mostly checksum. Its binary comes in a per-platform
//   optional package that an install can lack (npm skips other platforms' packages, and the Lambda
//   bundles do not carry it: see the README), so it is required on first use, in a try/catch, never
//   imported.
// - wasm: slicing-by-16 (sixteen 256-entry tables fold sixteen input bytes per step) in a 432-byte
//   WebAssembly module (crc32c.wat, embedded below), whose loads need no per-access bounds checks:
//   about twice the JavaScript loop's speed even after copying the input into its memory. The
//   fallback where the addon cannot load.
// - js: the same tables in JavaScript, for inputs under LONG_INPUT bytes, where a call into the addon
//   or a copy into WebAssembly memory costs more than the checksum; and where there is no WebAssembly.
//
// FLOE_CRC32C chooses for long inputs: unset, the addon when it loads and WebAssembly otherwise;
// `wasm`, WebAssembly even when the addon is there; `native`, the addon or an error at the first
// checksum, for a deployment that must not silently run the slower code.
import { createRequire } from 'node:module';

export type Crc32cImplementation = 'native' | 'wasm' | 'js';

/** A CRC-32C of `buf[start, end)` continuing from `previous` (0 to start afresh), unsigned. */
export type Crc32cFunction = (buf: Uint8Array, start: number, end: number, previous: number) => number;

/** Shorter inputs stay in JavaScript (measured crossover of both the addon and WebAssembly). */
const LONG_INPUT = 256;

/** What FLOE_CRC32C may say; src/config.ts refuses anything else at start-up. */
export const CRC32C_CHOICES = ['native', 'wasm'] as const;

function requested(): 'auto' | (typeof CRC32C_CHOICES)[number] {
  const value = process.env.FLOE_CRC32C;
  if (value === undefined || value === '') return 'auto';
  if (value === 'native' || value === 'wasm') return value;
  // Programs that load no configuration (the benchmark) get here: a typo must not pick for them.
  throw new Error(`FLOE_CRC32C must be native or wasm (or unset), got ${JSON.stringify(value)}`);
}

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

/** Instantiated on first use: a process whose addon loads never needs it. */
let wasm: WasmCrc | null | undefined;

/**
 * The WebAssembly checksum, at any length (crc32c() keeps short inputs in JavaScript); plain
 * JavaScript where the runtime has no WebAssembly.
 */
export function crc32cWasm(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  if (wasm === undefined) wasm = loadWasm();
  if (wasm === null) return crc32cJs(buf, start, end, previous);
  let c = previous;
  for (let s = start; s < end; s += WASM_CHUNK) {
    const e = Math.min(end, s + WASM_CHUNK);
    wasm.memory.set(buf.subarray(s, e), WASM_TABLES_BYTES);
    c = wasm.crc32c(WASM_TABLES_BYTES, e - s, c) >>> 0;
  }
  return c;
}

type NativeModule = typeof import('@node-rs/crc32');

let native: { checksum: Crc32cFunction } | { error: Error } | undefined;

/**
 * The addon's checksum, or why it cannot load (no binary for this platform, or a bundle without
 * node_modules). Tried once per process.
 */
export function nativeCrc32c(): Crc32cFunction | Error {
  if (native === undefined) {
    try {
      const addon = createRequire(import.meta.url)('@node-rs/crc32') as NativeModule;
      const checksum = addon.crc32c;
      if (typeof checksum !== 'function') throw new Error('@node-rs/crc32 has no crc32c function');
      // The addon reads a view's own window of its buffer, so a subarray costs no copy; its second
      // argument continues from a finished checksum, as `previous` does here.
      native = { checksum: (buf, start, end, previous) => checksum(start === 0 && end === buf.length ? buf : buf.subarray(start, end), previous) };
    } catch (e) {
      native = { error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  return 'checksum' in native ? native.checksum : native.error;
}

let long: { name: Crc32cImplementation; checksum: Crc32cFunction } | undefined;

/** Made at the first long checksum, so that a process's configuration is checked before it. */
function chooseLong(): { name: Crc32cImplementation; checksum: Crc32cFunction } {
  const choice = requested();
  if (choice !== 'wasm') {
    const checksum = nativeCrc32c();
    if (typeof checksum === 'function') return { name: 'native', checksum };
    if (choice === 'native') throw new Error(`FLOE_CRC32C=native, but @node-rs/crc32 cannot be loaded: ${checksum.message}`, { cause: checksum });
  }
  if (wasm === undefined) wasm = loadWasm();
  return wasm === null ? { name: 'js', checksum: crc32cJs } : { name: 'wasm', checksum: crc32cWasm };
}

/** Which implementation checksums inputs of LONG_INPUT bytes and more in this process. */
export function crc32cImplementation(): Crc32cImplementation {
  return (long ??= chooseLong()).name;
}

/**
 * CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. Pass the result of an earlier call as
 * `previous` to continue a checksum over more bytes.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  if (end - start < LONG_INPUT) return crc32cJs(buf, start, end, previous);
  return (long ??= chooseLong()).checksum(buf, start, end, previous);
}

/** The checksum in plain JavaScript, slicing-by-16 over the same tables. */
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
