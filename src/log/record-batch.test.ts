import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';
import { kafkajsDecode, kafkajsEncode, type OracleRecord } from '../../test/support/kafkajs-oracle.ts';
import { decodeRecordBatch, decodeRecordBatches, encodeEmptyRecordBatch, encodeRecordBatch, readBatchHeader, setBaseOffset, type RecordInput } from './record-batch.ts';
import { readVarint, varintSize, writeVarint } from './varint.ts';

const B = (s: string) => Buffer.from(s);

const sample: RecordInput[] = [
  { key: B('k1'), value: B('v1'), headers: [{ key: 'h', value: B('x') }], timestamp: 1_700_000_000_000 },
  { key: null, value: B('no key'), timestamp: 1_700_000_000_005 },
  { key: B('k3'), value: null, headers: [{ key: 'ünïcødé', value: null }], timestamp: 1_700_000_000_002 },
];

function toOracle(r: RecordInput): OracleRecord {
  return {
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value === null ? (null as unknown as Buffer) : Buffer.from(h.value)])),
    timestamp: r.timestamp,
  };
}

describe('CRC-32C', () => {
  it('matches the standard check value', () => {
    expect(crc32c(B('123456789'))).toBe(0xe3069283);
    expect(crc32c(B(''))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('gives the same answer over any start alignment', () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff));
    for (let s = 0; s < 9; s++) expect(crc32c(data, s)).toBe(crc32c(Buffer.from(data.subarray(s))));
  });
});

