// A streams application module as `floe streams run` loads it, its topics named by the test's
// environment: lines in STREAMS_IN, the count of each word (as text) out to STREAMS_OUT.
import { StreamsBuilder } from '../../packages/streams/src/index.ts';

const b = new StreamsBuilder();
b.stream<string, string>(process.env.STREAMS_IN ?? 'text-lines')
  .flatMapValues((line) => line.split(' ').filter(Boolean))
  .groupBy((_k, w) => w)
  .count()
  .toStream()
  .mapValues((n) => String(n))
  .to(process.env.STREAMS_OUT ?? 'word-counts');

export const topology = b.build();
export const applicationId = process.env.STREAMS_APP ?? 'cli-wordcount';
