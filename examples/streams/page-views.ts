// Page views per page and minute, each minute's count emitted once: when the minute can no longer
// change. A view may arrive up to 10 s after its minute ended and still count; a later one is dropped
// from the count and kept on page-views-late, where it can be looked at or reconciled.
//
// An installed application imports '@floe/streams'; the repository's examples import the source.
import { BufferConfig, KeyValue, Materialized, Produced, Serdes, StreamsBuilder, Suppressed, TimeWindows, streamsHandler } from '../../packages/streams/src/index.ts';

export interface PageView {
  user: string;
  page: string;
}

export const applicationId = 'page-views';

export const WINDOW_MS = 60_000;
export const GRACE_MS = 10_000;

const builder = new StreamsBuilder();

builder
  // Keyed by page already: counting per page needs no repartition.
  .stream('page-views', { keySerde: Serdes.String(), valueSerde: Serdes.Json<PageView>() })
  .groupByKey()
  .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS), { lateRecordsTopic: 'page-views-late' })
  .count(Materialized.as('views-per-minute'))
  // Without suppress every view would emit the minute's running count. The task punctuates on the
  // wall clock as well, so the last minute of a page nobody visits any more is still emitted.
  .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
  .toStream()
  // A windowed key is the page's bytes plus an 8-byte start, and the count an 8-byte long: written as
  // text instead, `floe consume page-views-per-minute -f '%k %s\n'` prints them as they are.
  .map((windowed, count) => KeyValue.pair(`${windowed.key}@${new Date(windowed.window.start).toISOString()}`, String(count)))
  .to('page-views-per-minute', Produced.with(Serdes.String(), Serdes.String()));

export const topology = builder.build();

export const handler = streamsHandler(topology, { applicationId });
