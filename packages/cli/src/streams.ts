// `floe streams run app.ts`: a streams application's module (its `topology` and `applicationId`
// exports) run in this process against any Floe, until SIGINT or SIGTERM. `floe streams deploy app.ts`
// runs it inside the local server instead: one module trigger per sub-topology calling the module's
// `handler` export. `floe streams describe` prints its topology. TypeScript apps load through tsx when it is installed (it is in the repository).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Floe } from '../../client/src/index.ts';
import { deployStreams, FloeStreams, type TopologyLike } from '../../streams/src/runtime/index.ts';
import { UsageError } from './format.ts';

export interface StreamsRunFlags {
  applicationId?: string;
  guarantee: string;
}

interface AppModule {
  topology?: TopologyLike & { describe?: () => string };
  applicationId?: string;
  default?: { topology?: TopologyLike; applicationId?: string };
}

async function load(file: string): Promise<{ topology: TopologyLike & { describe(): string }; applicationId?: string }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`no such file: ${file}`);
  if (/\.[cm]?tsx?$/.test(path)) {
    try {
      const tsx = (await import('tsx/esm/api')) as { register(): unknown };
      tsx.register();
    } catch {
      // Already running under tsx (npm run floe), or Node strips the types itself.
    }
  }
  let m: AppModule;
  try {
    m = (await import(pathToFileURL(path).href)) as AppModule;
  } catch (e) {
    throw new UsageError(`cannot load ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  const topology = (m.topology ?? m.default?.topology) as (TopologyLike & { describe(): string }) | undefined;
  if (!topology || (typeof (topology as { compiled?: unknown }).compiled !== 'function' && typeof (topology as { createTask?: unknown }).createTask !== 'function')) {
    throw new UsageError(`${file} must export 'topology' (builder.build()) and 'applicationId'`);
  }
  return { topology, applicationId: m.applicationId ?? m.default?.applicationId };
}

export async function streamsDescribe(file: string): Promise<void> {
  const { topology } = await load(file);
  process.stdout.write(`${topology.describe()}\n`);
}

export async function streamsDeploy(floe: Floe, file: string, flags: { applicationId?: string; export: string }): Promise<void> {
  const app = await load(file);
  const applicationId = flags.applicationId ?? app.applicationId;
  if (!applicationId) throw new UsageError(`${file} exports no applicationId: give --application-id`);
  if (!/^[A-Za-z_$][\w$]*$/.test(flags.export)) throw new UsageError(`--export must name an exported function, got '${flags.export}'`);
  const names = await deployStreams(floe, app.topology, applicationId, { type: 'module', path: resolve(file), export: flags.export });
  for (const n of names) process.stdout.write(`${n}\n`);
}

export async function streamsRun(floe: Floe, file: string, flags: StreamsRunFlags, signal?: AbortSignal): Promise<void> {
  if (flags.guarantee !== 'exactly_once' && flags.guarantee !== 'at_least_once') throw new UsageError(`--guarantee must be exactly_once or at_least_once, got '${flags.guarantee}'`);
  const app = await load(file);
  const applicationId = flags.applicationId ?? app.applicationId;
  if (!applicationId) throw new UsageError(`${file} exports no applicationId: give --application-id`);
  if (!/^[a-zA-Z0-9._-]{1,120}$/.test(applicationId)) throw new UsageError(`the application id must be 1 to 120 characters of [a-zA-Z0-9._-], got '${applicationId}'`);
  const streams = new FloeStreams(app.topology, {
    applicationId,
    floe,
    processingGuarantee: flags.guarantee,
    onError: (e, task) => process.stderr.write(`floe: task ${task}: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}\n`),
  });
  await streams.start();
  process.stderr.write(`floe: running '${applicationId}' (${flags.guarantee})\n`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
  });
  await streams.close();
  const m = streams.metrics();
  process.stderr.write(`floe: stopped '${applicationId}': ${m['records-processed']} records processed, ${m.commits} commits\n`);
}
