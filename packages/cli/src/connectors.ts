// `floe connectors ...`: create, update, list, describe, pause, resume, reset-offsets and delete sink
// connectors, printed as aligned columns like the other admin commands. Settings are Kafka Connect's
// keys, given as --config key=value or a JSON file of them.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ConnectorChanges, ConnectorConfig, ConnectorType, ConnectorView, Floe, SeekTo } from '../../client/src/index.ts';
import { table } from './admin.ts';
import { UsageError } from './format.ts';

export interface ConnectorFlags {
  type?: ConnectorType;
  topic?: string[];
  config?: string[];
  configFile?: string;
  errorsTolerance?: 'none' | 'all';
  dlqTopic?: string;
}

export interface ResetFlags {
  to: SeekTo['to'];
  offset?: number;
  timestamp?: number;
  topic?: string;
  partition?: number;
}

/** The options create and update share; the type only at create (a connector's type cannot change). */
export function connectorOptions(cmd: Command, collect: (v: string, prev?: string[]) => string[], creating: boolean): Command {
  if (creating) cmd.addOption(new Option('--type <type>', 'the sink').choices(['dynamodb-sink', 's3-sink']).makeOptionMandatory());
  return cmd
    .option('--topic <topic>', `a topic the connector reads (repeatable${creating ? '' : '; replaces the topics'})`, collect)
    .option('--config <key=value>', `a sink setting, e.g. table.name=orders (repeatable${creating ? '' : '; laid over the current settings'})`, collect)
    .option('--config-file <file.json>', `a JSON object of sink settings (--config entries are laid over it${creating ? '' : '; it replaces the current settings'})`)
    .addOption(new Option('--errors-tolerance <tolerance>', 'none: stop at a bad record; all: skip it (to the dead-letter topic, if any)').choices(['none', 'all']))
    .option('--dlq-topic <topic>', "the dead-letter topic for bad records (errors.deadletterqueue.topic.name; '' for none)");
}

function configFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --config-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--config-file ${file} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config-file ${file} must hold a JSON object of settings`);
  return parsed as Record<string, unknown>;
}

function configEntries(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of list) {
    const i = c.indexOf('=');
    if (i <= 0) throw new UsageError(`--config takes key=value, got '${c}'`);
    out[c.slice(0, i)] = c.slice(i + 1);
  }
  return out;
}

/**
 * The API body of the flags given (only those given, for an update). `current` is the connector's
 * config for an update with --config entries but no file: they are laid over it, since a PATCH's
 * config replaces the whole config.
 */
export function connectorBody(o: ConnectorFlags, creating: boolean, current?: Record<string, string>): ConnectorChanges {
  if (creating && !o.topic?.length) throw new UsageError('connectors create needs --topic');
  if (creating && !o.config?.length && o.configFile === undefined) throw new UsageError('connectors create needs --config or --config-file (table.name for a dynamodb-sink, s3.bucket.name for an s3-sink)');
  const body: ConnectorChanges = {};
  if (o.topic?.length) body.topics = o.topic;
  const entries = configEntries(o.config ?? []);
  if (o.configFile !== undefined || o.config?.length) {
    const base = o.configFile !== undefined ? configFile(o.configFile) : (current ?? {});
    body.config = { ...(base as ConnectorConfig['config']), ...entries };
  }
  if (o.errorsTolerance !== undefined) body['errors.tolerance'] = o.errorsTolerance;
  if (o.dlqTopic !== undefined) body['errors.deadletterqueue.topic.name'] = o.dlqTopic === '' ? null : o.dlqTopic;
  return body;
}

const write = (s: string) => process.stdout.write(s);

/** Where a connector writes: the table, or the bucket and key prefix. */
function destination(c: ConnectorView): string {
  return c.type === 'dynamodb-sink' ? `table:${c.config['table.name']}` : `s3://${c.config['s3.bucket.name']}/${c.config['topics.dir']}/`;
}

