// A topic: its partitions (log start offset, high watermark, records, bytes), its rates over the last
// hour, its configs (edited one at a time, checked by the same rules the API applies before it is
// asked), and deletion.
import { useState } from 'preact/hooks';
import { TOPIC_CONFIGS, validateConfigs } from '../../../src/topics/configs.ts';
import { call, get, seg, type PartitionOffsets, type Series, type TopicConfig, type TopicInfo } from '../api.ts';
import { Chart } from '../chart.tsx';
import { formatBytes, formatCount } from '../format.ts';
import { href, navigate } from '../router.ts';
import { described, ErrorNote, Field, Page, Section, Stat, Status, TableWrap, useLoad } from '../ui.tsx';

export function TopicPage(props: { name: string }) {
  const name = props.name;
  const t = seg(name);
  const info = useLoad(
    async (s) => {
      const topic = await get<TopicInfo>(`/v3/clusters/floe/topics/${t}`, s);
      const partitions = await Promise.all(Array.from({ length: topic.partitions_count }, (_, p) => get<PartitionOffsets>(`/floe/v1/topics/${t}/partitions/${p}/offsets`, s)));
      return { topic, partitions };
    },
    [name],
    5000,
  );
  const configs = useLoad((s) => get<{ data: TopicConfig[] }>(`/v3/clusters/floe/topics/${t}/configs`, s), [name]);
  const metrics = useLoad((s) => get<Series>(`/floe/v1/metrics?minutes=60&topic=${t}`, s), [name], 10_000);
  const parts = info.data?.partitions ?? [];
  const m = metrics.data;
  const zeros = m ? m.timestamps.map(() => 0) : [];

  return (
    <Page
      title={name}
      subtitle={<a href={href(['messages'], { topic: name })}>Browse its messages</a>}
      actions={<DeleteTopic name={name} />}
    >
      <ErrorNote error={info.error} what="The topic" />
      <dl class="stats">
        <Stat label="Partitions" value={info.data ? info.data.topic.partitions_count : '…'} />
        <Stat label="Records" value={info.data ? formatCount(parts.reduce((s, p) => s + p.high_watermark - p.log_start_offset, 0)) : '…'} />
        <Stat label="Bytes" value={info.data ? formatBytes(parts.reduce((s, p) => s + p.bytes, 0)) : '…'} />
      </dl>

      <Section title="Partitions">
        {parts.length > 0 ? (
          <TableWrap label="Partitions">
            <thead>
              <tr>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Log start offset</th>
                <th scope="col" class="num">High watermark</th>
                <th scope="col" class="num">Records</th>
                <th scope="col" class="num">Bytes</th>
                <th scope="col">Browse</th>
              </tr>
            </thead>
            <tbody>
              {parts.map((p, i) => (
                <tr key={i}>
                  <th scope="row" class="num">
                    {i}
                  </th>
                  <td class="num">{formatCount(p.log_start_offset)}</td>
                  <td class="num">{formatCount(p.high_watermark)}</td>
                  <td class="num">{formatCount(p.high_watermark - p.log_start_offset)}</td>
                  <td class="num">{formatBytes(p.bytes)}</td>
                  <td>
                    <a href={href(['messages'], { topic: name, partition: i })} aria-label={`Browse partition ${i}`}>
                      Messages
                    </a>
                  </td>
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
            title={`Records per second, ${name}`}
            unit="records/s"
            timestamps={m.timestamps}
            series={[
              { label: 'Produce', values: m.topics[name]?.produced_per_s ?? zeros, color: '#1d4ed8' },
              { label: 'Fetch', values: m.topics[name]?.fetched_per_s ?? zeros, color: '#b45309' },
            ]}
            waiting="Collecting samples; the chart appears with the second."
          />
        ) : null}
      </Section>

      <Section title="Configs">
        <ErrorNote error={configs.error} what="Configs" />
        {configs.data ? (
          <TableWrap label="Configs">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
                <th scope="col">Default</th>
              </tr>
            </thead>
            <tbody>
              {configs.data.data.map((c) => (
                <ConfigRow key={c.name} topic={name} config={c} onSaved={configs.reload} />
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>
    </Page>
  );
}

function ConfigRow(props: { topic: string; config: TopicConfig; onSaved: () => void }) {
  const c = props.config;
  const spec = TOPIC_CONFIGS[c.name];
  const [value, setValue] = useState(c.value ?? '');
  const [problem, setProblem] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const id = `config-${c.name.replace(/\./g, '-')}`;
  const path = `/v3/clusters/floe/topics/${seg(props.topic)}/configs/${seg(c.name)}`;

  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setSaved('');
    try {
      // The API's own check, so a bad value is caught here with the message the API would give.
      validateConfigs({ [c.name]: value });
      setProblem(undefined);
    } catch (err) {
      setProblem((err as Error).message);
      return;
    }
    try {
      await call('PUT', path, { body: { value } });
      setSaved('Saved.');
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  };
  const reset = async () => {
    setError(undefined);
    try {
      await call('DELETE', path);
      setValue(spec?.default ?? '');
      setProblem(undefined);
      setSaved('Reset to the default.');
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <tr>
      <th scope="row">
        <code>{c.name}</code>
        {spec ? <small class="hint block">{spec.doc}</small> : null}
      </th>
      <td>
        <form class="inline-form" onSubmit={save} aria-label={`Edit ${c.name}`}>
          <label class="visually-hidden" for={id}>
            {c.name}
          </label>
          <input id={id} value={value} onInput={(e) => setValue(e.currentTarget.value)} {...described(id, false, problem)} />
          <button type="submit">Save</button>
          {!c.is_default ? (
            <button type="button" class="secondary" onClick={reset} aria-label={`Reset ${c.name} to its default`}>
              Reset
            </button>
          ) : null}
        </form>
        {problem ? (
          <small id={`${id}-error`} class="field-error" role="alert">
            {problem}
          </small>
        ) : null}
        <ErrorNote error={error} />
        {saved ? <Status>{saved}</Status> : null}
      </td>
      <td>{c.is_default ? 'default' : 'set on the topic'}</td>
      <td>
        <code>{spec?.default ?? ''}</code>
      </td>
    </tr>
  );
}

function DeleteTopic(props: { name: string }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>();
  if (!open) {
    return (
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Delete topic
      </button>
    );
  }
  const remove = async (e: Event) => {
    e.preventDefault();
    try {
      await call('DELETE', `/v3/clusters/floe/topics/${seg(props.name)}`);
      navigate([]);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="confirm" onSubmit={remove} aria-label="Delete the topic">
      <Field id="confirm-delete" label={`Type ${props.name} to delete it and all its records`}>
        <input id="confirm-delete" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" />
      </Field>
      <button type="submit" class="danger" disabled={typed !== props.name}>
        Delete
      </button>
      <button type="button" class="secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorNote error={error} what="Deleting" />
    </form>
  );
}
