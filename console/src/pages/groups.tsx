// Consumer groups: the list with total lag; one group's members, assignment, committed offsets and lag
// per partition in records and in time (since the oldest record not yet consumed), its lag over the
// last hour, and an offset reset previewed by a dry run first, allowed only while the group is empty,
// as kafka-consumer-groups --reset-offsets allows it.
import { useState } from 'preact/hooks';
import { ApiError, call, eachBounded, get, seg, type GroupDescription, type NativeRead, type ResetRow, type Series, type TopicInfo } from '../api.ts';
import { Chart } from '../chart.tsx';
import { formatCount, formatDuration } from '../format.ts';
import { href } from '../router.ts';
import { described, Empty, ErrorNote, Field, Page, Section, Stat, Status, TableWrap, useLoad } from '../ui.tsx';
import { groupsWithLag } from './overview.tsx';

export function GroupsPage() {
  const groups = useLoad((s) => groupsWithLag(s), [], 5000);
  return (
    <Page title="Consumer groups" subtitle="Members, committed offsets and lag; reset offsets of an empty group.">
      <Section title="Groups">
        <ErrorNote error={groups.error} what="Groups" />
        {groups.data && groups.data.length === 0 ? <Empty>No consumer groups yet: a consumer that joins a group, or commits offsets in one, makes it.</Empty> : null}
        {groups.data && groups.data.length > 0 ? (
          <TableWrap label="Consumer groups">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Generation</th>
                <th scope="col" class="num">Members</th>
                <th scope="col">Topics</th>
                <th scope="col" class="num">Total lag</th>
              </tr>
            </thead>
            <tbody>
              {groups.data.map((g) => (
                <tr key={g.group_id}>
                  <th scope="row">
                    <a href={href(['groups', g.group_id])}>{g.group_id}</a>
                  </th>
                  <td>
                    <span class={`badge ${g.state === 'Stable' ? 'ok' : 'idle'}`}>{g.state}</span>
                  </td>
                  <td class="num">{g.generation}</td>
                  <td class="num">{g.members}</td>
                  <td>{g.topics.join(', ') || '–'}</td>
                  <td class="num">{g.lag === null ? '–' : formatCount(g.lag)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>
    </Page>
  );
}

/** Lag in time: how old the oldest record the group has not consumed is (null: nothing behind, or unreadable). */
async function lagTimes(d: GroupDescription, signal: AbortSignal): Promise<Array<number | null>> {
  const now = Date.now();
  return eachBounded(d.offsets, 6, async (o) => {
    if (!o.lag) return null;
    const r = await get<NativeRead>(`/floe/v1/topics/${seg(o.topic)}/partitions/${o.partition}/records?offset=${o.committed_offset}&max_records=1&max_bytes=1`, signal).catch(() => null);
    const ts = r?.records[0]?.timestamp;
    return ts === undefined ? null : Math.max(0, now - ts);
  });
}

export function GroupPage(props: { id: string }) {
  const id = props.id;
  const group = useLoad(
    async (s) => {
      const d = await get<GroupDescription>(`/floe/v1/groups/${seg(id)}`, s);
      return { d, lagMs: await lagTimes(d, s) };
    },
    [id],
    5000,
  );
  const metrics = useLoad((s) => get<Series>(`/floe/v1/metrics?minutes=60&group=${seg(id)}`, s), [id], 10_000);
  const d = group.data?.d;
  const owner = new Map<string, string>();
  for (const m of d?.members ?? []) for (const a of m.assignment) owner.set(`${a.topic}/${a.partition}`, m.member_id);
  const m = metrics.data;
  const total = d ? d.offsets.reduce((s, o) => s + (o.lag ?? 0), 0) : 0;

  return (
    <Page title={`Group ${id}`} subtitle={<a href={href(['groups'])}>All groups</a>}>
      <ErrorNote error={group.error} what="The group" />
      {d ? (
        <dl class="stats">
          <Stat label="State" value={<span class={`badge ${d.state === 'Stable' ? 'ok' : 'idle'}`}>{d.state}</span>} />
          <Stat label="Generation" value={d.generation} />
          <Stat label="Members" value={d.members.length} />
          <Stat label="Assignor" value={d.strategy} />
          <Stat label="Total lag" value={`${formatCount(total)} records`} />
        </dl>
      ) : null}

      <Section title="Members">
        {d && d.members.length === 0 ? <Empty>No live members: the group is empty.</Empty> : null}
        {d && d.members.length > 0 ? (
          <TableWrap label="Members">
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Subscription</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Assignment</th>
              </tr>
            </thead>
            <tbody>
              {d.members.map((x) => (
                <tr key={x.member_id}>
                  <th scope="row">
                    <code>{x.member_id}</code>
                  </th>
                  <td>{x.topic_pattern ? <code>{x.topic_pattern}</code> : x.topics.join(', ')}</td>
                  <td>{formatDuration(x.last_heartbeat_ms_ago)} ago</td>
                  <td>{x.assignment.map((a) => `${a.topic}-${a.partition}`).join(', ') || 'none'}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>

      <Section title="Offsets and lag">
        {d && d.offsets.length === 0 ? <Empty>No committed offsets.</Empty> : null}
        {d && d.offsets.length > 0 ? (
          <TableWrap label="Committed offsets and lag">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Committed</th>
                <th scope="col" class="num">High watermark</th>
                <th scope="col" class="num">Lag (records)</th>
                <th scope="col" class="num">Lag (time)</th>
                <th scope="col">Owner</th>
              </tr>
            </thead>
            <tbody>
              {d.offsets.map((o, i) => {
                const ms = group.data?.lagMs[i];
                return (
                  <tr key={`${o.topic}-${o.partition}`}>
                    <th scope="row">
                      <a href={href(['topics', o.topic])}>{o.topic}</a>
                    </th>
                    <td class="num">{o.partition}</td>
                    <td class="num">
                      <a href={href(['messages'], { topic: o.topic, partition: o.partition, from: 'offset', offset: o.committed_offset })} aria-label={`Messages of ${o.topic} partition ${o.partition} from the committed offset`}>
                        {formatCount(o.committed_offset)}
                      </a>
                    </td>
                    <td class="num">{o.high_watermark === null ? '–' : formatCount(o.high_watermark)}</td>
                    <td class="num">{o.lag === null ? '–' : formatCount(o.lag)}</td>
                    <td class="num">{o.lag ? (ms === null || ms === undefined ? '–' : formatDuration(ms)) : '0'}</td>
                    <td>{owner.get(`${o.topic}/${o.partition}`) ? <code>{owner.get(`${o.topic}/${o.partition}`)}</code> : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>

      <Section title="Lag over the last hour">
        <ErrorNote error={metrics.error} what="Figures over time" />
        {m ? (
          <Chart
            title={`Total lag of ${id} (records)`}
            unit="records"
            timestamps={m.timestamps}
            series={[{ label: 'Lag', values: m.groups[id]?.lag ?? m.timestamps.map(() => null), color: '#7c3aed' }]}
            waiting={`Collecting samples (one every ${Math.round(m.step_ms / 1000)} s); the chart appears with the second.`}
            testId="lag-chart"
          />
        ) : null}
      </Section>

      {d ? <ResetOffsets group={d} onReset={group.reload} /> : null}
    </Page>
  );
}

type To = 'earliest' | 'latest' | 'timestamp' | 'offset';

function ResetOffsets(props: { group: GroupDescription; onReset: () => void }) {
  const g = props.group;
  const topics = useLoad((s) => get<{ data: TopicInfo[] }>('/v3/clusters/floe/topics', s), []);
  const groupTopics = [...new Set(g.offsets.map((o) => o.topic))];
  const [topic, setTopic] = useState(groupTopics[0] ?? '');
  const [partitions, setPartitions] = useState('');
  const [to, setTo] = useState<To>('earliest');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [preview, setPreview] = useState<{ key: string; rows: ResetRow[] } | undefined>();
  const [done, setDone] = useState('');
  const active = g.members.length > 0;
  const all = topics.data?.data ?? [];
  const choices = [...new Set([...groupTopics, ...all.map((t) => t.topic_name)])];
  // Until one is picked, the first in the list (the group's own topics come first).
  const chosen = topic || choices[0] || '';

  /** The request body for these inputs, or a message for what is wrong with them. */
  const bodyOf = (): Record<string, unknown> | string => {
    if (!chosen) return 'Choose a topic';
    const body: Record<string, unknown> = { topic: chosen, to };
    if (partitions.trim() !== '') {
      const ps = partitions.split(',').map((s) => s.trim());
      if (!ps.every((p) => /^\d+$/.test(p))) return 'Partitions: whole numbers separated by commas, or empty for all';
      body.partitions = ps.map(Number);
    }
    if (to === 'offset') {
      if (!/^\d+$/.test(offset)) return 'The offset must be a whole number, 0 or more';
      body.offset = Number(offset);
    }
    if (to === 'timestamp') {
      const ms = new Date(time).getTime();
      if (!Number.isFinite(ms)) return 'Give a date and time';
      body.timestamp = ms;
    }
    return body;
  };
  const current = bodyOf();
  const key = JSON.stringify(current);

  const run = async (dryRun: boolean) => {
    setError(undefined);
    setDone('');
    if (typeof current === 'string') return setProblem(current);
    setProblem(undefined);
    try {
      const r = await call<{ offsets: ResetRow[] }>('POST', `/floe/v1/groups/${seg(g.group_id)}/offsets/reset`, { body: { ...current, dry_run: dryRun } });
      if (dryRun) setPreview({ key, rows: r.offsets });
      else {
        setPreview(undefined);
        setDone(`Reset ${r.offsets.length} partition${r.offsets.length === 1 ? '' : 's'} of ${chosen}.`);
        props.onReset();
      }
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.status === 409) setPreview(undefined);
    }
  };
  // The preview must be of exactly what would be applied.
  const previewed = preview && preview.key === key ? preview.rows : undefined;

  return (
    <Section title="Reset offsets">
      {active ? (
        <p class="notice" role="note">
          The group has {g.members.length} live member{g.members.length === 1 ? '' : 's'}. As with kafka-consumer-groups --reset-offsets, offsets are reset only while the group is empty: stop its consumers (or wait for their session timeout) first.
        </p>
      ) : null}
      <form
        class="form-grid"
        aria-label="Reset offsets"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <Field id="r-topic" label="Topic">
          <select id="r-topic" value={chosen} onChange={(e) => setTopic(e.currentTarget.value)} disabled={active}>
            {choices.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </Field>
        <Field id="r-partitions" label="Partitions" hint="e.g. 0,2; empty for all">
          <input id="r-partitions" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} disabled={active} {...described('r-partitions', true, undefined)} />
        </Field>
        <Field id="r-to" label="To">
          <select id="r-to" value={to} onChange={(e) => setTo(e.currentTarget.value as To)} disabled={active}>
            <option value="earliest">Earliest</option>
            <option value="latest">Latest</option>
            <option value="timestamp">Time</option>
            <option value="offset">Offset</option>
          </select>
        </Field>
        {to === 'offset' ? (
          <Field id="r-offset" label="Offset" hint="clamped to the log">
            <input id="r-offset" type="number" min={0} value={offset} onInput={(e) => setOffset(e.currentTarget.value)} disabled={active} {...described('r-offset', true, undefined)} />
          </Field>
        ) : null}
        {to === 'timestamp' ? (
          <Field id="r-time" label="Time (yours)">
            <input id="r-time" type="datetime-local" step={1} value={time} onInput={(e) => setTime(e.currentTarget.value)} disabled={active} />
          </Field>
        ) : null}
        <div class="field buttons">
          <button type="submit" disabled={active}>
            Preview (dry run)
          </button>
          <button type="button" class="danger" disabled={active || !previewed} onClick={() => void run(false)}>
            Reset offsets
          </button>
        </div>
      </form>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      <ErrorNote error={error} what="Reset" />
      {previewed ? (
        <>
          <Status>Dry run: nothing changed. These offsets would be committed; Reset offsets applies them.</Status>
          <TableWrap label="Reset preview">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Current offset</th>
                <th scope="col" class="num">New offset</th>
                <th scope="col" class="num">Change</th>
              </tr>
            </thead>
            <tbody data-preview-rows={previewed.length}>
              {previewed.map((r) => (
                <tr key={r.partition}>
                  <th scope="row">{r.topic}</th>
                  <td class="num">{r.partition}</td>
                  <td class="num">{r.current_offset === null || r.current_offset === undefined ? 'none' : formatCount(r.current_offset)}</td>
                  <td class="num">{formatCount(r.offset)}</td>
                  <td class="num">{r.current_offset === null || r.current_offset === undefined ? '–' : `${r.offset - r.current_offset >= 0 ? '+' : ''}${formatCount(r.offset - r.current_offset)}`}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        </>
      ) : null}
      {done ? <Status>{done}</Status> : null}
    </Section>
  );
}