export async function connectorsCreate(floe: Floe, name: string, o: ConnectorFlags): Promise<void> {
  const c = await floe.connectors().create({ name, type: o.type!, ...connectorBody(o, true) } as ConnectorConfig);
  const dlq = c['errors.deadletterqueue.topic.name'];
  write(`Created connector ${c.name} (${c.type}) from ${c.topics.join(', ')} to ${destination(c)}${dlq ? ` (dead letters to ${dlq})` : ''}.\n`);
}

export async function connectorsUpdate(floe: Floe, name: string, o: ConnectorFlags): Promise<void> {
  if (!o.topic?.length && !o.config?.length && o.configFile === undefined && o.errorsTolerance === undefined && o.dlqTopic === undefined) {
    throw new UsageError('connectors update needs at least one setting to change');
  }
  // --config alone changes those keys: the rest of the config is read first.
  const current = o.config?.length && o.configFile === undefined ? (await floe.connectors().describe(name)).config : undefined;
  await floe.connectors().update(name, connectorBody(o, false, current));
  write(`Updated connector ${name}.\n`);
}

export async function connectorsList(floe: Floe): Promise<void> {
  const all = await floe.connectors().list();
  const rows: Array<Array<string | number>> = [['NAME', 'TYPE', 'TOPICS', 'DESTINATION', 'STATE']];
  for (const c of all) rows.push([c.name, c.type, c.topics.join(','), destination(c), c.state]);
  write(table(rows));
}

export async function connectorsDescribe(floe: Floe, name: string): Promise<void> {
  const d = await floe.connectors().describe(name);
  const dl = d.dead_letters ? `${d.dead_letters.records} in ${d.dead_letters.topic}` : 'none';
  write(`Connector: ${d.name}\tType: ${d.type}\tState: ${d.state}\tLag: ${d.lag}\tRecordsWritten: ${d.records_written}\tErrorsTolerance: ${d['errors.tolerance']}\tDeadLetters: ${dl}\n`);
  write(`Config: ${Object.entries(d.config).map(([k, v]) => `${k}=${v}`).join(',')}\n`);
  write(`Error: ${d.error ? `${d.error.message.split('\n')[0]} (${d.error.topic}-${d.error.partition} offset ${d.error.offset})` : '-'}\n`);
  const rows: Array<Array<string | number>> = [['TOPIC', 'PARTITION', 'COMMITTED-OFFSET', 'HIGH-WATERMARK', 'LAG', 'LAG-MS', 'RECORDS-WRITTEN', 'LAST-ERROR']];
  for (const p of d.partitions) rows.push([p.topic, p.partition, p.committed_offset, p.high_watermark, p.lag, p.lag_ms, p.records_written, p.last_error ? `${p.last_error.message.split('\n')[0]} (offset ${p.last_error.offset})` : '-']);
  write(table(rows));
}

export async function connectorsResetOffsets(floe: Floe, name: string, o: ResetFlags): Promise<void> {
  if (o.offset !== undefined && o.to !== 'offset') throw new UsageError('--offset goes with --to offset');
  if (o.timestamp !== undefined && o.to !== 'timestamp') throw new UsageError('--timestamp goes with --to timestamp');
  let target: SeekTo;
  if (o.to === 'offset') {
    if (o.offset === undefined) throw new UsageError('--to offset needs --offset');
    target = { to: 'offset', offset: o.offset };
  } else if (o.to === 'timestamp') {
    if (o.timestamp === undefined) throw new UsageError('--to timestamp needs --timestamp');
    target = { to: 'timestamp', timestamp: o.timestamp };
  } else {
    target = { to: o.to };
  }
  const offsets = await floe.connectors().resetOffsets(name, target, { ...(o.topic !== undefined ? { topic: o.topic } : {}), ...(o.partition !== undefined ? { partition: o.partition } : {}) });
  write(table([['TOPIC', 'PARTITION', 'NEW-OFFSET'], ...offsets.map((p) => [p.topic, p.partition, p.offset])]));
}
