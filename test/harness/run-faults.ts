// `npm run test:faults -- --ops N --seed S [--idempotent --single-attempt --no-cleaner --producers P --consumers C --partitions K --crash-every N --max-seconds T]`:
// the long fault run, on its own emulators, ending in one JSON line with the checker's counts.
// `--transactions` runs the transactional workload instead (txn-workload.ts: `--producers` transactional
// ids, `--consumers` read_committed readers, a consume-transform-produce loop and zombies); it exits 1
// when any anomaly count is not zero.
// `--triggers` runs the trigger workload (trigger-workload.ts): `--ops` records produced at `--rate` a
// second to `--partitions` partitions, delivered by `--dispatchers` dispatcher processes under faults and
// crashes to a handler that fails in every way; it exits 1 when any anomaly count is not zero.
// `--connectors` runs the connector workload (connector-workload.ts): `--ops` updates, tombstones and bad
// records over `--keys` keys sunk into a DynamoDB table and an S3 bucket under faults, crashes and zombie
// writes; it exits 1 when the table, the objects or the dead letters are not exactly as the log says.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { startEmulators } from '../../src/local/emulators.ts';
import { createClients } from '../../src/storage/clients.ts';
import { ensureStorage } from '../../src/storage/setup.ts';
import { DEFAULT_FAULTS } from './faults.ts';
import { runTriggerWorkload, triggerSummary } from './trigger-workload.ts';
import { connectorSummary, runConnectorWorkload } from './connector-workload.ts';
import { WINDOWED_COUNT, WORD_COUNT } from './streams-apps.ts';
import { runStreamsWorkload, streamsSummary } from './streams-workload.ts';
import { runTxnWorkload, txnSummary } from './txn-workload.ts';
import { runWorkload, summary } from './workload.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    // 8 and 4; with --transactions, 3 and 2.
    producers: { type: 'string' },
    consumers: { type: 'string' },
    partitions: { type: 'string', default: '4' },
    'crash-every': { type: 'string', default: '200' },
    'max-seconds': { type: 'string', default: '3600' },
    idempotent: { type: 'boolean', default: false },
    // No SDK retries on the storage clients: every lost answer reaches Floe's own retry loop.
    'single-attempt': { type: 'boolean', default: false },
    // No merging beside the workload (merges rewrite entries a probing producer looks for, as the
    // production age limit, which a run this short cannot wait for, prevents).
    'no-cleaner': { type: 'boolean', default: false },
    transactions: { type: 'boolean', default: false },
    triggers: { type: 'boolean', default: false },
    streams: { type: 'boolean', default: false },
    connectors: { type: 'boolean', default: false },
    // With --connectors: the keys the records update.
    keys: { type: 'string', default: '500' },
    app: { type: 'string', default: 'wordcount' },
    guarantee: { type: 'string', default: 'exactly_once' },
    // With --streams: records per batch of a task (one commit each).
    batch: { type: 'string', default: '500' },
    // With --triggers: dispatcher processes, and records produced a second.
    dispatchers: { type: 'string', default: '3' },
    rate: { type: 'string', default: '20' },
    // With --transactions or --triggers: the whole history as JSON to this file, when an anomaly was found.
    history: { type: 'string' },
  },
});
const txn = values.transactions;
const triggers = values.triggers;

