import { describe, expect, it } from 'vitest';
import { bytesToEmbedded, decodeBase64, embeddedToBytes, jsonDepthExceeds, MAX_JSON_DEPTH } from './embedded.ts';

describe('embedded formats', () => {
  it('accepts standard base64 with and without padding', () => {
    expect(decodeBase64('aGVsbG8=', 'value').toString()).toBe('hello');
    expect(decodeBase64('aGVsbG8', 'value').toString()).toBe('hello');
    expect(decodeBase64('', 'value').length).toBe(0);
  });

  it.each(['a', 'aGVsbG8=x', '!!!!', 'aGV sbG8=', 'aG=Vs', 'aGVsbG8==='])('rejects invalid base64 %j with a 400', (s) => {
    expect(() => decodeBase64(s, 'value')).toThrow(expect.objectContaining({ status: 400, errorCode: 40002 }));
  });

  it('stores a JSON node as its compact serialization: a string key "k" is 3 bytes', () => {
    expect(embeddedToBytes('k', 'json', 'key')!.toString()).toBe('"k"');
    expect(embeddedToBytes({ a: [1, 2] }, 'json', 'value')!.toString()).toBe('{"a":[1,2]}');
    expect(embeddedToBytes(null, 'json', 'value')).toBeNull();
    expect(embeddedToBytes(undefined, 'binary', 'value')).toBeNull();
  });

  it('round-trips both formats', () => {
    expect(bytesToEmbedded(embeddedToBytes({ x: 1 }, 'json', 'v'), 'json')).toEqual({ x: 1 });
    expect(bytesToEmbedded(embeddedToBytes('AAEC', 'binary', 'v'), 'binary')).toBe('AAEC');
  });

  it('refuses a non-string value in the binary format', () => {
    expect(() => embeddedToBytes(42, 'binary', 'value')).toThrow(expect.objectContaining({ status: 422 }));
  });

  it('refuses JSON nested deeper than the REST Proxy allows, without overflowing the stack', () => {
    const nest = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));
    expect(embeddedToBytes(nest(MAX_JSON_DEPTH), 'json', 'value')!.length).toBe(2 * MAX_JSON_DEPTH);
    expect(() => embeddedToBytes(nest(MAX_JSON_DEPTH + 1), 'json', 'value')).toThrow(expect.objectContaining({ status: 422 }));
    expect(() => embeddedToBytes(nest(100_000), 'json', 'value')).toThrow(expect.objectContaining({ status: 422 }));
    expect(jsonDepthExceeds({ a: [{ b: 1 }], c: 'x' }, 3)).toBe(false);
    expect(jsonDepthExceeds({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  it('shows stored bytes that hold JSON too deep to answer with as text', () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    expect(bytesToEmbedded(Buffer.from(deep), 'json')).toBe(deep);
  });
});
