import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CRC32C_WASM_BASE64, crc32c, crc32cImplementation, crc32cJs, crc32cWasm, nativeCrc32c, type Crc32cFunction } from './crc32c.ts';
import { kafkajsCrc32c } from '../../test/support/kafkajs-oracle.ts';

const ascii = (s: string) => Buffer.from(s, 'latin1');

function loadedNative(): Crc32cFunction {
  const native = nativeCrc32c();
  if (typeof native !== 'function') throw new Error(`the native CRC-32C did not load: ${native.message}`);
  return native;
}

/** Every implementation, called directly (no length threshold), and the dispatcher the codec calls. */
const IMPLEMENTATIONS: Array<[string, Crc32cFunction]> = [
  ['crc32c', (b, s, e, p) => crc32c(b, s, e, p)],
  ['native', (b, s, e, p) => loadedNative()(b, s, e, p)],
  ['wasm', (b, s, e, p) => crc32cWasm(b, s, e, p)],
  ['js', (b, s, e, p) => crc32cJs(b, s, e, p)],
];
const whole = (f: Crc32cFunction, b: Uint8Array, previous = 0) => f(b, 0, b.length, previous);

describe('crc32c', () => {
  it('uses the native addon where its binary is installed', () => {
    expect(typeof nativeCrc32c()).toBe('function');
    expect(crc32cImplementation()).toBe(process.env.FLOE_CRC32C === 'wasm' ? 'wasm' : 'native');
  });

  describe.each(IMPLEMENTATIONS)('%s', (_, f) => {
    it('matches the published CRC-32C check values', () => {
      expect(whole(f, ascii(''))).toBe(0);
      expect(whole(f, ascii('123456789'))).toBe(0xe3069283);
      expect(whole(f, ascii('a'))).toBe(0xc1d04330);
      expect(whole(f, ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
      // RFC 3720 (iSCSI), appendix B.4
      expect(whole(f, new Uint8Array(32))).toBe(0x8a9136aa);
      expect(whole(f, new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
      expect(whole(f, Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
      expect(whole(f, Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    });

    it('checksums a sub-range and continues from a previous value', () => {
      const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 17) & 0xff);
      const all = whole(f, data);
      expect(all).toBe(kafkajsCrc32c(Buffer.from(data)));
      for (const split of [0, 1, 7, 15, 16, 17, 255, 256, 500, 999, 1000]) {
        expect(f(data, split, data.length, f(data, 0, split, 0))).toBe(all);
      }
      const framed = new Uint8Array(1010);
      framed.set(data, 5);
      expect(f(framed, 5, 1005, 0)).toBe(all);
      expect(whole(f, framed.subarray(5, 1005))).toBe(all);
    });

    it('agrees with kafkajs on long inputs at every alignment', () => {
      const data = Buffer.from(Uint8Array.from({ length: 5000 }, (_, i) => (i * 193 + 71) & 0xff));
      for (let start = 0; start < 8; start++) {
        for (const len of [255, 256, 257, 271, 272, 1000, 4096 + 3]) {
          const expected = kafkajsCrc32c(data.subarray(start, start + len));
          expect(f(data, start, start + len, 0)).toBe(expected);
          expect(whole(f, new Uint8Array(data.buffer, data.byteOffset + start, len))).toBe(expected);
        }
      }
    });

    it('checksums inputs larger than the WebAssembly copy chunk', () => {
      const big = Buffer.from(Uint8Array.from({ length: 700_001 }, (_, i) => (i * 7 + (i >>> 9)) & 0xff));
      for (const [start, end] of [
        [0, big.length],
        [3, 262_147],
        [1, 524_289],
        [100, 700_000],
      ] as const) {
        expect(f(big, start, end, 0)).toBe(kafkajsCrc32c(big.subarray(start, end)));
      }
    });
  });

  it('agrees with kafkajs on every length and alignment up to 300 bytes', () => {
    const data = Buffer.from(Uint8Array.from({ length: 340 }, (_, i) => (i * 37 + 11) & 0xff));
    for (let start = 0; start < 20; start++) {
      for (let len = 0; len <= 300; len++) {
        expect(crc32c(data, start, start + len)).toBe(kafkajsCrc32c(data.subarray(start, start + len)));
      }
    }
  });

  it('embeds exactly the module that crc32c.wat assembles to', async () => {
    const require = createRequire(import.meta.url);
    const wabt = await (require('wabt') as () => Promise<{ parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array } } }>)();
    const text = readFileSync(new URL('./crc32c.wat', import.meta.url), 'utf8');
    const { buffer } = wabt.parseWat('crc32c.wat', text).toBinary({});
    expect(Buffer.from(buffer).toString('base64')).toBe(CRC32C_WASM_BASE64);
  });

  it('gives the same checksum in every implementation on arbitrary bytes and ranges', () => {
    const native = loadedNative();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (b % (bytes.length - start + 1));
        const expected = kafkajsCrc32c(Buffer.from(bytes.subarray(start, end)));
        expect(native(bytes, start, end, 0)).toBe(expected);
        expect(crc32cWasm(bytes, start, end)).toBe(expected);
        expect(crc32cJs(bytes, start, end)).toBe(expected);
        expect(crc32c(bytes, start, end)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('continues a checksum across any split, from any implementation to any other', () => {
    const native = loadedNative();
    const all: Crc32cFunction[] = [native, crc32cWasm, crc32cJs];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat({ max: 2 }), { minLength: 5, maxLength: 5 }), (bytes, cuts, picks) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
        const bounds = [0, ...points, bytes.length];
        let c = 0;
        for (let i = 0; i + 1 < bounds.length; i++) c = all[picks[i]!]!(bytes, bounds[i]!, bounds[i + 1]!, c);
        expect(c).toBe(native(bytes, 0, bytes.length, 0));
        expect(c).toBe(kafkajsCrc32c(Buffer.from(bytes)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('choosing the implementation', () => {
  const long = Buffer.from(Uint8Array.from({ length: 4096 }, (_, i) => (i * 29 + 3) & 0xff));

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.doUnmock('node:module');
    vi.resetModules();
  });

  async function freshModule(env: string | undefined, opts: { nativeMissing?: boolean } = {}) {
    vi.resetModules();
    vi.stubEnv('FLOE_CRC32C', env);
    if (!opts.nativeMissing) vi.doUnmock('node:module');
    else {
      // As in a bundle without node_modules, or an install that skipped this platform's binary.
      vi.doMock('node:module', async (original) => ({
        ...(await original<typeof import('node:module')>()),
        createRequire: () => () => {
          throw new Error("Cannot find module '@node-rs/crc32'");
        },
      }));
    }
    return import('./crc32c.ts');
  }

  it('FLOE_CRC32C=wasm forces the WebAssembly fallback even where the addon loads', async () => {
    const m = await freshModule('wasm');
    expect(m.crc32cImplementation()).toBe('wasm');
    expect(m.crc32c(long)).toBe(kafkajsCrc32c(long));
  });

  it('falls back to WebAssembly when the addon cannot be loaded', async () => {
    const m = await freshModule(undefined, { nativeMissing: true });
    expect(m.nativeCrc32c()).toBeInstanceOf(Error);
    expect(m.crc32cImplementation()).toBe('wasm');
    expect(m.crc32c(long)).toBe(kafkajsCrc32c(long));
  });

  it('FLOE_CRC32C=native refuses to checksum without the addon', async () => {
    const m = await freshModule('native', { nativeMissing: true });
    expect(() => m.crc32c(long)).toThrow(/FLOE_CRC32C=native, but @node-rs\/crc32 cannot be loaded/);
    const loaded = await freshModule('native');
    expect(loaded.crc32cImplementation()).toBe('native');
  });

  it('refuses an unknown FLOE_CRC32C rather than picking an implementation', async () => {
    const m = await freshModule('sse4');
    expect(m.crc32c(long.subarray(0, 100))).toBe(kafkajsCrc32c(long.subarray(0, 100)));
    expect(() => m.crc32c(long)).toThrow(/FLOE_CRC32C must be native or wasm/);
  });
});
