import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { Context, MSKEvent } from 'aws-lambda';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { kafkaConsumer, SchemaType } from '@aws-lambda-powertools/kafka';
import { z } from 'zod';
import { buildMskEvent, eventRecordBytes, mskEventBytes, parseBatchResponse, signedBytes, type DeliveredRecord, type MskWireRecord } from './event.ts';

const ARN = 'arn:floe:trigger:orders-to-lambda:1700000000000';
const SERVERS = 'floe.local:9092,floe2.local:9092';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function rec(over: Partial<DeliveredRecord> = {}): DeliveredRecord {
  return {
    topic: 'orders',
    partition: 0,
    offset: 0,
    timestamp: 1_700_000_000_123,
    key: Buffer.from('k1'),
    value: Buffer.from('{"id":1}'),
    headers: [],
    ...over,
  };
}

const build = (records: DeliveredRecord[]) => buildMskEvent({ eventSourceArn: ARN, bootstrapServers: SERVERS, records });
/** The record as it goes on the wire (the JSON the function receives). */
const wire = (event: MSKEvent, group: string, i = 0) => (JSON.parse(JSON.stringify(event)) as { records: Record<string, MskWireRecord[]> }).records[group]![i]!;

describe('buildMskEvent', () => {
  it('builds the MSK event: source, ARN, servers, base64 key and value, CREATE_TIME', () => {
    const event = build([rec({ offset: 15, headers: [{ key: 'h', value: Buffer.from('v') }] })]);
    expectTypeOf(event).toEqualTypeOf<MSKEvent>();
    const typed: MSKEvent = event;
    expect(JSON.parse(JSON.stringify(typed))).toEqual({
      eventSource: 'aws:kafka',
      eventSourceArn: ARN,
      bootstrapServers: SERVERS,
      records: {
        'orders-0': [
          {
            topic: 'orders',
            partition: 0,
            offset: 15,
            timestamp: 1_700_000_000_123,
            timestampType: 'CREATE_TIME',
            key: b64('k1'),
            value: b64('{"id":1}'),
            headers: [{ h: [118] }],
          },
        ],
      },
    });
    // Lambda's field order, which some hand-written parsers of the raw payload depend on.
    expect(Object.keys(wire(event, 'orders-0'))).toEqual(['topic', 'partition', 'offset', 'timestamp', 'timestampType', 'key', 'value', 'headers']);
  });

  it('leaves the key property out when the key is null', () => {
    const event = build([rec({ key: null })]);
    const r = wire(event, 'orders-0');
    expect('key' in r).toBe(false);
    expect('key' in event.records['orders-0']![0]!).toBe(false);
    expect(JSON.stringify(event)).not.toContain('"key"');
  });

  it('keeps an empty key as an empty base64 string, not as no key', () => {
    expect(wire(build([rec({ key: Buffer.alloc(0) })]), 'orders-0').key).toBe('');
  });

  it('sends a tombstone with value null, and an empty value as ""', () => {
    expect(wire(build([rec({ value: null })]), 'orders-0').value).toBeNull();
    expect(wire(build([rec({ value: Buffer.alloc(0) })]), 'orders-0').value).toBe('');
  });

  it('sends header values as signed bytes, like Java byte[]', () => {
    const event = build([rec({ headers: [{ key: 'bin', value: Uint8Array.of(0x00, 0x01, 0x7f, 0x80, 0xc3, 0xab, 0xff) }] })]);
    expect(wire(event, 'orders-0').headers).toEqual([{ bin: [0, 1, 127, -128, -61, -85, -1] }]);
  });

  it('keeps every header, in order and with repeated keys, each in its own one-entry object', () => {
    const event = build([
      rec({
        headers: [
          { key: 'a', value: Buffer.from('1') },
          { key: 'b', value: Buffer.from('2') },
          { key: 'a', value: Buffer.from('3') },
          { key: '__proto__', value: Buffer.from('4') },
        ],
      }),
    ]);
    const headers = wire(event, 'orders-0').headers;
    expect(headers).toEqual([{ a: [49] }, { b: [50] }, { a: [51] }, JSON.parse('{"__proto__":[52]}')]);
    expect(Object.hasOwn(event.records['orders-0']![0]!.headers[3]!, '__proto__')).toBe(true);
  });

  it('sends a null or empty header value as [] and a record without headers with headers: []', () => {
    const event = build([rec({ headers: [{ key: 'n', value: null }, { key: 'e', value: new Uint8Array(0) }] }), rec({ offset: 1 })]);
    expect(wire(event, 'orders-0', 0).headers).toEqual([{ n: [] }, { e: [] }]);
    expect(wire(event, 'orders-0', 1).headers).toEqual([]);
  });

  it('groups records under "<topic>-<partition>" keeping their order within each group', () => {
    const event = build([
      rec({ topic: 'a', partition: 1, offset: 5 }),
      rec({ topic: 'a', partition: 0, offset: 9 }),
      rec({ topic: 'a', partition: 1, offset: 6 }),
      rec({ topic: 'a-1', partition: 0, offset: 1 }),
      rec({ topic: 'a', partition: 10, offset: 2 }),
      rec({ topic: 'a', partition: 1, offset: 7 }),
    ]);
    expect(Object.keys(event.records)).toEqual(['a-1', 'a-0', 'a-1-0', 'a-10']);
    expect(event.records['a-1']!.map((r) => r.offset)).toEqual([5, 6, 7]);
    expect(event.records['a-0']!.map((r) => r.offset)).toEqual([9]);
    expect(event.records['a-1-0']!.map((r) => [r.topic, r.partition])).toEqual([['a-1', 0]]);
    expect(event.records['a-10']!.map((r) => [r.topic, r.partition])).toEqual([['a', 10]]);
  });

  it('builds an event with no records', () => {
    expect(build([]).records).toEqual({});
  });
});

