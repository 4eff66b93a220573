// `floe topics ...`, `floe groups ...`, `floe offsets`: the admin side, printed as Kafka's tools print
// (`kafka-topics`, `kafka-consumer-groups --describe`, `--reset-offsets` with its dry run).
import type { Floe } from '../../client/src/index.ts';
import { UsageError } from './format.ts';

const v3 = (topic?: string) => `/v3/clusters/floe/topics${topic === undefined ? '' : `/${encodeURIComponent(topic)}`}`;
const native = (topic: string) => `/floe/v1/topics/${encodeURIComponent(topic)}`;
const group = (g: string) => `/floe/v1/groups/${encodeURIComponent(g)}`;

interface Offsets {
  log_start_offset: number;
  high_watermark: number;
  offset?: number | null;
}

/** Rows as aligned columns, the way Kafka's tools print them. */
export function table(rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const write = (s: string) => process.stdout.write(s);

async function partitionCount(floe: Floe, topic: string): Promise<number> {
  return (await floe.request<{ partitions_count: number }>('GET', v3(topic), { retry: true })).partitions_count;
}

export async function topicsList(floe: Floe): Promise<void> {
  const r = await floe.request<{ data: Array<{ topic_name: string }> }>('GET', v3(), { retry: true });
  write(r.data.map((t) => `${t.topic_name}\n`).join(''));
}

export async function topicsDescribe(floe: Floe, topic: string): Promise<void> {
  const partitions = await partitionCount(floe, topic);
  const configs = await floe.request<{ data: Array<{ name: string; value: string | null; is_default: boolean }> }>('GET', `${v3(topic)}/configs`, { retry: true });
  const set = configs.data.filter((c) => !c.is_default).map((c) => `${c.name}=${c.value}`);
  write(`Topic: ${topic}\tPartitionCount: ${partitions}\tConfigs: ${set.join(',')}\n`);
  const rows: Array<Array<string | number>> = [['PARTITION', 'LOG-START-OFFSET', 'HIGH-WATERMARK']];
  for (let p = 0; p < partitions; p++) {
    const o = await floe.request<Offsets>('GET', `${native(topic)}/partitions/${p}/offsets`, { retry: true });
    rows.push([p, o.log_start_offset, o.high_watermark]);
  }
  write(table(rows));
}

export async function topicsCreate(floe: Floe, topic: string, partitions: number | undefined, configs: Record<string, string>): Promise<void> {
  await floe.request('POST', v3(), { body: { topic_name: topic, ...(partitions !== undefined ? { partitions_count: partitions } : {}), configs: Object.entries(configs).map(([name, value]) => ({ name, value })) } });
  write(`Created topic ${topic}.\n`);
}

export async function topicsDelete(floe: Floe, topic: string): Promise<void> {
  await floe.request('DELETE', v3(topic));
  write(`Deleted topic ${topic}.\n`);
}

export async function topicsAlter(floe: Floe, topic: string, set: Record<string, string>, reset: string[]): Promise<void> {
  const data = [...Object.entries(set).map(([name, value]) => ({ name, value })), ...reset.map((name) => ({ name, operation: 'DELETE' }))];
  await floe.request('POST', `${v3(topic)}/configs:alter`, { body: { data } });
  write(`Altered configs of topic ${topic}.\n`);
}

interface GroupDescription {
  group_id: string;
  state: string;
  generation: number;
  members: Array<{ member_id: string; assignment: Array<{ topic: string; partition: number }> }>;
  offsets: Array<{ topic: string; partition: number; committed_offset: number; high_watermark: number | null; lag: number | null }>;
}

export async function groupsList(floe: Floe): Promise<void> {
  const r = await floe.request<{ groups: Array<{ group_id: string }> }>('GET', '/floe/v1/groups', { retry: true });
  write(r.groups.map((g) => `${g.group_id}\n`).join(''));
}

/** `kafka-consumer-groups --describe`: per partition its committed offset, log end, lag and owner. */
export async function groupsDescribe(floe: Floe, g: string): Promise<void> {
  const d = await floe.request<GroupDescription>('GET', group(g), { retry: true });
  const owner = new Map<string, string>();
  for (const m of d.members) for (const a of m.assignment) owner.set(`${a.topic}:${a.partition}`, m.member_id);
  const rows: Array<Array<string | number>> = [['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID']];
  const seen = new Set<string>();
  for (const o of [...d.offsets].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))) {
    seen.add(`${o.topic}:${o.partition}`);
    rows.push([d.group_id, o.topic, o.partition, o.committed_offset, o.high_watermark ?? '-', o.lag ?? '-', owner.get(`${o.topic}:${o.partition}`) ?? '-']);
  }
  for (const [tp, member] of owner) {
    if (seen.has(tp)) continue;
    const [topic, partition] = tp.split(':');
    rows.push([d.group_id, topic!, partition!, '-', '-', '-', member]);
  }
  write(`Consumer group '${d.group_id}' is ${d.state} (generation ${d.generation}, ${d.members.length} members).\n\n`);
  write(table(rows));
}

