// Overview: every topic with its partitions, records, bytes and produce and fetch rates; the groups
// with their total lag; rates over the last hour; and a form to create a topic.
import { useState } from 'preact/hooks';
import { validateConfigs } from '../../../src/topics/configs.ts';
import { validateTopicName } from '../../../src/topics/names.ts';
import { call, eachBounded, get, PUBLIC_GROUP, seg, topicsWithPartitions, type GroupDescription, type GroupSummary, type Series } from '../api.ts';
import { Chart } from '../chart.tsx';
import { formatBytes, formatCount, formatRate } from '../format.ts';
import { href, navigate } from '../router.ts';
import { described, Empty, ErrorNote, Field, Page, Section, Stat, Status, TableWrap, useLoad } from '../ui.tsx';

export async function groupsWithLag(signal?: AbortSignal) {
  const { groups } = await get<{ groups: GroupSummary[] }>('/floe/v1/groups', signal);
  const visible = groups.filter((g) => PUBLIC_GROUP.test(g.group_id));
  const descriptions = await eachBounded(visible, 6, (g) => get<GroupDescription>(`/floe/v1/groups/${seg(g.group_id)}`, signal).catch(() => null));
  return visible.map((g, i) => {
    const d = descriptions[i];
    return {
      ...g,
      lag: d ? d.offsets.reduce((s, o) => s + (o.lag ?? 0), 0) : null,
      topics: d ? [...new Set(d.offsets.map((o) => o.topic))].sort() : [],
    };
  });
}

const lastValue = (values: Array<number | null> | undefined) => {
  for (let i = (values?.length ?? 0) - 1; i >= 0; i--) if (values![i] !== null) return values![i]!;
  return null;
};

/** The sum over topics at each timestamp, null where no topic has a figure. */
function total(series: Series, field: 'produced_per_s' | 'fetched_per_s'): Array<number | null> {
  return series.timestamps.map((_, i) => {
    let sum: number | null = null;
    for (const t of Object.values(series.topics)) {
      const v = t[field][i];
      if (v !== null && v !== undefined) sum = (sum ?? 0) + v;
    }
    return sum ?? 0;
  });
}

