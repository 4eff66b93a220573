// `floe triggers ...`: create, update, list, describe, pause, resume, seek, redrive and delete topic
// triggers, printed as aligned columns like the other admin commands.
import type { Command } from 'commander';
import type { Floe, SeekTo, TriggerConfig } from '../../client/src/index.ts';
import { table } from './admin.ts';
import { UsageError } from './format.ts';

export interface TriggerFlags {
  topic?: string[];
  module?: string;
  export?: string;
  function?: string;
  http?: string;
  timeoutMs?: number;
  batchSize?: number;
  windowMs?: number;
  from?: string;
  filter?: string[];
  retries?: number;
  maxRecordAgeMs?: number;
  bisect?: boolean;
  dlq?: string;
  parallelKeys?: number;
  group?: string;
  disabled?: boolean;
}

/** The options create and update share. */
export function triggerOptions(cmd: Command, int: (name: string, min?: number) => (v: string) => number, collect: (v: string, prev?: string[]) => string[]): Command {
  return cmd
    .option('--topic <topic>', 'a topic the trigger reads (repeatable)', collect)
    .option('--module <path>', 'target: an ES module of the local server (path relative to where it runs)')
    .option('--export <name>', "the module's handler export (default: handler)")
    .option('--function <name-or-arn>', 'target: a Lambda function')
    .option('--http <url>', 'target: POST the event to this URL (local server only)')
    .option('--timeout-ms <ms>', "how long the target may take per event", int('--timeout-ms', 1))
    .option('--batch-size <n>', 'records per event, at most (1 to 10000)', int('--batch-size', 1))
    .option('--window-ms <ms>', 'how long to wait for a batch to fill', int('--window-ms'))
    .option('--from <position>', 'latest | earliest | an ISO time or epoch ms (create only)')
    .option('--filter <pattern>', "a Lambda event-filtering pattern, JSON (repeatable)", collect)
    .option('--retries <n>', 'retries of a failing batch before it goes to the dead-letter topic', int('--retries'))
    .option('--max-record-age-ms <ms>', 'no more retries for records older than this (-1: none)', int('--max-record-age-ms', -1))
    .option('--no-bisect', 'do not split a failing batch to find the failing record')
    .option('--dlq <topic>', 'the dead-letter topic (default <name>.dlq)')
    .option('--parallel-keys <n>', 'run up to n batches of one partition at once, in order per key', int('--parallel-keys', 1))
    .option('--group <id>', 'the consumer group that holds the progress (default trigger.<name>)')
    .option('--disabled', 'create it paused');
}

function parseTime(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--from must be latest, earliest, an ISO time or epoch ms, got '${v}'`);
  return t;
}

/** The API body of the flags given (only those given, for an update). */
export function triggerBody(o: TriggerFlags, creating: boolean): Partial<TriggerConfig> {
  const targets = [o.module, o.function, o.http].filter((x) => x !== undefined).length;
  if (targets > 1) throw new UsageError('give one target: --module, --function or --http');
  if (creating && targets === 0) throw new UsageError('triggers create needs a target: --module, --function or --http');
  if (creating && !o.topic?.length) throw new UsageError('triggers create needs --topic');
  if (o.export !== undefined && o.module === undefined) throw new UsageError('--export goes with --module');
  const body: Partial<TriggerConfig> = {};
  if (o.topic?.length) body.topics = o.topic;
  const timeout = o.timeoutMs !== undefined ? { timeout_ms: o.timeoutMs } : {};
  if (o.module !== undefined) body.target = { type: 'module', path: o.module, ...(o.export !== undefined ? { export: o.export } : {}), ...timeout };
  else if (o.function !== undefined) body.target = { type: 'lambda', function: o.function, ...timeout };
  else if (o.http !== undefined) body.target = { type: 'http', url: o.http, ...timeout };
  else if (o.timeoutMs !== undefined) throw new UsageError('--timeout-ms goes with a target');
  if (o.batchSize !== undefined) body.batch_size = o.batchSize;
  if (o.windowMs !== undefined) body.max_batching_window_ms = o.windowMs;
  if (o.from !== undefined) {
    if (!creating) throw new UsageError('--from is for create; use `floe triggers seek` to move a trigger');
    if (o.from === 'latest') body.starting_position = 'LATEST';
    else if (o.from === 'earliest') body.starting_position = 'TRIM_HORIZON';
    else {
      body.starting_position = 'AT_TIMESTAMP';
      body.starting_timestamp = parseTime(o.from);
    }
  }
  if (o.filter) {
    body.filters = o.filter.map((f) => {
      try {
        JSON.parse(f);
      } catch {
        throw new UsageError(`--filter must be a JSON pattern, got '${f}'`);
      }
      return { pattern: f };
    });
  }
  if (o.retries !== undefined) body.retry_attempts = o.retries;
  if (o.maxRecordAgeMs !== undefined) body.maximum_record_age_ms = o.maxRecordAgeMs;
  if (o.bisect === false) body.bisect_on_error = false;
  if (o.dlq !== undefined) body.dead_letter_topic = o.dlq;
  if (o.parallelKeys !== undefined) body.parallelism = o.parallelKeys > 1 ? { by: 'key', max: o.parallelKeys } : null;
  if (o.group !== undefined) body.group_id = o.group;
  if (o.disabled) body.enabled = false;
  return body;
}

const write = (s: string) => process.stdout.write(s);

export async function triggersCreate(floe: Floe, name: string, o: TriggerFlags): Promise<void> {
  const t = await floe.triggers().create({ name, ...triggerBody(o, true) } as TriggerConfig);
  write(`Created trigger ${t.name} on ${t.topics.join(', ')} (dead letters to ${t.dead_letter_topic}).\n`);
}

export async function triggersUpdate(floe: Floe, name: string, o: TriggerFlags): Promise<void> {
  const body = triggerBody(o, false);
  if (Object.keys(body).length === 0) throw new UsageError('triggers update needs at least one setting to change');
  await floe.triggers().update(name, body);
  write(`Updated trigger ${name}.\n`);
}

function targetText(t: TriggerConfig['target']): string {
  return t.type === 'lambda' ? `lambda:${t.function}` : t.type === 'module' ? `module:${t.path}#${t.export ?? 'handler'}` : `http:${t.url}`;
}

