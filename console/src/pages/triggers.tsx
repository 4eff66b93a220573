// Triggers: each with its state, lag, last error and dead letters; one trigger's partitions, pause and
// resume, and a redrive of its dead letters through the function again.
import { useState } from 'preact/hooks';
import { call, eachBounded, get, seg, type LastError, type TriggerDescription, type TriggerView } from '../api.ts';
import { formatCount, formatDuration, formatTime } from '../format.ts';
import { href } from '../router.ts';
import { described, Empty, ErrorNote, Field, Page, Section, Stat, Status, TableWrap, useLoad } from '../ui.tsx';

function targetOf(t: TriggerView): string {
  const g = t.target;
  return g.type === 'lambda' ? `Lambda ${String(g.function)}` : g.type === 'http' ? `HTTP ${String(g.url)}` : g.type === 'module' ? `module ${String(g.path)}` : g.type;
}

/** The most recent error over the partitions. */
export function lastErrorOf(partitions: Array<{ last_error: LastError | string | null }>): LastError | null {
  let last: LastError | null = null;
  for (const p of partitions) {
    const e = typeof p.last_error === 'string' ? { message: p.last_error } : p.last_error;
    if (e && (!last || (e.time ?? 0) > (last.time ?? 0))) last = e;
  }
  return last;
}

export function ErrorCell(props: { error: LastError | null }) {
  if (!props.error) return <span class="null">none</span>;
  return (
    <span class="error-text">
      {props.error.message}
      {props.error.offset !== undefined ? ` (offset ${props.error.offset}` : ''}
      {props.error.time !== undefined ? `${props.error.offset !== undefined ? ', ' : ' ('}${formatTime(props.error.time)})` : props.error.offset !== undefined ? ')' : ''}
    </span>
  );
}