export interface ResetOptions {
  group: string;
  topic: string;
  partitions?: number[];
  to: { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; timestamp: number } | { kind: 'offset'; offset: number } | { kind: 'shift'; by: number };
  execute: boolean;
}

/**
 * `kafka-consumer-groups --reset-offsets`: the new offset of each partition, computed and printed; only
 * with --execute are they written (the server refuses while the group has live members).
 */
export async function groupsReset(floe: Floe, o: ResetOptions): Promise<void> {
  const count = await partitionCount(floe, o.topic);
  const partitions = o.partitions ?? [...Array(count).keys()];
  for (const p of partitions) if (p >= count) throw new UsageError(`--partitions: ${o.topic} has no partition ${p}`);
  const committed = new Map<number, number>();
  const d = await floe.request<GroupDescription>('GET', group(o.group), { retry: true }).catch(() => undefined);
  for (const x of d?.offsets ?? []) if (x.topic === o.topic) committed.set(x.partition, x.committed_offset);
  const targets: Array<{ partition: number; offset: number }> = [];
  for (const p of partitions) {
    const q = o.to.kind === 'timestamp' ? { timestamp: o.to.timestamp } : undefined;
    const off = await floe.request<Offsets>('GET', `${native(o.topic)}/partitions/${p}/offsets`, { ...(q ? { query: q } : {}), retry: true });
    const clamp = (n: number) => Math.min(Math.max(n, off.log_start_offset), off.high_watermark);
    let offset: number;
    switch (o.to.kind) {
      case 'earliest':
        offset = off.log_start_offset;
        break;
      case 'latest':
        offset = off.high_watermark;
        break;
      case 'timestamp':
        offset = off.offset ?? off.high_watermark;
        break;
      case 'offset':
        offset = clamp(o.to.offset);
        break;
      case 'shift':
        offset = clamp((committed.get(p) ?? off.log_start_offset) + o.to.by);
        break;
    }
    targets.push({ partition: p, offset });
  }
  if (o.execute) {
    for (const t of targets) await floe.request('POST', `${group(o.group)}/offsets/reset`, { body: { topic: o.topic, partitions: [t.partition], to: 'offset', offset: t.offset } });
  }
  write(table([['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ...targets.map((t) => [o.group, o.topic, t.partition, t.offset])]));
  if (!o.execute && process.stderr.isTTY) process.stderr.write('Dry run: nothing changed. Add --execute to apply.\n');
}

/** Per partition: log start offset, high watermark, and with a time the first offset at or after it. */
export async function offsets(floe: Floe, topic: string, time: number | 'earliest' | 'latest' | undefined): Promise<void> {
  const count = await partitionCount(floe, topic);
  const rows: Array<Array<string | number>> = [['PARTITION', 'LOG-START-OFFSET', 'HIGH-WATERMARK', ...(time !== undefined ? ['OFFSET'] : [])]];
  for (let p = 0; p < count; p++) {
    const o = await floe.request<Offsets>('GET', `${native(topic)}/partitions/${p}/offsets`, { ...(time !== undefined ? { query: { timestamp: time } } : {}), retry: true });
    rows.push([p, o.log_start_offset, o.high_watermark, ...(time !== undefined ? [o.offset ?? -1] : [])]);
  }
  write(table(rows));
}
