// A topology run by topic triggers: one trigger per sub-topology calls one function (a Lambda function
// in AWS, a module under the local server) with MSK-shaped events; the handler runs the batch as the
// task of that sub-topology and partition and commits it in one Floe transaction. Each invocation
// initializes the task's transactional id first, so an older invocation still running (a zombie the
// dispatcher gave up on) is fenced and cannot commit. A retried batch skips what a commit already
// covers: the group's offsets moved with it.
import { Floe, type DirectOptions, type FloeAuth } from '../../../client/src/index.ts';
import type { InputRecord } from '../task.ts';
import { unb64 } from './bytes.ts';
import { compiledOf, type TopologyLike } from './floe-streams.ts';
import { resolveLayout, type Layout } from './layout.ts';
import { byTimestamp, TaskRunner, type ProcessingGuarantee, type RunnerDeps } from './task-runner.ts';

export interface StreamsHandlerOptions {
  applicationId: string;
  /**
   * The Floe API. Without `url` or `direct`: FLOE_URL when set, else direct mode when the FLOE_* table
   * variables are set (what FloeStreamsApp gives its function), else the local server.
   */
  url?: string;
  direct?: DirectOptions;
  auth?: FloeAuth;
  floe?: Floe;
  processingGuarantee?: ProcessingGuarantee;
}

/** An MSK record as a trigger delivers it. */
interface MskRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key?: string | null;
  value: string | null;
  headers?: Array<Record<string, number[]>>;
}

/** The scheduled event that closes windows on idle partitions. */
export const TICK_EVENT = { 'floe-streams': 'tick' } as const;

function isTick(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as Record<string, unknown>)['floe-streams'] === 'tick';
}

function inputOfMsk(r: MskRecord): InputRecord {
  const headers: InputRecord['headers'] = [];
  for (const h of r.headers ?? []) {
    for (const [key, bytes] of Object.entries(h)) headers.push({ key, value: bytes.length === 0 ? null : new Uint8Array(bytes.map((b) => b & 0xff)) });
  }
  return { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: unb64(r.key), value: unb64(r.value), headers };
}

/**
 * The function handler for a topology run by triggers (what `FloeStreamsApp` deploys, and what a
 * module trigger of the local server calls).
 *
 * @example
 * // src/app.ts
 * export const topology = builder.build();
 * export const handler = streamsHandler(topology, { applicationId: 'wordcount' });
 */
export function streamsHandler(topology: TopologyLike, options: StreamsHandlerOptions): (event: unknown) => Promise<Record<string, never>> {
  const compiled = compiledOf(topology);
  let floe: Floe | undefined;
  let layout: Promise<Layout> | undefined;
  const metrics = new Map<string, number>();
  const calls = { lookups: 0, ranges: 0, commits: 0, fetches: 0 };
  return async (event: unknown) => {
    floe ??=
      options.floe ??
      new Floe({
        ...(options.direct
          ? { direct: options.direct }
          : options.url || process.env.FLOE_URL || !process.env.FLOE_TOPICS_TABLE
            ? { url: options.url ?? process.env.FLOE_URL ?? 'http://127.0.0.1:8082' }
            : { direct: {} }),
        ...(options.auth ? { auth: options.auth } : {}),
      });
    layout ??= resolveLayout(floe, options.applicationId, compiled, true).catch((e: unknown) => {
      layout = undefined;
      throw e;
    });
    const deps: RunnerDeps = { floe, topology: compiled, layout: await layout, guarantee: options.processingGuarantee ?? 'exactly_once', metrics, calls };
    if (isTick(event)) {
      for (const sub of compiled.subtopologies.filter((s) => s.punctuates)) {
        for (let p = 0; p < deps.layout.tasks.get(sub.id)!; p++) {
          const runner = new TaskRunner(deps, sub, p);
          try {
            await runner.punctuate(Date.now());
          } finally {
            await runner.close();
          }
        }
      }
      return {};
    }
    const records = (event as { records?: Record<string, MskRecord[]> }).records;
    if (!records || typeof records !== 'object') throw new Error('not a trigger event: no records');
    // One task per (sub-topology, partition); a sub-topology reading several topics gets them together.
    const tasks = new Map<string, { runner: TaskRunner; lists: InputRecord[][] }>();
    for (const list of Object.values(records)) {
      if (!list.length) continue;
      const topic = list[0]!.topic;
      const sub = compiled.subtopologies.find((s) => s.sources.some((src) => deps.layout.topicName(src) === topic));
      if (!sub) throw new Error(`application '${options.applicationId}' reads no topic '${topic}'`);
      const id = `${sub.id}_${list[0]!.partition}`;
      let t = tasks.get(id);
      if (!t) tasks.set(id, (t = { runner: new TaskRunner(deps, sub, list[0]!.partition), lists: [] }));
      t.lists.push(list.map(inputOfMsk));
    }
    for (const { runner, lists } of tasks.values()) {
      try {
        await runner.process(byTimestamp(lists));
      } finally {
        await runner.close();
      }
    }
    return {};
  };
}

/** The trigger settings of each sub-topology: from the start of the topics, retried in place (never dead-lettered early), no bisecting. */
export function streamsTriggers(topology: TopologyLike, applicationId: string, target: Record<string, unknown>): Array<Record<string, unknown>> {
  const compiled = compiledOf(topology);
  const name = (s: { name: string; internal: boolean }) => (s.internal ? `${applicationId}-${s.name}` : s.name);
  return compiled.subtopologies.map((sub) => ({
    name: `${applicationId}-subtopology-${sub.id}`,
    topics: sub.sources.map(name),
    target,
    batch_size: 1000,
    max_batching_window_ms: 100,
    starting_position: 'TRIM_HORIZON',
    retry_attempts: 10_000,
    bisect_on_error: false,
  }));
}

/**
 * Runs a topology as triggers of a Floe (locally: module targets of the local server): creates its
 * internal topics and tables, then one trigger per sub-topology calling `target`.
 *
 * @example
 * await deployStreams(floe, topology, 'wordcount', { type: 'module', path: 'src/app.ts', export: 'handler' });
 */
export async function deployStreams(floe: Floe, topology: TopologyLike, applicationId: string, target: Record<string, unknown>): Promise<string[]> {
  await resolveLayout(floe, applicationId, compiledOf(topology), true);
  const names: string[] = [];
  for (const t of streamsTriggers(topology, applicationId, target)) {
    try {
      await floe.request('POST', '/floe/v1/triggers', { body: t });
    } catch (e) {
      if (!((e as { status?: number }).status === 409)) throw e;
    }
    names.push(t.name as string);
  }
  return names;
}
