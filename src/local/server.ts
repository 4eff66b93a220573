// The local runtime: the emulators (unless an endpoint is configured), the tables and bucket, the
// HTTP app on Node, and the background jobs on timers. `npm start` is a thin CLI over startLocal().
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../api/app.ts';
import { loadConfig, type FloeConfig } from '../config.ts';
import { consoleAssets, type ConsoleAssets } from '../console/assets.ts';
import { groupLags, SampleRing } from '../console/samples.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { createClients } from '../storage/clients.ts';
import { ensureStorage } from '../storage/setup.ts';
import { processAlive, startEmulators, waitForExit, type Emulators } from './emulators.ts';
import { readNodeBody } from './node-body.ts';
import { startTimers, type TimedJob } from './timers.ts';

export interface LocalOptions {
  /** The environment to read Floe's configuration from (process.env by default). */
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  port?: number;
  host?: string;
  /** Background jobs to run on timers, built once the engine exists. */
  jobs?: (engine: Engine) => TimedJob[];
  log?: (line: string) => void;
  /** Where the trigger dispatcher reports failures it recovers from (the log by default). */
  triggerLog?: (line: string) => void;
  /** How often the trigger sweep runs (ms). */
  triggerSweepMs?: number;
  /** How often the console's ring samples rates and lag (ms; 10 s by default). */
  consoleSampleMs?: number;
}

export interface LocalServer {
  url: string;
  /** The web console: `${url}/console/`. */
  consoleUrl: string;
  dataDir: string;
  endpoints: { dynamodb: string | undefined; s3: string | undefined };
  engine: Engine;
  stop(): Promise<void>;
}

/** Written in the data folder while a server runs: how to find it and the storage it uses. */
export interface RunningState {
  pid: number;
  url: string;
  endpoints: { dynamodb?: string; s3?: string };
  tablePrefix?: string;
  bucket: string;
}

export const STATE_FILE = 'server.json';

export function readRunningState(dataDir: string): RunningState | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8')) as RunningState;
  } catch {
    return undefined;
  }
}

/**
 * A server of an earlier start may still hold this data folder: its npm parent was killed and it
 * lives on, or it is hung. Two servers on one folder would corrupt DynamoDB Local's database, so the
 * earlier one is stopped (SIGTERM, then SIGKILL) before this one starts.
 */
async function stopPreviousServer(dataDir: string, log: (line: string) => void): Promise<void> {
  const state = readRunningState(dataDir);
  if (!state || state.pid === process.pid || !processAlive(state.pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8');
  } catch {
    // Not Linux, or gone: signal it anyway if alive.
  }
  if (cmdline && !/node|tsx/.test(cmdline)) return; // the pid was reused by something else
  log(`floe: stopping an earlier server (pid ${state.pid}) that still uses ${dataDir}`);
  process.kill(state.pid, 'SIGTERM');
  if (await waitForExit(state.pid, 5000)) return;
  process.kill(state.pid, 'SIGKILL');
  if (!(await waitForExit(state.pid, 5000))) throw new Error(`an earlier server (pid ${state.pid}) still uses ${dataDir} 5 s after SIGKILL; stop it, then start again`);
}

export async function startLocal(options: LocalOptions = {}): Promise<LocalServer> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = resolve(options.dataDir ?? env.FLOE_DATA_DIR ?? '.floe');
  mkdirSync(dataDir, { recursive: true });
  await stopPreviousServer(dataDir, log);

  const external = Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL_S3);
  let emulators: Emulators | undefined;
  let config: FloeConfig;
  if (external) {
    config = loadConfig(env);
  } else {
    // Validate the configuration before starting anything that would need stopping.
    loadConfig(env);
    emulators = await startEmulators({ dataDir });
    config = loadConfig({ ...env, AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb, AWS_ENDPOINT_URL_S3: emulators.endpoints.s3 });
  }

  let server: ServerType | undefined;
  let timers: { stop(): Promise<void> } | undefined;
  let ring: SampleRing | undefined;
  try {
    const clients = createClients(config);
    // The console's bundle builds while storage is set up; only its pages wait for it.
    const assets = buildConsoleOnce(log);
    await ensureStorage(clients, config.tables, config.bucket);
    // The ring counts what the engine reports, and reads the groups' lag through it once it runs.
    const samples = new SampleRing({ lagOf: () => groupLags(engine), log, ...(options.consoleSampleMs !== undefined ? { intervalMs: options.consoleSampleMs } : {}) });
    ring = samples;
    const engine = createEngine(config, clients, { local: true, metrics: samples.metrics, ...(options.triggerLog ? { triggerLog: options.triggerLog } : { triggerLog: log }) });
    const app = createApp(engine, { readBody: readNodeBody, console: { assets, samples } });
    const host = options.host ?? env.HOST ?? '127.0.0.1';
    const port = options.port ?? Number(env.PORT ?? 8082);
    const listening = await new Promise<{ port: number }>((resolveListen, reject) => {
      server = serve({ fetch: app.fetch, hostname: host, port }, (info) => resolveListen(info));
      server.once('error', reject);
    });
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${listening.port}`;
    engine.dispatcher.setBootstrapServers(url);
    // Triggers: this process's commits wake the dispatcher; the sweep catches retries that came due
    // and commits of other processes (the DynamoDB stream and the one-minute sweep do this in AWS).
    const sweep: TimedJob = { name: 'trigger-sweep', intervalMs: options.triggerSweepMs ?? 1000, run: async () => void (await engine.dispatcher.sweep({ wait: false })) };
    timers = startTimers([...(options.jobs?.(engine) ?? []), sweep], log);
    samples.start();
    const state: RunningState = {
      pid: process.pid,
      url,
      endpoints: { ...(config.endpoints.dynamodb ? { dynamodb: config.endpoints.dynamodb } : {}), ...(config.endpoints.s3 ? { s3: config.endpoints.s3 } : {}) },
      ...(env.FLOE_TABLE_PREFIX ? { tablePrefix: env.FLOE_TABLE_PREFIX } : {}),
      bucket: config.bucket,
    };
    writeFileSync(join(dataDir, STATE_FILE), JSON.stringify(state, null, 2));

    let stopped: Promise<void> | undefined;
    return {
      url,
      consoleUrl: `${url}/console/`,
      dataDir,
      endpoints: config.endpoints,
      engine,
      stop() {
        stopped ??= (async () => {
          await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
          await timers?.stop();
          await samples.stop();
          await engine.dispatcher.stop();
          // acks=0 writes already answered: let them land before storage goes away.
          await Promise.allSettled([...engine.background]);
          await emulators?.stop();
          if (readRunningState(dataDir)?.pid === process.pid) rmSync(join(dataDir, STATE_FILE), { force: true });
        })();
        return stopped;
      },
    };
  } catch (e) {
    server?.close();
    await timers?.stop();
    await ring?.stop();
    await emulators?.stop();
    throw e;
  }
}

/**
 * The console's files, built once with esbuild (a development dependency: `npm install` has it). A
 * failed build leaves the API serving and answers the console's pages with why.
 */
function buildConsoleOnce(log: (line: string) => void): () => Promise<ConsoleAssets> {
  const built = import('../console/build.ts')
    .then((b) => b.buildConsole())
    .then(consoleAssets);
  built.catch((e: unknown) => log(`floe: the console could not be built: ${(e as Error).message}`));
  return () => built.catch((e: unknown) => {
    throw new FloeError('INTERNAL', `the console could not be built: ${(e as Error).message}`);
  });
}