export async function triggersList(floe: Floe): Promise<void> {
  const all = await floe.triggers().list();
  const rows: Array<Array<string | number>> = [['NAME', 'TOPICS', 'TARGET', 'STATE']];
  for (const t of all) rows.push([t.name, t.topics.join(','), targetText(t.target), t.enabled ? 'Enabled' : 'Disabled']);
  write(table(rows));
}

export async function triggersDescribe(floe: Floe, name: string): Promise<void> {
  const d = await floe.triggers().describe(name);
  write(`Trigger: ${d.name}\tState: ${d.state}\tTarget: ${targetText(d.target)}\tGroup: ${d.group_id}\tDeadLetters: ${d.dead_letters.records} in ${d.dead_letters.topic}\n`);
  const rows: Array<Array<string | number>> = [['TOPIC', 'PARTITION', 'COMMITTED-OFFSET', 'HIGH-WATERMARK', 'LAG', 'LAG-MS', 'ATTEMPTS', 'DEAD-LETTERS', 'LAST-ERROR']];
  for (const p of d.partitions) rows.push([p.topic, p.partition, p.committed_offset, p.high_watermark, p.lag, p.lag_ms, p.attempts, p.dead_letters, p.last_error ? `${p.last_error.message.split('\n')[0]} (offset ${p.last_error.offset})` : '-']);
  write(table(rows));
}

export async function triggersSeek(floe: Floe, name: string, to: string, only: { topic?: string; partition?: number }): Promise<void> {
  let target: SeekTo;
  if (to === 'earliest' || to === 'latest') target = { to };
  else if (/^\d+$/.test(to)) target = { to: 'offset', offset: Number(to) };
  else if (to.startsWith('@')) target = { to: 'timestamp', timestamp: parseTime(to.slice(1)) };
  else throw new UsageError(`--to must be earliest, latest, an offset or @<ISO time or epoch ms>, got '${to}'`);
  const positions = await floe.triggers().seek(name, target, only);
  write(table([['TOPIC', 'PARTITION', 'NEW-OFFSET'], ...positions.map((p) => [p.topic, p.partition, p.offset])]));
}

export async function triggersRedrive(floe: Floe, name: string, range: { partition?: number; from_offset?: number; to_offset?: number }): Promise<void> {
  const r = await floe.triggers().redrive(name, range);
  if (r.redrives.length === 0) write('No dead letters in that range.\n');
  else write(table([['DLQ-PARTITION', 'FROM-OFFSET', 'END-OFFSET', 'RECORDS'], ...r.redrives.map((x) => [x.partition, x.from_offset, x.end_offset, x.records])]));
}