const run = randomBytes(4).toString('hex');
const emulators = process.env.AWS_ENDPOINT_URL ? undefined : await startEmulators();
// Interrupted (Ctrl-C, a kill), it stops the emulators it started before it goes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void (emulators?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
const env = {
  ...process.env,
  FLOE_TABLE_PREFIX: `faults-${run}-`,
  FLOE_BUCKET: `floe-faults-${run}`,
  ...(emulators ? { AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb, AWS_ENDPOINT_URL_S3: emulators.endpoints.s3 } : {}),
};
const config = loadConfig(env);
await ensureStorage(createClients(config), config.tables, config.bucket);
const seed = Number(values.seed);
console.error(`${txn ? 'transactional ' : triggers ? 'trigger ' : ''}fault run: seed ${seed}, ${values.ops} ${triggers ? 'records' : 'operations'}`);
try {
  if (values.streams) {
    const guarantee = values.guarantee === 'at_least_once' ? 'at_least_once' : 'exactly_once';
    const result = await runStreamsWorkload({
      config,
      prefix: `faults-${run}`,
      seed,
      app: values.app === 'windowed' ? WINDOWED_COUNT : WORD_COUNT,
      words: Number(values.ops),
      partitions: Number(values.partitions),
      guarantee,
      rates: DEFAULT_FAULTS,
      crashEvery: Number(values['crash-every']),
      clientFaultRate: 0.02,
      zombieEvery: 5,
      maxMs: Number(values['max-seconds']) * 1000,
      batchRecords: Number(values.batch),
    });
    const s = streamsSummary(result, guarantee);
    console.log(JSON.stringify({ seed, mode: 'streams', app: values.app, ...s }));
    if (result.trace) console.log(JSON.stringify(result.trace));
    if (!s.valid) {
      console.error(JSON.stringify({ under: result.under.slice(0, 20), over: result.over.slice(0, 20), table: result.tableMismatches.slice(0, 20), crashes_at: result.crashesAt }));
      process.exitCode = 1;
    }
  } else if (values.connectors) {
    const result = await runConnectorWorkload({
      config,
      prefix: `faults-${run}`,
      seed,
      records: Number(values.ops),
      keys: Number(values.keys),
      partitions: Number(values.partitions),
      dispatchers: Number(values.dispatchers),
      rates: DEFAULT_FAULTS,
      crashEvery: Number(values['crash-every']),
      maxMs: Number(values['max-seconds']) * 1000,
      drainMs: 300_000,
    });
    const s = connectorSummary(result);
    console.log(JSON.stringify({ seed, mode: 'connectors', ...s }));
    if (!s.valid) {
      console.error(JSON.stringify({ ...Object.fromEntries(Object.entries(result.check).map(([k, v]) => [k, v.slice(0, 20)])), dispatcher_log: result.log.slice(-20) }));
      process.exitCode = 1;
    }
  } else if (triggers) {
    const result = await runTriggerWorkload({
      config,
      prefix: `faults-${run}`,
      seed,
      records: Number(values.ops),
      recordsPerSecond: Number(values.rate),
      maxMs: Number(values['max-seconds']) * 1000,
      partitions: Number(values.partitions),
      dispatchers: Number(values.dispatchers),
      rates: DEFAULT_FAULTS,
      crashEvery: Number(values['crash-every']),
      sdkRetries: !values['single-attempt'],
    });
    const s = triggerSummary(result);
    console.log(JSON.stringify({ seed, mode: 'triggers', ...s }));
    if (!s.valid) {
      const r = result.result;
      console.error(
        JSON.stringify({
          lost: r.lost.slice(0, 20),
          out_of_order: r.outOfOrder.slice(0, 20),
          skipped: r.skipped.slice(0, 20),
          unexplained_duplicates: r.unexplainedDuplicates.slice(0, 20),
          bad_dead_letters: r.badDeadLetters.slice(0, 20),
          commit_regressions: r.commitRegressions.slice(0, 20),
          dispatcher_log: result.log.slice(-20),
        }),
      );
      if (values.history) await writeFile(values.history, JSON.stringify({ ...result.history, committed: Object.fromEntries([...result.history.committed].map(([t, m]) => [t, Object.fromEntries(m)])) }));
      process.exitCode = 1;
    }
  } else if (txn) {
    const ops = Number(values.ops);
    const result = await runTxnWorkload({
      config,
      prefix: `faults-${run}`,
      seed,
      ops,
      maxMs: Number(values['max-seconds']) * 1000,
      rates: DEFAULT_FAULTS,
      crashEvery: Number(values['crash-every']),
      sdkRetries: !values['single-attempt'],
      producers: Number(values.producers ?? 3),
      readers: Number(values.consumers ?? 2),
      // Enough input that the consume-transform-produce loop does not run dry.
      inputRecords: Math.max(200, Math.ceil(ops / 8)),
    });
    const s = txnSummary(result);
    console.log(JSON.stringify({ seed, mode: 'transactions', ...s }));
    if (!s.valid) {
      const r = result.result;
      console.error(
        JSON.stringify({
          aborted: r.abortedReads.slice(0, 20),
          precommitted: r.precommittedReads.slice(0, 20),
          torn: r.torn.slice(0, 20),
          lost: r.lostWrites.slice(0, 20),
          duplicates: r.duplicates.slice(0, 20),
          inconsistent: r.inconsistent.slice(0, 20),
          skips: r.pollSkips.slice(0, 20),
          non_monotonic: r.nonMonotonicPolls.slice(0, 20),
          offsets_without_outputs: r.offsetsWithoutOutputs.slice(0, 20),
          outputs_without_offsets: r.outputsWithoutOffsets.slice(0, 20),
          fenced: r.fenced.slice(0, 20),
          open_past_timeout: r.openPastTimeout.slice(0, 20),
          incomplete: r.incomplete.slice(0, 20),
        }),
      );
      if (values.history) await writeFile(values.history, JSON.stringify(result.history));
      process.exitCode = 1;
    }
  } else {
    const result = await runWorkload({
      config,
      topic: `faults-${run}`,
      seed,
      ops: Number(values.ops),
      maxMs: Number(values['max-seconds']) * 1000,
      producers: Number(values.producers ?? 8),
      consumers: Number(values.consumers ?? 4),
      partitions: Number(values.partitions),
      rates: DEFAULT_FAULTS,
      crashEvery: Number(values['crash-every']),
      idempotent: values.idempotent,
      sdkRetries: !values['single-attempt'],
      cleaner: !values['no-cleaner'],
    });
    const s = summary(result);
    console.log(JSON.stringify({ seed, idempotent: values.idempotent, ...s }));
    if (!s.valid) {
      console.error(JSON.stringify({ lost: result.result.lost.slice(0, 20), inconsistent: result.result.inconsistent.slice(0, 20), skips: result.result.pollSkips.slice(0, 20), unseen: result.result.unseen.slice(0, 20) }));
      process.exitCode = 1;
    }
  }
} finally {
  await emulators?.stop();
}
