import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kafkajsPartition } from '../../../test/support/kafkajs-oracle.ts';
import { murmur2, partitionForKey } from './index.ts';

describe('murmur2 partitioner', () => {
  it('matches values the Java client computes', () => {
    // Utils.murmur2 results for these inputs, as published in Kafka's own UtilsTest.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it('puts 10,000 random keys where kafkajs\'s default partitioner does, for several partition counts', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => randomBytes(1 + (i % 40)));
    for (const partitions of [1, 2, 3, 7, 12, 100, 1000]) {
      for (const key of keys) expect(partitionForKey(key, partitions)).toBe(kafkajsPartition(key, partitions));
    }
  });

  it('handles the empty key and every tail length', () => {
    for (let len = 0; len < 9; len++) {
      const key = Buffer.alloc(len, 0xab);
      expect(partitionForKey(key, 13)).toBe(kafkajsPartition(key, 13));
    }
  });
});
