// Child process of `npm run bench`: reads partition 0 of a topic from offset 0 to a given high
// watermark through the fetch path, as a consumer does, sampling its own RSS; prints one JSON line.
// The parent passes the emulators' endpoints and the bench's tables and bucket in the environment.
// Usage: node --import tsx bench/consume-rss.ts <topic> <highWatermark>
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const [topic, end] = process.argv.slice(2);
if (!topic || !end) throw new Error('usage: consume-rss.ts <topic> <highWatermark>');
const highWatermark = Number(end);
const config = loadConfig(process.env);
const engine = createEngine(config, createClients(config));

// What the process holds before reading anything (Node, tsx, the SDK clients), to tell apart from the read's own.
const startRss = process.memoryUsage().rss;
let peak = startRss;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
// A timer as well as a sample per fetch: a fetch's buffers may peak and be freed between two fetches.
const timer = setInterval(sample, 20);
const t = performance.now();
let records = 0;
for (let offset = 0; offset < highWatermark; ) {
  const r = await engine.fetcher.fetch({ topic, partition: 0, offset });
  records += r.records.length;
  offset = r.nextOffset;
  sample();
}
clearInterval(timer);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
console.log(
  JSON.stringify({
    records,
    ms: Math.round(performance.now() - t),
    peak_rss_mb: mb(peak),
    start_rss_mb: mb(startRss),
    range_cache_mb: mb(engine.fetcher.cachedBytes),
    // The kernel's own high-water mark (KiB), which no sampling interval can miss.
    max_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
  }),
);