describe('signedBytes', () => {
  it('maps each byte to -128..127', () => {
    expect(signedBytes(Uint8Array.of(0, 1, 0x7f, 0x80, 0x81, 0xfe, 0xff))).toEqual([0, 1, 127, -128, -127, -2, -1]);
    expect(signedBytes(new Uint8Array(0))).toEqual([]);
  });

  it('reads only the view it is given, not the whole buffer under it', () => {
    const whole = Buffer.from([1, 2, 0xff, 0x80, 5]);
    expect(signedBytes(whole.subarray(2, 4))).toEqual([-1, -128]);
  });
});

describe('event size', () => {
  it('mskEventBytes is the UTF-8 length of the JSON', () => {
    const event = build([rec({ headers: [{ key: 'é-ключ', value: Buffer.from('x') }] })]);
    expect(mskEventBytes(event)).toBe(Buffer.byteLength(JSON.stringify(event)));
    expect(mskEventBytes(event)).toBeGreaterThan(JSON.stringify(event).length);
  });

  const growth = (before: DeliveredRecord[], added: DeliveredRecord) => mskEventBytes(build([...before, added])) - mskEventBytes(build(before));

  it('eventRecordBytes is exact for a record without headers, in a partition already in the event', () => {
    const first = rec();
    for (const r of [
      rec({ offset: 1 }),
      rec({ offset: 1_234_567_890_123, key: null }),
      rec({ offset: 2, value: null }),
      rec({ offset: 3, key: Buffer.alloc(0), value: Buffer.alloc(0) }),
      rec({ offset: 4, key: Buffer.alloc(1), value: Buffer.alloc(2) }),
      rec({ offset: 5, key: Buffer.alloc(1000), value: Buffer.alloc(100_001) }),
    ]) {
      expect(eventRecordBytes(r, 'orders'.length)).toBe(growth([first], r));
    }
  });

  it('eventRecordBytes never falls short with headers, and stays within 5 bytes a header byte', () => {
    const first = rec();
    const cases = [
      rec({ offset: 1, headers: [{ key: 'a', value: Uint8Array.of(0x80, 0x80, 0x80) }] }),
      rec({ offset: 2, headers: [{ key: 'a', value: Uint8Array.of(1, 2, 3) }] }),
      rec({ offset: 3, headers: [{ key: 'n', value: null }, { key: 'e', value: new Uint8Array(0) }] }),
      rec({ offset: 4, headers: [{ key: 'quote"and\\back\nslash\u0001', value: Buffer.from('v') }] }),
      rec({ offset: 5, headers: [{ key: 'ключ', value: Buffer.from('значение') }] }),
    ];
    for (const r of cases) {
      const estimate = eventRecordBytes(r, 'orders'.length);
      const actual = growth([first], r);
      const headerBytes = r.headers.reduce((n, h) => n + (h.value?.length ?? 0), 0);
      expect(estimate).toBeGreaterThanOrEqual(actual);
      expect(estimate - actual).toBeLessThanOrEqual(4 * headerBytes + r.headers.length);
    }
    // -128 is the widest byte, five characters with its comma: the estimate is over only by the commas
    // after the last byte and after the last header.
    expect(eventRecordBytes(cases[0]!, 6) - growth([first], cases[0]!)).toBe(2);
  });

  it('lets a caller cut a batch under a byte cap by adding the estimates up', () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      rec({ offset: i, value: Buffer.alloc(100 + i * 37, 'x'), headers: [{ key: 'trace', value: Buffer.from(`t-${i}`) }] }),
    );
    const cap = 4000;
    const envelope = mskEventBytes(build([])) + 'orders-0'.length + 5; // `"orders-0":[]` once
    let total = envelope;
    const batch: DeliveredRecord[] = [];
    for (const r of records) {
      const n = eventRecordBytes(r, r.topic.length);
      if (total + n > cap) break;
      total += n;
      batch.push(r);
    }
    expect(batch.length).toBeGreaterThan(3);
    expect(mskEventBytes(build(batch))).toBeLessThanOrEqual(cap);
    expect(mskEventBytes(build(records.slice(0, batch.length + 1)))).toBeGreaterThan(cap - 200);
  });
});