export function TriggersPage() {
  const list = useLoad(
    async (s) => {
      const { triggers } = await get<{ triggers: TriggerView[] }>('/floe/v1/triggers', s);
      return eachBounded(triggers, 4, (t) => get<TriggerDescription>(`/floe/v1/triggers/${seg(t.name)}`, s).catch(() => ({ ...t, state: t.enabled ? 'Enabled' : 'Disabled', partitions: [], dead_letters: { topic: t.dead_letter_topic, records: 0 }, redrives: [] })));
    },
    [],
    5000,
  );
  return (
    <Page title="Triggers" subtitle="Functions called with a topic's records, as Lambda's Kafka trigger calls them.">
      <Section title="Triggers">
        <ErrorNote error={list.error} what="Triggers" />
        {list.data && list.data.length === 0 ? <Empty>No triggers. Create one with POST /floe/v1/triggers or floe triggers create.</Empty> : null}
        {list.data && list.data.length > 0 ? (
          <TableWrap label="Triggers">
            <thead>
              <tr>
                <th scope="col">Trigger</th>
                <th scope="col">Topics</th>
                <th scope="col">Target</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Lag</th>
                <th scope="col">Last error</th>
                <th scope="col" class="num">Dead letters</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((t) => (
                <tr key={t.name}>
                  <th scope="row">
                    <a href={href(['triggers', t.name])}>{t.name}</a>
                  </th>
                  <td>{t.topics.join(', ')}</td>
                  <td>{targetOf(t)}</td>
                  <td>
                    <span class={`badge ${t.enabled ? 'ok' : 'idle'}`}>{t.enabled ? 'Running' : 'Paused'}</span>
                  </td>
                  <td class="num">{formatCount(t.partitions.reduce((s, p) => s + p.lag, 0))}</td>
                  <td>
                    <ErrorCell error={lastErrorOf(t.partitions)} />
                  </td>
                  <td class="num">{formatCount(t.dead_letters.records)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>
    </Page>
  );
}

export function TriggerPage(props: { name: string }) {
  const t = useLoad((s) => get<TriggerDescription>(`/floe/v1/triggers/${seg(props.name)}`, s), [props.name], 3000);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const d = t.data;
  const act = async (what: 'pause' | 'resume') => {
    setError(undefined);
    try {
      await call('POST', `/floe/v1/triggers/${seg(props.name)}/${what}`);
      setDone(what === 'pause' ? 'Paused: no batch starts until it is resumed.' : 'Resumed.');
      t.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Page
      title={`Trigger ${props.name}`}
      subtitle={<a href={href(['triggers'])}>All triggers</a>}
      actions={
        d ? (
          <button type="button" class={d.enabled ? 'secondary' : ''} onClick={() => void act(d.enabled ? 'pause' : 'resume')}>
            {d.enabled ? 'Pause' : 'Resume'}
          </button>
        ) : null
      }
    >
      <ErrorNote error={t.error} what="The trigger" />
      <ErrorNote error={error} />
      {done ? <Status>{done}</Status> : null}
      {d ? (
        <>
          <dl class="stats">
            <Stat label="State" value={<span class={`badge ${d.enabled ? 'ok' : 'idle'}`}>{d.enabled ? 'Running' : 'Paused'}</span>} />
            <Stat label="Target" value={targetOf(d)} />
            <Stat label="Group" value={<a href={href(['groups', d.group_id])}>{d.group_id}</a>} />
            <Stat label="Lag" value={`${formatCount(d.partitions.reduce((s, p) => s + p.lag, 0))} records`} />
            <Stat label="Dead letters" value={<a href={href(['messages'], { topic: d.dead_letters.topic })}>{formatCount(d.dead_letters.records)} in {d.dead_letters.topic}</a>} />
          </dl>
          <Section title="Partitions">
            <TableWrap label="Trigger partitions">
              <thead>
                <tr>
                  <th scope="col">Topic</th>
                  <th scope="col" class="num">Partition</th>
                  <th scope="col" class="num">Committed</th>
                  <th scope="col" class="num">High watermark</th>
                  <th scope="col" class="num">Lag</th>
                  <th scope="col" class="num">Lag (time)</th>
                  <th scope="col" class="num">Attempts</th>
                  <th scope="col">Last error</th>
                  <th scope="col" class="num">Delivered</th>
                  <th scope="col" class="num">Dead letters</th>
                </tr>
              </thead>
              <tbody>
                {d.partitions.map((p) => (
                  <tr key={`${p.topic}-${p.partition}`}>
                    <th scope="row">{p.topic}</th>
                    <td class="num">{p.partition}</td>
                    <td class="num">{formatCount(p.committed_offset)}</td>
                    <td class="num">{formatCount(p.high_watermark)}</td>
                    <td class="num">{formatCount(p.lag)}</td>
                    <td class="num">{p.lag > 0 ? formatDuration(p.lag_ms) : '0'}</td>
                    <td class="num">{p.attempts}</td>
                    <td>
                      <ErrorCell error={p.last_error} />
                      {p.retry_at ? ` retry at ${formatTime(p.retry_at)}` : ''}
                    </td>
                    <td class="num">{formatCount(p.delivered)}</td>
                    <td class="num">{formatCount(p.dead_letters)}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          </Section>
          <Redrive trigger={d} onDone={t.reload} />
        </>
      ) : null}
    </Page>
  );
}

function Redrive(props: { trigger: TriggerDescription; onDone: () => void }) {
  const d = props.trigger;
  const [partition, setPartition] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setDone('');
    const body: Record<string, number> = {};
    for (const [name, v] of [
      ['partition', partition],
      ['from_offset', from],
      ['to_offset', to],
    ] as const) {
      if (v.trim() === '') continue;
      if (!/^\d+$/.test(v.trim())) return setProblem(`${name.replace('_', ' ')} must be a whole number, or empty`);
      body[name] = Number(v);
    }
    setProblem(undefined);
    try {
      await call('POST', `/floe/v1/triggers/${seg(d.name)}/redrive`, { body });
      setDone('Redrive started: the dead letters go through the function again, as their original records.');
      props.onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="Dead letters">
      <p>
        {formatCount(d.dead_letters.records)} record{d.dead_letters.records === 1 ? '' : 's'} in <a href={href(['messages'], { topic: d.dead_letters.topic })}>{d.dead_letters.topic}</a>, each with headers saying where it came from and why it failed.
      </p>
      <form class="form-grid" onSubmit={submit} aria-label="Redrive dead letters">
        <Field id="rd-partition" label="Dead-letter partition" hint="empty: all">
          <input id="rd-partition" inputMode="numeric" value={partition} onInput={(e) => setPartition(e.currentTarget.value)} {...described('rd-partition', true, undefined)} />
        </Field>
        <Field id="rd-from" label="From offset" hint="empty: the first">
          <input id="rd-from" inputMode="numeric" value={from} onInput={(e) => setFrom(e.currentTarget.value)} {...described('rd-from', true, undefined)} />
        </Field>
        <Field id="rd-to" label="To offset" hint="empty: the last">
          <input id="rd-to" inputMode="numeric" value={to} onInput={(e) => setTo(e.currentTarget.value)} {...described('rd-to', true, undefined)} />
        </Field>
        <div class="field buttons">
          <button type="submit" disabled={d.dead_letters.records === 0}>
            Redrive
          </button>
        </div>
      </form>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      <ErrorNote error={error} what="Redrive" />
      {done ? <Status>{done}</Status> : null}
      {d.redrives.length > 0 ? (
        <TableWrap label="Redrives">
          <thead>
            <tr>
              <th scope="col" class="num">Partition</th>
              <th scope="col" class="num">Next offset</th>
              <th scope="col" class="num">End offset</th>
              <th scope="col">Done</th>
              <th scope="col" class="num">Delivered</th>
              <th scope="col" class="num">Failed again</th>
            </tr>
          </thead>
          <tbody>
            {d.redrives.map((r) => (
              <tr key={r.partition}>
                <th scope="row" class="num">
                  {r.partition}
                </th>
                <td class="num">{r.next_offset ?? '–'}</td>
                <td class="num">{r.end_offset ?? '–'}</td>
                <td>{r.done ? 'yes' : 'running'}</td>
                <td class="num">{r.delivered}</td>
                <td class="num">{r.dead_letters}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      ) : null}
    </Section>
  );
}
