#!/usr/bin/env node
// floe: kcat's modes with Kafka's tool names, on @floe/client. Exit codes: 0 ok, 1 an error (one line,
// with the server's error code), 2 a usage error (one line). Output is pipe-friendly: progress and
// anything else meant for a person go to stderr, and only when it is a terminal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { Floe, FloeError, NetworkError } from '../../client/src/index.ts';
import { consume, type ConsumeOptions } from './consume.ts';
import { connectorOptions, connectorsCreate, connectorsDescribe, connectorsList, connectorsResetOffsets, connectorsUpdate, type ConnectorFlags, type ResetFlags } from './connectors.ts';
import { UsageError } from './format.ts';
import { groupsDescribe, groupsList, groupsReset, offsets, topicsAlter, topicsCreate, topicsDelete, topicsDescribe, topicsList, type ResetOptions } from './admin.ts';
import { produce, type ProduceOptions } from './produce.ts';
import { streamsDeploy, streamsDescribe, streamsRun, type StreamsRunFlags } from './streams.ts';
import { triggerOptions, triggersCreate, triggersDescribe, triggersList, triggersRedrive, triggersSeek, triggersUpdate, type TriggerFlags } from './triggers.ts';

/** The server `--url` names, else the local one `npm start` wrote down, else the default port. */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOE_URL) return env.FLOE_URL;
  try {
    const state = JSON.parse(readFileSync(join(env.FLOE_DATA_DIR ?? '.floe', 'server.json'), 'utf8')) as { url?: unknown };
    if (typeof state.url === 'string') return state.url;
  } catch {
    // no local server recorded
  }
  return 'http://127.0.0.1:8082';
}

interface Globals {
  url?: string;
  auth?: string;
  region?: string;
  token?: string;
}

function client(program: Command): Floe {
  const g = program.opts<Globals>();
  const url = g.url ?? defaultUrl();
  if (g.auth === 'iam') {
    const region = g.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--auth iam needs --region or AWS_REGION');
    return new Floe({ url, auth: { type: 'iam', region } });
  }
  if (g.auth === 'jwt') {
    const token = g.token ?? process.env.FLOE_TOKEN;
    if (!token) throw new UsageError('--auth jwt needs --token or FLOE_TOKEN');
    return new Floe({ url, auth: { type: 'jwt', token } });
  }
  return new Floe({ url });
}