/** One of everything a handler can meet, with only the shapes Powertools' parser accepts. */
function parserFriendlyRecords(): DeliveredRecord[] {
  return [
    rec({
      offset: 15,
      key: Buffer.from('{"customer":"c-1"}'),
      value: Buffer.from('{"id":1,"total":9.5}'),
      headers: [
        { key: 'traceparent', value: Buffer.from('00-abc-01') },
        { key: 'flag', value: null },
        { key: 'empty', value: new Uint8Array(0) },
      ],
    }),
    rec({ offset: 16, key: null, value: Buffer.from('plain text') }),
    rec({ topic: 'refunds', partition: 3, offset: 7, key: Buffer.from('r'), value: Buffer.from('{"id":2}') }),
  ];
}

describe('Powertools parser (KafkaMskEventSchema)', () => {
  it('accepts the event and decodes key, value and headers', () => {
    const parsed = KafkaMskEventSchema.parse(build(parserFriendlyRecords()));
    expect(parsed.eventSource).toBe('aws:kafka');
    expect(parsed.eventSourceArn).toBe(ARN);
    expect(parsed.bootstrapServers).toEqual(['floe.local:9092', 'floe2.local:9092']);
    expect(Object.keys(parsed.records)).toEqual(['orders-0', 'refunds-3']);
    const [first, second] = parsed.records['orders-0']!;
    // The parser base64-decodes key and value to strings (it does not parse JSON) and turns header
    // byte arrays into strings.
    expect(first).toEqual({
      topic: 'orders',
      partition: 0,
      offset: 15,
      timestamp: 1_700_000_000_123,
      timestampType: 'CREATE_TIME',
      key: '{"customer":"c-1"}',
      value: '{"id":1,"total":9.5}',
      headers: [{ traceparent: '00-abc-01' }, { flag: '' }, { empty: '' }],
    });
    expect(second!.key).toBeUndefined();
    expect(second!.value).toBe('plain text');
    expect(parsed.records['refunds-3']![0]).toMatchObject({ topic: 'refunds', partition: 3, offset: 7, key: 'r', value: '{"id":2}' });
  });

  it('would refuse a header value sent as null, which is why null values go as []', () => {
    const event = JSON.parse(JSON.stringify(build([rec({ headers: [{ key: 'flag', value: null }] })])));
    event.records['orders-0'][0].headers = [{ flag: null }];
    expect(() => KafkaMskEventSchema.parse(event)).toThrow(/expected array/);
  });

  // Shapes Lambda sends that this version of the parser cannot take; pinned so that a fix upstream is noticed.
  it('refuses a tombstone: its schema wants value to be a string', () => {
    expect(() => KafkaMskEventSchema.parse(build([rec({ value: null })]))).toThrow(/expected string, received null/);
  });

  it('throws on header bytes of 0x80 and above: it decodes with String.fromCodePoint', () => {
    expect(() => KafkaMskEventSchema.parse(build([rec({ headers: [{ key: 'h', value: Buffer.from('ë') }] })]))).toThrow(RangeError);
  });
});

