import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CRC32C_WASM_BASE64, crc32c, crc32cJs } from './crc32c.ts';
import { kafkajsCrc32c } from '../../test/support/kafkajs-oracle.ts';

const ascii = (s: string) => Buffer.from(s, 'latin1');

describe('crc32c', () => {
  it('matches the published CRC-32C check values', () => {
    expect(crc32c(ascii(''))).toBe(0);
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(ascii('a'))).toBe(0xc1d04330);
    expect(crc32c(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
    // RFC 3720 (iSCSI), appendix B.4
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('checksums a sub-range and continues from a previous value', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 17) & 0xff);
    const whole = crc32c(data);
    expect(crc32c(data, 0, data.length)).toBe(whole);
    for (const split of [0, 1, 7, 15, 16, 17, 500, 999, 1000]) {
      expect(crc32c(data, split, data.length, crc32c(data, 0, split))).toBe(whole);
    }
    const framed = new Uint8Array(1010);
    framed.set(data, 5);
    expect(crc32c(framed, 5, 1005)).toBe(whole);
  });

  it('agrees with kafkajs on every length and alignment up to 100 bytes', () => {
    const data = Buffer.from(Uint8Array.from({ length: 140 }, (_, i) => (i * 37 + 11) & 0xff));
    for (let start = 0; start < 20; start++) {
      for (let len = 0; len <= 100; len++) {
        const slice = data.subarray(start, start + len);
        expect(crc32c(data, start, start + len)).toBe(kafkajsCrc32c(slice));
      }
    }
  });

  it('agrees with kafkajs on long inputs at every alignment, in WebAssembly and in JavaScript', () => {
    const data = Buffer.from(Uint8Array.from({ length: 5000 }, (_, i) => (i * 193 + 71) & 0xff));
    for (let start = 0; start < 8; start++) {
      for (const len of [255, 256, 257, 271, 272, 1000, 4096 + 3]) {
        const expected = kafkajsCrc32c(data.subarray(start, start + len));
        expect(crc32c(data, start, start + len)).toBe(expected);
        expect(crc32cJs(data, start, start + len)).toBe(expected);
        const view = new Uint8Array(data.buffer, data.byteOffset + start, len);
        expect(crc32c(view)).toBe(expected);
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
      expect(crc32c(big, start, end)).toBe(kafkajsCrc32c(big.subarray(start, end)));
      expect(crc32c(big, start, end)).toBe(crc32cJs(big, start, end));
    }
  });

  it('embeds exactly the module that crc32c.wat assembles to', async () => {
    const require = createRequire(import.meta.url);
    const wabt = await (require('wabt') as () => Promise<{ parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array } } }>)();
    const text = readFileSync(new URL('./crc32c.wat', import.meta.url), 'utf8');
    const { buffer } = wabt.parseWat('crc32c.wat', text).toBinary({});
    expect(Buffer.from(buffer).toString('base64')).toBe(CRC32C_WASM_BASE64);
  });

  it('agrees with kafkajs on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const expected = kafkajsCrc32c(Buffer.from(bytes));
        expect(crc32c(bytes)).toBe(expected);
        expect(crc32cJs(bytes)).toBe(expected);
      }),
    );
  });
});