const int = (name: string, min = 0) => (v: string) => {
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('floe')
    .description("Floe from the terminal: produce and consume like kcat, topics and groups like Kafka's tools")
    .option('--url <url>', 'the API (default: the local server in FLOE_DATA_DIR/server.json, else http://127.0.0.1:8082)')
    .addOption(new Option('--auth <mode>', 'how to authenticate').choices(['none', 'iam', 'jwt']).default('none'))
    .option('--region <region>', 'AWS region for --auth iam')
    .option('--token <jwt>', 'bearer token for --auth jwt (or FLOE_TOKEN)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program
    .command('produce')
    .description('produce stdin (or --file), one record per line')
    .argument('<topic>')
    .option('-K <delim>', 'split each line into key and value at the first delimiter')
    .option('-H <name=value>', 'add a header to every record (repeatable)', collect)
    .option('-p <partition>', 'produce to this partition', int('-p'))
    .option('--file <path>', 'read records from a file')
    .addOption(new Option('--acks <acks>', 'acknowledgement level').choices(['all', '1', '0', '-1']).default('all'))
    .action(async (topic: string, o: { K?: string; H?: string[]; p?: number; file?: string; acks: string }) => {
      const headers: Record<string, string> = {};
      for (const h of o.H ?? []) {
        const i = h.indexOf('=');
        if (i <= 0) throw new UsageError(`-H takes name=value, got '${h}'`);
        headers[h.slice(0, i)] = h.slice(i + 1);
      }
      if (o.K === '') throw new UsageError('-K needs a non-empty delimiter');
      const opts: ProduceOptions = { topic, headers, acks: o.acks, ...(o.K !== undefined ? { keyDelimiter: o.K } : {}), ...(o.p !== undefined ? { partition: o.p } : {}), ...(o.file !== undefined ? { file: o.file } : {}) };
      await produce(client(program), opts);
    });

  program
    .command('consume')
    .description('print records: from -o, until -e (the end) or -c (a count), as -f or -J')
    .argument('<topic>')
    .option('-o <offset>', 'beginning | end | stored | N | -N (N from the end) | @<ISO time or epoch ms>', 'end')
    .option('-e', 'exit at the end of the log')
    .option('-c <count>', 'exit after this many records', int('-c', 1))
    .option('-f <format>', "kcat format: %t %p %o %k %s %T %h %K %S (default '%s\\n')")
    .option('-J', 'one JSON envelope per record')
    .option('-G <group>', 'consume in this consumer group, committing')
    .option('-p <partition>', 'only this partition (not with -G)', int('-p'))
    .addOption(new Option('--isolation-level <level>', 'what to read').choices(['read_uncommitted', 'read_committed']).default('read_uncommitted'))
    .action(async (topic: string, o: { o: string; e?: boolean; c?: number; f?: string; J?: boolean; G?: string; p?: number; isolationLevel: string }) => {
      if (o.J && o.f) throw new UsageError('-J and -f are exclusive');
      if (o.G && o.p !== undefined) throw new UsageError('-p does not go with -G: the group assigns partitions');
      if (o.o === 'stored' && !o.G) throw new UsageError('-o stored needs -G (the offsets stored are a group\'s)');
      const opts: ConsumeOptions = {
        topic,
        offset: o.o,
        exitAtEnd: o.e === true,
        json: o.J === true,
        format: o.f ?? '%s\\n',
        isolationLevel: o.isolationLevel as ConsumeOptions['isolationLevel'],
        ...(o.c !== undefined ? { count: o.c } : {}),
        ...(o.G !== undefined ? { group: o.G } : {}),
        ...(o.p !== undefined ? { partition: o.p } : {}),
      };
      await consume(client(program), opts);
    });

  const topics = program.command('topics').description('list, describe, create, delete and alter topics');
  topics.command('list').action(async () => topicsList(client(program)));
  topics.command('describe').argument('<topic>').action(async (t: string) => topicsDescribe(client(program), t));
  topics
    .command('create')
    .argument('<topic>')
    .option('--partitions <n>', 'partition count', int('--partitions', 1))
    .option('--config <name=value>', 'a topic config (repeatable)', collect)
    .action(async (t: string, o: { partitions?: number; config?: string[] }) => topicsCreate(client(program), t, o.partitions, parseConfigs(o.config ?? [])));
  topics.command('delete').argument('<topic>').action(async (t: string) => topicsDelete(client(program), t));
  topics
    .command('alter')
    .argument('<topic>')
    .option('--add-config <name=value>', 'set a config (repeatable)', collect)
    .option('--delete-config <name>', 'reset a config to its default (repeatable)', collect)
    .action(async (t: string, o: { addConfig?: string[]; deleteConfig?: string[] }) => {
      const set = parseConfigs(o.addConfig ?? []);
      const reset = o.deleteConfig ?? [];
      if (Object.keys(set).length === 0 && reset.length === 0) throw new UsageError('topics alter needs --add-config or --delete-config');
      await topicsAlter(client(program), t, set, reset);
    });

  const groups = program.command('groups').description("consumer groups, like kafka-consumer-groups");
  groups.command('list').action(async () => groupsList(client(program)));
  groups.command('describe').argument('<group>').action(async (g: string) => groupsDescribe(client(program), g));
  groups
    .command('reset')
    .argument('<group>')
    .requiredOption('--topic <topic>', 'the topic whose offsets move')
    .option('--partitions <list>', 'only these partitions, comma-separated')
    .option('--to-earliest', 'to the log start')
    .option('--to-latest', 'to the high watermark')
    .option('--to-datetime <time>', 'to the first record at or after this ISO time (or epoch ms)')
    .option('--to-offset <n>', 'to this offset', int('--to-offset'))
    .option('--shift-by <n>', 'move the committed offsets by n (negative: back)', int('--shift-by', Number.MIN_SAFE_INTEGER))
    .option('--execute', 'apply (without it, a dry run: only print the new offsets)')
    .action(async (g: string, o: { topic: string; partitions?: string; toEarliest?: boolean; toLatest?: boolean; toDatetime?: string; toOffset?: number; shiftBy?: number; execute?: boolean }) => {
      const chosen = [o.toEarliest && 'earliest', o.toLatest && 'latest', o.toDatetime !== undefined && 'datetime', o.toOffset !== undefined && 'offset', o.shiftBy !== undefined && 'shift'].filter(Boolean);
      if (chosen.length !== 1) throw new UsageError('groups reset needs exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by');
      let partitions: number[] | undefined;
      if (o.partitions !== undefined) partitions = o.partitions.split(',').map((p) => int('--partitions')(p.trim()));
      let to: ResetOptions['to'];
      if (o.toEarliest) to = { kind: 'earliest' };
      else if (o.toLatest) to = { kind: 'latest' };
      else if (o.toDatetime !== undefined) to = { kind: 'timestamp', timestamp: parseTime(o.toDatetime, '--to-datetime') };
      else if (o.toOffset !== undefined) to = { kind: 'offset', offset: o.toOffset };
      else to = { kind: 'shift', by: o.shiftBy! };
      await groupsReset(client(program), { group: g, topic: o.topic, to, execute: o.execute === true, ...(partitions ? { partitions } : {}) });
    });

  const triggers = program.command('triggers').description('topic triggers: a topic invokes a function with MSK-shaped events');
  triggerOptions(triggers.command('create').argument('<name>'), int, collect).action(async (n: string, o: TriggerFlags) => triggersCreate(client(program), n, o));
  triggerOptions(triggers.command('update').argument('<name>'), int, collect).action(async (n: string, o: TriggerFlags) => triggersUpdate(client(program), n, o));
  triggers.command('list').action(async () => triggersList(client(program)));
  triggers.command('describe').argument('<name>').action(async (n: string) => triggersDescribe(client(program), n));
  triggers.command('pause').argument('<name>').action(async (n: string) => {
    await client(program).triggers().pause(n);
    process.stdout.write(`Paused trigger ${n}.\n`);
  });
  triggers.command('resume').argument('<name>').action(async (n: string) => {
    await client(program).triggers().resume(n);
    process.stdout.write(`Resumed trigger ${n}.\n`);
  });
  triggers.command('delete').argument('<name>').action(async (n: string) => {
    await client(program).triggers().delete(n);
    process.stdout.write(`Deleted trigger ${n}.\n`);
  });
  triggers
    .command('seek')
    .argument('<name>')
    .requiredOption('--to <position>', 'earliest | latest | an offset | @<ISO time or epoch ms>')
    .option('--topic <topic>', 'only this topic')
    .option('--partition <n>', 'only this partition', int('--partition'))
    .action(async (n: string, o: { to: string; topic?: string; partition?: number }) =>
      triggersSeek(client(program), n, o.to, { ...(o.topic !== undefined ? { topic: o.topic } : {}), ...(o.partition !== undefined ? { partition: o.partition } : {}) }),
    );
  triggers
    .command('redrive')
    .argument('<name>')
    .option('--partition <n>', 'only this dead-letter partition', int('--partition'))
    .option('--from <offset>', 'from this dead-letter offset', int('--from'))
    .option('--to <offset>', 'to this dead-letter offset (inclusive)', int('--to'))
    .action(async (n: string, o: { partition?: number; from?: number; to?: number }) =>
      triggersRedrive(client(program), n, { ...(o.partition !== undefined ? { partition: o.partition } : {}), ...(o.from !== undefined ? { from_offset: o.from } : {}), ...(o.to !== undefined ? { to_offset: o.to } : {}) }),
    );

  const connectors = program.command('connectors').description("sink connectors: a topic's records written into a DynamoDB table or an S3 bucket");
  connectorOptions(connectors.command('create').argument('<name>'), collect, true).action(async (n: string, o: ConnectorFlags) => connectorsCreate(client(program), n, o));
  connectorOptions(connectors.command('update').argument('<name>'), collect, false).action(async (n: string, o: ConnectorFlags) => connectorsUpdate(client(program), n, o));
  connectors.command('list').action(async () => connectorsList(client(program)));
  connectors.command('describe').argument('<name>').action(async (n: string) => connectorsDescribe(client(program), n));
  connectors.command('pause').argument('<name>').action(async (n: string) => {
    await client(program).connectors().pause(n);
    process.stdout.write(`Paused connector ${n}.\n`);
  });
  connectors.command('resume').argument('<name>').action(async (n: string) => {
    await client(program).connectors().resume(n);
    process.stdout.write(`Resumed connector ${n}.\n`);
  });
  connectors.command('delete').argument('<name>').action(async (n: string) => {
    await client(program).connectors().delete(n);
    process.stdout.write(`Deleted connector ${n}.\n`);
  });
  connectors
    .command('reset-offsets')
    .argument('<name>')
    .addOption(new Option('--to <position>', 'where the connector goes on from').choices(['earliest', 'latest', 'offset', 'timestamp']).makeOptionMandatory())
    .option('--offset <n>', 'with --to offset: this offset', int('--offset'))
    .option('--timestamp <time>', 'with --to timestamp: the first record at or after this epoch ms (or ISO time)', (v: string) => parseTime(v, '--timestamp'))
    .option('--topic <topic>', 'only this topic')
    .option('--partition <n>', 'only this partition', int('--partition'))
    .action(async (n: string, o: ResetFlags) => connectorsResetOffsets(client(program), n, o));

  const streams = program.command('streams').description('run a streams application (its module exports topology and applicationId)');
  streams
    .command('run')
    .argument('<app>', 'the module (.ts or .js) exporting topology and applicationId')
    .option('--application-id <id>', "overrides the module's applicationId")
    .option('--guarantee <guarantee>', 'exactly_once or at_least_once', 'exactly_once')
    .action(async (file: string, o: StreamsRunFlags) => streamsRun(client(program), file, o));
  streams
    .command('deploy')
    .description('run it inside the local server (npm start): one module trigger per sub-topology')
    .argument('<app>', "the module, whose 'handler' export is streamsHandler(topology, ...)")
    .option('--application-id <id>', "overrides the module's applicationId")
    .option('--export <name>', 'the handler export', 'handler')
    .action(async (file: string, o: { applicationId?: string; export: string }) => streamsDeploy(client(program), file, o));
  streams.command('describe').argument('<app>').action(async (file: string) => streamsDescribe(file));
  program
    .command('offsets')
    .description('per partition: log start offset, high watermark, and with --time the first offset at or after it')
    .argument('<topic>')
    .option('--time <time>', 'ISO time, epoch ms, earliest or latest')
    .action(async (t: string, o: { time?: string }) => offsets(client(program), t, o.time === undefined ? undefined : o.time === 'earliest' || o.time === 'latest' ? o.time : parseTime(o.time, '--time')));

  return program;
}

function parseConfigs(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of list) {
    const i = c.indexOf('=');
    if (i <= 0) throw new UsageError(`a config is name=value, got '${c}'`);
    out[c.slice(0, i)] = c.slice(i + 1);
  }
  return out;
}

/** An ISO time or epoch milliseconds. */
export function parseTime(v: string, what: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${what} must be an ISO time or epoch milliseconds, got '${v}'`);
  return t;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      process.stderr.write(`floe: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`floe: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NetworkError) {
      process.stderr.write(`floe: cannot reach the server: ${e.message}\n`);
      return 1;
    }
    if (e instanceof FloeError) {
      process.stderr.write(`floe: ${e.message.split('\n')[0]} (error code ${e.code})\n`);
      return 1;
    }
    process.stderr.write(`floe: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}\n`);
    return 1;
  }
}

// Run when executed (the bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[/\\])(?:main\.(?:ts|js)|floe)$/.test(invoked)) {
  const code = await main(process.argv.slice(2));
  // Exit once stdout has taken everything (a pipe may still be draining); open sockets do not hold us.
  process.stdout.write('', () => process.exit(code));
}