describe('Powertools Kafka consumer (kafkaConsumer)', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Powertools' own MSKEvent type also declares the schema-registry metadata fields, which Lambda sends only with a registry. */
  type ConsumerEvent = Parameters<ReturnType<typeof kafkaConsumer>>[0];
  const context = {} as Context;

  it('hands the handler deserialized keys, values and headers, in event order', async () => {
    // Powertools logs when a value configured as JSON is not JSON, then passes the string on.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const records = [
      ...parserFriendlyRecords(),
      rec({ topic: 'refunds', partition: 3, offset: 8, key: Buffer.from('"r2"'), value: null }),
      rec({ topic: 'refunds', partition: 3, offset: 9, key: Buffer.from('1'), value: Buffer.from('{"id":3}'), headers: [{ key: 'name', value: Buffer.from('Zoë ✓') }] }),
    ];
    const seen: unknown[] = [];
    const handler = kafkaConsumer(
      async (event) => {
        for (const r of event.records) seen.push({ topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value, headers: r.headers });
        return { batchItemFailures: [] };
      },
      { key: { type: SchemaType.JSON }, value: { type: SchemaType.JSON } },
    );
    const answer = await handler(build(records) as unknown as ConsumerEvent, context);
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual([
      {
        topic: 'orders',
        partition: 0,
        offset: 15,
        key: { customer: 'c-1' },
        value: { id: 1, total: 9.5 },
        headers: [{ traceparent: '00-abc-01' }, { flag: '' }, { empty: '' }],
      },
      { topic: 'orders', partition: 0, offset: 16, key: undefined, value: 'plain text', headers: [] },
      { topic: 'refunds', partition: 3, offset: 7, key: 'r', value: { id: 2 }, headers: [] },
      // A tombstone reaches the handler as null; signed header bytes decode back to the UTF-8 text.
      { topic: 'refunds', partition: 3, offset: 8, key: 'r2', value: null, headers: [] },
      { topic: 'refunds', partition: 3, offset: 9, key: 1, value: { id: 3 }, headers: [{ name: 'Zoë ✓' }] },
    ]);
    expect(logged).toHaveBeenCalled();
  });

  it('validates values against a parser schema', async () => {
    const Order = z.object({ id: z.number(), total: z.number().positive() });
    const totals: number[] = [];
    const handler = kafkaConsumer<unknown, z.infer<typeof Order>>(
      async (event) => {
        for (const r of event.records) totals.push(r.value.total);
      },
      { value: { type: SchemaType.JSON, parserSchema: Order } },
    );
    await handler(build([rec({ value: Buffer.from('{"id":1,"total":2.5}') }), rec({ offset: 1, value: Buffer.from('{"id":2,"total":4}') })]) as unknown as ConsumerEvent, context);
    expect(totals).toEqual([2.5, 4]);
    // Values are deserialized when read, so a bad one fails the handler where it is touched.
    await expect(handler(build([rec({ value: Buffer.from('{"id":1,"total":-1}') })]) as unknown as ConsumerEvent, context)).rejects.toThrow(/Schema validation failed/);
  });

  it('would throw on a header value sent as null', async () => {
    const handler = kafkaConsumer(async (event) => event.records.map((r) => r.headers), { value: { type: SchemaType.JSON } });
    const event = JSON.parse(JSON.stringify(build([rec()])));
    event.records['orders-0'][0].headers = [{ flag: null }];
    await expect(handler(event, context)).rejects.toThrow(TypeError);
  });
});

