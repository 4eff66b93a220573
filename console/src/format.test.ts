import { describe, expect, it } from 'vitest';
import { formatBytes, fromBase64, hex, parseHeaderLines, show, toBase64, toCsv, toJsonLines, type RawMessage } from './format.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const message: RawMessage = { topic: 't', partition: 1, offset: 7, timestamp: Date.UTC(2026, 0, 1), key: b64('k'), value: b64('{"a":"x,\\"y"}'), headers: [{ key: 'h', value: b64('v') }] };

describe("the console's formats", () => {
  it('shows bytes as text, pretty JSON or hex, and null as null', () => {
    expect(show(b64('{"a":1}'), 'json')).toBe('{\n  "a": 1\n}');
    expect(show(b64('plain'), 'json')).toBe('plain');
    expect(show(b64('AB'), 'hex')).toBe('41 42');
    expect(show(null, 'text')).toBeNull();
    expect(hex(new Uint8Array(17)).split('\n')).toHaveLength(2);
  });

  it('round-trips base64, large values included', () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    expect(fromBase64(toBase64(big))).toEqual(big);
    expect(toBase64(new Uint8Array(Buffer.from('hé')))).toBe(b64('hé'));
  });

  it('exports JSON lines with JSON embedded when shown as JSON, and CSV quoted as RFC 4180 says', () => {
    expect(JSON.parse(toJsonLines([message], 'json'))).toEqual({ topic: 't', partition: 1, offset: 7, timestamp: message.timestamp, key: 'k', value: { a: 'x,"y' }, headers: [{ key: 'h', value: 'v' }] });
    expect(JSON.parse(toJsonLines([message], 'text')).value).toBe('{"a":"x,\\"y"}');
    expect(toCsv([message], 'text')).toBe('"topic","partition","offset","timestamp","key","value","headers"\r\n"t","1","7","2026-01-01T00:00:00.000Z","k","{""a"":""x,\\""y""}","{""h"":""v""}"\r\n');
  });

  it('reads header lines and refuses a line without a name', () => {
    expect(parseHeaderLines('trace: abc\n\nsource=web')).toEqual([{ key: 'trace', value: 'abc' }, { key: 'source', value: 'web' }]);
    expect(() => parseHeaderLines('no separator')).toThrow(/line 1/);
  });

  it('formats sizes for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
  });
});