describe('varints', () => {
  it.each([0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER >> 1])('round-trips %d', (n) => {
    const buf = Buffer.alloc(10);
    const end = writeVarint(buf, 0, n);
    expect(end).toBe(varintSize(n));
    const cur = { pos: 0 };
    expect(readVarint(buf, cur, end)).toBe(n);
    expect(cur.pos).toBe(end);
  });

  it('encodes zig-zag as protobuf does', () => {
    const bytes = (n: number) => {
      const b = Buffer.alloc(10);
      return [...b.subarray(0, writeVarint(b, 0, n))];
    };
    expect(bytes(0)).toEqual([0]);
    expect(bytes(-1)).toEqual([1]);
    expect(bytes(1)).toEqual([2]);
    expect(bytes(-64)).toEqual([127]);
    expect(bytes(64)).toEqual([0x80, 0x01]);
    expect(bytes(2 ** 31 - 1)).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('refuses a varint that runs past the end or over 10 bytes', () => {
    expect(() => readVarint(Buffer.from([0x80, 0x80]), { pos: 0 }, 2)).toThrow(/past the end/);
    expect(() => readVarint(Buffer.alloc(11, 0xff), { pos: 0 }, 11)).toThrow();
  });
});

describe('record batch v2', () => {
  it('writes exactly the golden bytes for a small batch', () => {
    const bytes = encodeRecordBatch([{ key: B('k'), value: B('v'), headers: [{ key: 'h', value: B('1') }], timestamp: 1_000 }]);
    // Frozen after checking that kafkajs decodes it (test below) and that the CRC matches the bytes.
    expect(bytes.toString('hex')).toBe(
      '0000000000000000' + // base offset
        '0000003e' + // batch length: 74 bytes in all, less the 12-byte prefix
        'ffffffff' + // partition leader epoch
        '02' + // magic
        'bc1d551f' + // crc
        '0000' + // attributes
        '00000000' + // last offset delta
        '00000000000003e8' + // first timestamp
        '00000000000003e8' + // max timestamp
        'ffffffffffffffff' + // producer id
        'ffff' + // producer epoch
        'ffffffff' + // base sequence
        '00000001' + // record count
        // record: length 12 (zig-zag 0x18), attributes, timestamp delta 0, offset delta 0,
        // key length 1 (0x02) 'k', value length 1 'v', 1 header: key length 1 'h', value length 1 '1'
        '18' + '00' + '00' + '00' + '02' + '6b' + '02' + '76' + '02' + '02' + '68' + '02' + '31',
    );
    expect(crc32c(bytes, 21)).toBe(bytes.readUInt32BE(17));
  });

  it('is byte-identical to kafkajs for the same uncompressed records', async () => {
    const records = sample.map((r) => ({ ...r, headers: r.headers?.filter((h) => h.value !== null) }));
    const ours = encodeRecordBatch(records);
    const theirs = await kafkajsEncode(records.map(toOracle));
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
  });

  it('is read by kafkajs, headers, nulls and timestamps included', async () => {
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = encodeRecordBatch(sample, { compression });
      setBaseOffset(bytes, 1234);
      const batch = await kafkajsDecode(bytes);
      expect(batch.firstOffset).toBe('1234');
      expect(batch.lastOffsetDelta).toBe(2);
      expect(batch.maxTimestamp).toBe('1700000000005');
      expect(batch.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
        ['1234', '1700000000000', 'k1', 'v1'],
        ['1235', '1700000000005', null, 'no key'],
        ['1236', '1700000000002', 'k3', null],
      ]);
      expect(batch.records[0]!.headers.h!.toString()).toBe('x');
      expect(Object.keys(batch.records[2]!.headers)).toEqual(['ünïcødé']);
    }
  });

  it('reads a batch at a base offset given by the caller as if it were written in, and leaves the bytes as they are', () => {
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = encodeRecordBatch(sample, { compression });
      const stored = Buffer.from(bytes);
      const given = decodeRecordBatch(bytes, 0, { baseOffset: 1234 });
      expect(bytes.equals(stored)).toBe(true);
      setBaseOffset(bytes, 1234);
      expect(given).toEqual(decodeRecordBatch(bytes));
      expect([given.baseOffset, given.lastOffset, given.records.map((r) => r.offset)]).toEqual([1234, 1236, [1234, 1235, 1236]]);
      expect(() => decodeRecordBatch(bytes, 0, { baseOffset: 2 ** 63 })).toThrow(/safe integer/);
    }
  });

  it('writes an empty batch that spans offsets, as the cleaner keeps one, and kafkajs reads it', async () => {
    const bytes = encodeEmptyRecordBatch(4, 1_700_000_000_000);
    setBaseOffset(bytes, 10);
    const batch = decodeRecordBatch(bytes);
    expect([batch.baseOffset, batch.lastOffset, batch.recordCount, batch.records, batch.maxTimestamp]).toEqual([10, 14, 0, [], 1_700_000_000_000]);
    const theirs = await kafkajsDecode(bytes);
    expect([theirs.firstOffset, theirs.lastOffsetDelta, theirs.records]).toEqual(['10', 4, []]);
    expect(() => encodeEmptyRecordBatch(-1, 0)).toThrow();
  });

  it('reads what kafkajs writes, gzip included', async () => {
    const records: OracleRecord[] = Array.from({ length: 50 }, (_, i) => ({
      key: i % 5 === 0 ? null : B(`key-${i}`),
      value: i % 7 === 0 ? null : B('v'.repeat(i * 13)),
      headers: (i % 3 === 0 ? { a: B(`h${i}`), 'ключ': B('значение') } : {}) as Record<string, Buffer>,
      timestamp: 1_600_000_000_000 + i * 17,
    }));
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = await kafkajsEncode(records, compression);
      const batch = decodeRecordBatch(bytes);
      expect(batch.compression).toBe(compression);
      expect(batch.records).toHaveLength(50);
      batch.records.forEach((r, i) => {
        const want = records[i]!;
        expect(r.offset).toBe(i);
        expect(r.timestamp).toBe(want.timestamp);
        expect(r.key).toEqual(want.key);
        expect(r.value).toEqual(want.value);
        expect(r.headers.map((h) => [h.key, h.value?.toString()])).toEqual(Object.entries(want.headers ?? {}).map(([k, v]) => [k, v.toString()]));
      });
    }
  });

  it('round-trips arbitrary records (property)', () => {
    const bytesArb = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null });
    const recordArb = fc.record({
      key: bytesArb,
      value: bytesArb,
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: bytesArb }), { maxLength: 4 }),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 30 }), fc.constantFrom('none' as const, 'gzip' as const), fc.integer({ min: 0, max: 2 ** 50 }), (records, compression, base) => {
        const bytes = encodeRecordBatch(records, { compression });
        setBaseOffset(bytes, base);
        const batch = decodeRecordBatch(bytes);
        expect(batch.baseOffset).toBe(base);
        expect(batch.lastOffset).toBe(base + records.length - 1);
        expect(batch.firstTimestamp).toBe(records[0]!.timestamp);
        expect(batch.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));
        batch.records.forEach((r, i) => {
          const want = records[i]!;
          expect(r.offset).toBe(base + i);
          expect(r.timestamp).toBe(want.timestamp);
          expect(r.key === null ? null : new Uint8Array(r.key)).toEqual(want.key);
          expect(r.value === null ? null : new Uint8Array(r.value)).toEqual(want.value);
          expect(r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : new Uint8Array(h.value) }))).toEqual(want.headers);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('reads every header key right when records repeat, reorder or vary their keys (property)', () => {
    // Keys of equal length that differ in one byte, a prefix of another, multi-byte UTF-8, invalid UTF-8:
    // the decoder reuses a key string only for the very same bytes.
    const keys = ['h', 'g', 'hh', 'trace-id', 'trace-ic', 'trace', 'é', 'ü', '', '\uFFFD'];
    const headerArb = fc.record({ key: fc.constantFrom(...keys), value: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }) });
    const recordArb = fc.record({ key: fc.constant(null), value: fc.uint8Array({ maxLength: 8 }), headers: fc.array(headerArb, { maxLength: 5 }), timestamp: fc.constant(1) });
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 20 }), (records) => {
        const batch = decodeRecordBatch(encodeRecordBatch(records));
        expect(batch.records.map((r) => r.headers.map((h) => h.key))).toEqual(records.map((r) => r.headers.map((h) => h.key)));
      }),
      { numRuns: 300 },
    );
    // Invalid UTF-8 decodes to U+FFFD each time, whether the string is reused or not.
    const bytes = encodeRecordBatch([0, 1].map(() => ({ key: null, value: null, headers: [{ key: 'x', value: null }], timestamp: 1 })));
    const at = bytes.lastIndexOf(0x78); // the second record's key 'x'
    bytes[at] = 0xff;
    bytes[bytes.indexOf(0x78)] = 0xff;
    bytes.writeUInt32BE(crc32c(bytes, 21), 17);
    expect(decodeRecordBatch(bytes).records.map((r) => r.headers[0]!.key)).toEqual(['\uFFFD', '\uFFFD']);
  });

  it('keeps explicit offset deltas for compacted batches', () => {
    const bytes = encodeRecordBatch(
      [
        { key: B('a'), value: B('1'), timestamp: 5 },
        { key: B('b'), value: B('2'), timestamp: 6 },
      ],
      { offsetDeltas: [3, 9], lastOffsetDelta: 11 },
    );
    setBaseOffset(bytes, 100);
    const batch = decodeRecordBatch(bytes);
    expect(batch.records.map((r) => r.offset)).toEqual([103, 109]);
    expect(batch.lastOffset).toBe(111);
  });

  it('decodes consecutive batches and reads headers without the records', () => {
    const a = encodeRecordBatch([sample[0]!]);
    const b = encodeRecordBatch(sample, { compression: 'gzip', timestampType: 'log-append', isTransactional: true, producerId: 77, producerEpoch: 3, baseSequence: 12 });
    const both = Buffer.concat([a, b]);
    const batches = decodeRecordBatches(both);
    expect(batches.map((x) => x.records.length)).toEqual([1, 3]);
    const h = readBatchHeader(both, a.length);
    expect(h).toMatchObject({ byteLength: b.length, recordCount: 3, compression: 'gzip', timestampType: 'log-append', isTransactional: true, isControl: false, producerId: 77, producerEpoch: 3, baseSequence: 12, lastOffsetDelta: 2 });
  });

  describe('refuses corrupt input with a typed error', () => {
    const good = encodeRecordBatch(sample);
    const corrupt = (f: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    it.each([
      ['a flipped payload byte', corrupt((b) => (b[b.length - 3]! ^= 0xff)), 'CRC_MISMATCH'],
      ['a bad magic byte', corrupt((b) => (b[16] = 1)), 'CORRUPT_RECORD_BATCH'],
      ['a truncated batch', good.subarray(0, good.length - 1), 'CORRUPT_RECORD_BATCH'],
      ['a truncated header', good.subarray(0, 30), 'CORRUPT_RECORD_BATCH'],
      ['a negative batch length', corrupt((b) => b.writeInt32BE(-5, 8)), 'CORRUPT_RECORD_BATCH'],
      ['an absurd batch length', corrupt((b) => b.writeInt32BE(0x7ffffff0, 8)), 'CORRUPT_RECORD_BATCH'],
      ['an unsupported codec', corrupt((b) => b.writeInt16BE(4, 21)), 'CRC_MISMATCH'],
    ])('%s', (_what, bytes, code) => {
      expect(() => decodeRecordBatch(bytes)).toThrow(expect.objectContaining({ code }));
    });

    it('an absurd record count, with the CRC fixed up', () => {
      const b = corrupt((x) => x.writeInt32BE(1_000_000_000, 57));
      b.writeUInt32BE(crc32c(b, 21), 17);
      expect(() => decodeRecordBatch(b)).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD_BATCH' }));
    });

    it('zstd, which Floe does not decode', () => {
      const b = corrupt((x) => x.writeInt16BE(4, 21));
      b.writeUInt32BE(crc32c(b, 21), 17);
      expect(() => decodeRecordBatch(b)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_COMPRESSION' }));
    });

    it('random garbage never hangs or escapes as another error (property)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
          try {
            decodeRecordBatch(bytes, 0, { verifyCrc: false });
          } catch (e) {
            expect((e as Error).name).toBe('LogFormatError');
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  it('refuses an empty batch and unsafe numbers', () => {
    expect(() => encodeRecordBatch([])).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }));
    expect(() => encodeRecordBatch([{ key: null, value: null, timestamp: 2 ** 60 }])).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }));
  });
});