describe('parseBatchResponse', () => {
  const batch = [
    { topic: 'orders', partition: 0, offset: 10 },
    { topic: 'orders', partition: 0, offset: 11 },
    { topic: 'orders', partition: 0, offset: 12 },
    { topic: 'orders', partition: 1, offset: 4 },
    { topic: 'orders-1', partition: 2, offset: 0 },
  ];
  const failure = (partition: unknown, offset: unknown) => ({ itemIdentifier: { partition, offset } });
  const answer = (...items: unknown[]) => ({ batchItemFailures: items });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'done'],
    ['a number', 0],
    ['a boolean', true],
    ['an array', [1, 2]],
    ['an empty object', {}],
    ['an object without batchItemFailures', { statusCode: 200 }],
    ['batchItemFailures null', { batchItemFailures: null }],
    ['batchItemFailures empty', { batchItemFailures: [] }],
  ])('treats %s as success, as Lambda does', (_what, a) => {
    expect(parseBatchResponse(a, batch)).toEqual({ kind: 'ok' });
  });

  it('reports the failed offset per partition', () => {
    const r = parseBatchResponse(answer(failure('orders-0', 11), failure('orders-1', 4)), batch);
    expect(r).toEqual({ kind: 'partial', failed: new Map([['orders-0', 11], ['orders-1', 4]]) });
  });

  it('keeps the lowest of several failures in one partition, whatever their order', () => {
    const r = parseBatchResponse(answer(failure('orders-0', 12), failure('orders-0', 10), failure('orders-0', 11)), batch);
    expect(r).toEqual({ kind: 'partial', failed: new Map([['orders-0', 10]]) });
  });

  it('accepts offsets given as decimal strings', () => {
    expect(parseBatchResponse(answer(failure('orders-0', '12')), batch)).toEqual({ kind: 'partial', failed: new Map([['orders-0', 12]]) });
  });

  it('matches the partition name exactly, so topics with dashes are told apart', () => {
    expect(parseBatchResponse(answer(failure('orders-1-2', 0)), batch)).toEqual({ kind: 'partial', failed: new Map([['orders-1-2', 0]]) });
    expect(parseBatchResponse(answer(failure('orders-1-2', 4)), batch).kind).toBe('invalid');
  });

  it('ignores other properties of the answer and of its entries', () => {
    const r = parseBatchResponse({ batchItemFailures: [{ itemIdentifier: { partition: 'orders-1', offset: 4, extra: 1 }, note: 'x' }], other: true }, batch);
    expect(r).toEqual({ kind: 'partial', failed: new Map([['orders-1', 4]]) });
  });

  it.each([
    ['batchItemFailures that is not an array', { batchItemFailures: { itemIdentifier: { partition: 'orders-0', offset: 10 } } }, /not an array/],
    ['an entry that is not an object', answer('orders-0:10'), /batchItemFailures\[0\] is not an object/],
    ['a null entry', answer(null), /batchItemFailures\[0\] is not an object/],
    ['a missing itemIdentifier', answer({ partition: 'orders-0', offset: 10 }), /itemIdentifier is not an object/],
    ['a null itemIdentifier', answer({ itemIdentifier: null }), /itemIdentifier is not an object/],
    ['a string itemIdentifier (the Kinesis form)', answer({ itemIdentifier: '10' }), /itemIdentifier is not an object/],
    ['a missing partition', answer({ itemIdentifier: { offset: 10 } }), /partition is not/],
    ['an empty partition', answer(failure('', 10)), /partition is not/],
    ['a numeric partition', answer(failure(0, 10)), /partition is not/],
    ['a missing offset', answer({ itemIdentifier: { partition: 'orders-0' } }), /offset is not an offset/],
    ['a negative offset', answer(failure('orders-0', -1)), /offset is not an offset/],
    ['a fractional offset', answer(failure('orders-0', 10.5)), /offset is not an offset/],
    ['a non-numeric offset string', answer(failure('orders-0', '1e1')), /offset is not an offset/],
    ['a padded offset string', answer(failure('orders-0', ' 10')), /offset is not an offset/],
    ['an empty offset string', answer(failure('orders-0', '')), /offset is not an offset/],
    ['an offset beyond safe integers', answer(failure('orders-0', '9007199254740993')), /offset is not an offset/],
    ['a partition not in the batch', answer(failure('orders-7', 10)), /"orders-7" is not a partition of the batch/],
    ['an offset not in the batch', answer(failure('orders-0', 13)), /offset 13 is not in the batch for "orders-0"/],
    ['one bad entry among good ones', answer(failure('orders-0', 10), failure('orders-0', 99)), /batchItemFailures\[1\]/],
  ])('makes the whole answer invalid for %s', (_what, a, why) => {
    const r = parseBatchResponse(a, batch);
    expect(r.kind).toBe('invalid');
    expect((r as { message: string }).message).toMatch(why);
  });
});
