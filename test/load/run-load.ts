// `npm run test:load -- [--connections 200 --seconds 60 --partitions 4 --produce-share 0.5
// --fetch-share 0.3 --consumer-share 0.2 --consumers 3 --timeout 30 --max-requests N --seed S]`:
// the load run against a real local server on loopback, ending in one JSON line. Exits non-zero on any
// error that is not a 4xx (5xx, timeout, connection error) and on any lost or mismatched record.
import { parseArgs } from 'node:util';
import { DEFAULT_LOAD, loadRun, type LoadSummary } from './load-run.ts';
import { KINDS } from './tally.ts';

const d = DEFAULT_LOAD;
const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: String(d.connections) },
    seconds: { type: 'string', default: String(d.seconds) },
    partitions: { type: 'string', default: String(d.partitions) },
    'produce-share': { type: 'string', default: String(d.shares.produce) },
    'fetch-share': { type: 'string', default: String(d.shares.fetch) },
    'consumer-share': { type: 'string', default: String(d.shares.consume) },
    consumers: { type: 'string', default: String(d.consumers) },
    timeout: { type: 'string', default: String(d.timeoutSeconds) },
    'max-requests': { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});

function number(name: string, raw: string | undefined, min: number, max: number, integer = true): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    console.error(`test:load: --${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not ${raw}`);
    process.exit(2);
  }
  return n;
}

// Upper limits keep a mistyped option from turning a load run into a machine-wide outage.
const shares = {
  produce: number('produce-share', values['produce-share'], 0, 1000, false),
  fetch: number('fetch-share', values['fetch-share'], 0, 1000, false),
  consume: number('consumer-share', values['consumer-share'], 0, 1000, false),
};
if (shares.produce + shares.fetch + shares.consume <= 0) {
  console.error('test:load: at least one of the shares must be above 0');
  process.exit(2);
}
const seconds = number('seconds', values.seconds, 1, 3600);
const connections = number('connections', values.connections, 1, 2000);
const options = {
  ...d,
  connections,
  seconds,
  partitions: number('partitions', values.partitions, 1, 256),
  shares,
  consumers: number('consumers', values.consumers, 1, 64),
  timeoutSeconds: number('timeout', values.timeout, 1, 600),
  // autocannon splits the cap between the connections, and a connection whose share is 0 has no cap at all.
  ...(values['max-requests'] !== undefined ? { maxRequests: number('max-requests', values['max-requests'], connections, 100_000_000) } : {}),
  seed: number('seed', values.seed, 0, 2 ** 31),
};

const controller = new AbortController();
let interrupted: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // One Ctrl-C arrives twice, from the terminal and relayed by npm, so only a later one means "now"
    // (the exit guard still kills the server and removes its folder).
    if (interrupted !== undefined) {
      if (Date.now() - interrupted > 2000) process.exit(130);
      return;
    }
    interrupted = Date.now();
    console.error(`test:load: ${signal}, stopping`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
// Start-up, the load and the read-back each have their own bounds; this one catches anything they miss.
const watchdogMs = (seconds + 900) * 1000;
const watchdog = setTimeout(() => controller.abort(new Error(`the run took longer than ${watchdogMs / 1000} s`)), watchdogMs);
watchdog.unref();

function print(s: LoadSummary): void {
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  console.log(`\n${s.connections} connections, ${s.duration_s} s, ${s.partitions} partitions, seed ${s.seed}`);
  console.log(`${'kind'.padEnd(8)}${pad('requests', 10)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('2xx', 8)}${pad('4xx', 7)}${pad('5xx', 7)}${pad('unanswered', 12)}`);
  for (const k of KINDS) {
    const f = s.by_kind[k];
    console.log(`${k.padEnd(8)}${pad(f.requests, 10)}${pad(f.requests_per_s, 9)}${pad(f.p50_ms, 9)}${pad(f.p99_ms, 9)}${pad(f['2xx'], 8)}${pad(f['4xx'], 7)}${pad(f['5xx'], 7)}${pad(f.unanswered, 12)}`);
  }
  console.log(`${'all'.padEnd(8)}${pad(s.requests, 10)}${pad(s.requests_per_s, 9)}${pad(s.latency_p50_ms, 9)}${pad(s.latency_p99_ms, 9)}${pad(s['2xx'], 8)}${pad(s['4xx'], 7)}${pad(s['5xx'], 7)}`);
  console.log(`non-4xx errors: ${s.non_4xx_errors} (5xx ${s['5xx']}, timeouts ${s.timeouts}, connection errors ${s.connection_errors})`);
  for (const e of s.errors.slice(0, 10)) console.log(`  ${e.count} x ${e.kind} ${e.status} ${e.error_code ?? '-'}: ${e.message}`);
  const logged = s.server_logged_failures.reduce((n, f) => n + f.count, 0);
  if (logged > 0) console.log(`the server logged ${logged} failed requests (with those whose client had timed out):`);
  for (const f of s.server_logged_failures.slice(0, 10)) console.log(`  ${f.count} x ${f.kind} ${f.code}: ${f.error}`);
  console.log(`records acknowledged ${s.records_acknowledged}, lost ${s.records_lost}, mismatched ${s.records_mismatched}, offsets acknowledged twice ${s.offsets_acknowledged_twice}; in the log unacknowledged ${s.records_unacknowledged_in_log}`);
  for (const e of s.examples) console.log(`  ${e}`);
  console.log(s.ok ? 'load run passed' : 'load run FAILED');
}

try {
  const summary = await loadRun({ ...options, signal: controller.signal, log: (l) => console.error(l) });
  print(summary);
  console.log(JSON.stringify(summary));
  process.exitCode = summary.ok ? 0 : 1;
} catch (e) {
  console.error(`test:load: ${controller.signal.aborted ? (controller.signal.reason as Error).message : (e as Error).stack ?? String(e)}`);
  process.exitCode = interrupted !== undefined ? 130 : 1;
} finally {
  clearTimeout(watchdog);
}
