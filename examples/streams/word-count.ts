// The word count, Kafka Streams' first example: lines of text in, a running count per word out.
// `npm run -s floe -- streams run examples/streams/word-count.ts` runs it in this process against a
// Floe (README, "Streams"); `handler` is the same topology as a topic trigger's function.
//
// An installed application imports '@floe/streams'; the repository's examples import the source.
import { Materialized, Produced, Serdes, StreamsBuilder, streamsHandler } from '../../packages/streams/src/index.ts';

export const applicationId = 'wordcount';

const builder = new StreamsBuilder();

builder
  .stream('text-lines', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  // Letters and digits of any script make a word; \W would cut "café" in two.
  .flatMapValues((line) => line.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word !== ''))
  // The word becomes the key, so the counts go through a repartition topic: every occurrence of a
  // word, from whichever partition of text-lines, is counted by the one task that owns that word.
  .groupBy((_key, word) => word)
  // Named so its table has a name to query: wordcount-counts (GET /floe/v1/tables/wordcount-counts/keys/hello).
  .count(Materialized.as('counts'))
  .toStream()
  .to('word-counts', Produced.with(Serdes.String(), Serdes.Long()));

export const topology = builder.build();

export const handler = streamsHandler(topology, { applicationId });