export function Overview() {
  const topics = useLoad((s) => topicsWithPartitions(s), [], 5000);
  const groups = useLoad((s) => groupsWithLag(s), [], 5000);
  const metrics = useLoad((s) => get<Series>('/floe/v1/metrics?minutes=60', s), [], 10_000);
  const t = topics.data ?? [];
  const m = metrics.data;
  const partitions = t.reduce((s, x) => s + x.partitions.length, 0);
  const rate = (name: string, f: 'produced_per_s' | 'fetched_per_s') => lastValue(m?.topics[name]?.[f]);
  const totalRate = (f: 'produced_per_s' | 'fetched_per_s') => (m && m.timestamps.length > 0 ? lastValue(total(m, f)) : null);

  return (
    <Page title="Overview" subtitle="Topics, their records and rates, and consumer groups with their lag.">
      <dl class="stats">
        <Stat label="Topics" value={topics.data ? formatCount(t.length) : '…'} />
        <Stat label="Partitions" value={topics.data ? formatCount(partitions) : '…'} />
        <Stat label="Records" value={topics.data ? formatCount(t.reduce((s, x) => s + x.records, 0)) : '…'} />
        <Stat label="Bytes" value={topics.data ? formatBytes(t.reduce((s, x) => s + x.bytes, 0)) : '…'} />
        <Stat label="Produce rate" value={formatRate(totalRate('produced_per_s'))} />
        <Stat label="Fetch rate" value={formatRate(totalRate('fetched_per_s'))} />
        <Stat label="Groups" value={groups.data ? formatCount(groups.data.length) : '…'} />
      </dl>

      <Section title="Topics" actions={<a href="#create-topic">Create a topic</a>}>
        <ErrorNote error={topics.error} what="Topics" />
        {topics.data && t.length === 0 ? <Empty>No topics yet: create one below, or produce to a new name.</Empty> : null}
        {t.length > 0 ? (
          <TableWrap label="Topics">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partitions</th>
                <th scope="col" class="num">Records</th>
                <th scope="col" class="num">Bytes</th>
                <th scope="col" class="num">Produce</th>
                <th scope="col" class="num">Fetch</th>
                <th scope="col">Browse</th>
              </tr>
            </thead>
            <tbody>
              {t.map((x) => (
                <tr key={x.name}>
                  <th scope="row">
                    <a href={href(['topics', x.name])}>{x.name}</a>
                  </th>
                  <td class="num">{x.partitions.length}</td>
                  <td class="num">{formatCount(x.records)}</td>
                  <td class="num">{formatBytes(x.bytes)}</td>
                  <td class="num">{formatRate(rate(x.name, 'produced_per_s'))}</td>
                  <td class="num">{formatRate(rate(x.name, 'fetched_per_s'))}</td>
                  <td>
                    <a href={href(['messages'], { topic: x.name })} aria-label={`Browse messages of ${x.name}`}>
                      Messages
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>

      <Section title="Consumer groups">
        <ErrorNote error={groups.error} what="Groups" />
        {groups.data && groups.data.length === 0 ? <Empty>No consumer groups yet.</Empty> : null}
        {groups.data && groups.data.length > 0 ? (
          <TableWrap label="Consumer groups">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">State</th>
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
                  <td class="num">{g.members}</td>
                  <td>{g.topics.join(', ') || '–'}</td>
                  <td class="num">{g.lag === null ? '–' : formatCount(g.lag)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>

      <Section title="Rates over the last hour">
        <ErrorNote error={metrics.error} what="Figures over time" />
        {m ? (
          <Chart
            title="Records per second, all topics"
            unit="records/s"
            timestamps={m.timestamps}
            series={[
              { label: 'Produce', values: total(m, 'produced_per_s'), color: '#1d4ed8' },
              { label: 'Fetch', values: total(m, 'fetched_per_s'), color: '#b45309' },
            ]}
            waiting={`Collecting samples (one every ${Math.round(m.step_ms / 1000)} s); the chart appears with the second.`}
            testId="rates-chart"
          />
        ) : null}
      </Section>

      <CreateTopic onCreated={() => topics.reload()} />
    </Page>
  );
}

function CreateTopic(props: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [policy, setPolicy] = useState('delete');
  const [problem, setProblem] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      validateTopicName(name);
      validateConfigs({ 'cleanup.policy': policy });
      setProblem(undefined);
    } catch (err) {
      setProblem((err as Error).message);
      return;
    }
    setBusy(true);
    try {
      await call('POST', '/v3/clusters/floe/topics', { body: { topic_name: name, partitions_count: Number(partitions), configs: [{ name: 'cleanup.policy', value: policy }] } });
      props.onCreated();
      navigate(['topics', name]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Create a topic">
      <form class="form-row" onSubmit={submit} id="create-topic" aria-label="Create a topic">
        <Field id="new-topic-name" label="Name" hint="ASCII letters, digits, '.', '_' and '-'; at most 249" error={problem}>
          <input id="new-topic-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required autocomplete="off" {...described('new-topic-name', true, problem)} />
        </Field>
        <Field id="new-topic-partitions" label="Partitions">
          <input id="new-topic-partitions" type="number" min={1} value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} required />
        </Field>
        <Field id="new-topic-policy" label="Cleanup policy">
          <select id="new-topic-policy" value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
            <option value="delete">delete</option>
            <option value="compact">compact</option>
            <option value="compact,delete">compact,delete</option>
          </select>
        </Field>
        <div class="field">
          <button type="submit" disabled={busy}>
            Create topic
          </button>
        </div>
      </form>
      <ErrorNote error={error} what="Creating the topic" />
      {busy ? <Status>Creating…</Status> : null}
    </Section>
  );
}
