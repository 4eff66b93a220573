// Sink connectors, where the server has them: state, lag, last error, records written and dead letters;
// pause and resume. A server without the connectors API answers 404, and the page says so.
import { useState } from 'preact/hooks';
import { ApiError, call, eachBounded, get, seg, type ConnectorDescription, type ConnectorView } from '../api.ts';
import { formatCount, formatDuration } from '../format.ts';
import { href } from '../router.ts';
import { Empty, ErrorNote, Page, Section, Stat, Status, TableWrap, useLoad } from '../ui.tsx';
import { ErrorCell, lastErrorOf } from './triggers.tsx';

const absent = (e: unknown) => e instanceof ApiError && e.status === 404 && e.code === 404;

const stateBadge = (state: string) => <span class={`badge ${state === 'RUNNING' ? 'ok' : state === 'FAILED' ? 'bad' : 'idle'}`}>{state}</span>;

export function ConnectorsPage() {
  const list = useLoad(
    async (s) => {
      const { connectors } = await get<{ connectors: ConnectorView[] }>('/floe/v1/connectors', s);
      return eachBounded(connectors, 4, (c) => get<ConnectorDescription>(`/floe/v1/connectors/${seg(c.name)}`, s).catch(() => ({ ...c, error: null, records_written: 0, partitions: [] }) as ConnectorDescription));
    },
    [],
    5000,
  );
  return (
    <Page title="Connectors" subtitle="Sinks that copy topics into your DynamoDB tables or S3 buckets.">
      <Section title="Connectors">
        {absent(list.error) ? <Empty>This server has no connectors API (GET /floe/v1/connectors answered 404).</Empty> : <ErrorNote error={list.error} what="Connectors" />}
        {list.data && list.data.length === 0 ? <Empty>No connectors.</Empty> : null}
        {list.data && list.data.length > 0 ? (
          <TableWrap label="Connectors">
            <thead>
              <tr>
                <th scope="col">Connector</th>
                <th scope="col">Type</th>
                <th scope="col">Topics</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Lag</th>
                <th scope="col" class="num">Written</th>
                <th scope="col">Last error</th>
                <th scope="col" class="num">Dead letters</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((c) => (
                <tr key={c.name}>
                  <th scope="row">
                    <a href={href(['connectors', c.name])}>{c.name}</a>
                  </th>
                  <td>{c.type}</td>
                  <td>{c.topics.join(', ')}</td>
                  <td>{stateBadge(c.state)}</td>
                  <td class="num">{formatCount(c.partitions.reduce((s, p) => s + p.lag, 0))}</td>
                  <td class="num">{formatCount(c.records_written ?? 0)}</td>
                  <td>
                    <ErrorCell error={c.error ?? lastErrorOf(c.partitions)} />
                  </td>
                  <td class="num">{c.dead_letters ? formatCount(c.dead_letters.records) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>
    </Page>
  );
}

export function ConnectorPage(props: { name: string }) {
  const c = useLoad((s) => get<ConnectorDescription>(`/floe/v1/connectors/${seg(props.name)}`, s), [props.name], 3000);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const d = c.data;
  const act = async (what: 'pause' | 'resume') => {
    setError(undefined);
    try {
      await call('POST', `/floe/v1/connectors/${seg(props.name)}/${what}`, { body: {} });
      setDone(what === 'pause' ? 'Paused.' : 'Resumed.');
      c.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Page
      title={`Connector ${props.name}`}
      subtitle={<a href={href(['connectors'])}>All connectors</a>}
      actions={
        d ? (
          <button type="button" class={d.state === 'PAUSED' ? '' : 'secondary'} onClick={() => void act(d.state === 'PAUSED' ? 'resume' : 'pause')}>
            {d.state === 'PAUSED' ? 'Resume' : 'Pause'}
          </button>
        ) : null
      }
    >
      <ErrorNote error={c.error} what="The connector" />
      <ErrorNote error={error} />
      {done ? <Status>{done}</Status> : null}
      {d ? (
        <>
          <dl class="stats">
            <Stat label="State" value={stateBadge(d.state)} />
            <Stat label="Type" value={d.type} />
            <Stat label="Records written" value={formatCount(d.records_written ?? 0)} />
            <Stat label="Errors" value={d['errors.tolerance'] ?? 'none'} />
            <Stat
              label="Dead letters"
              value={d.dead_letters ? <a href={href(['messages'], { topic: d.dead_letters.topic })}>{formatCount(d.dead_letters.records)} in {d.dead_letters.topic}</a> : 'none'}
            />
          </dl>
          {d.error ? (
            <p class="error" role="alert">
              Failed: <ErrorCell error={d.error} />
            </p>
          ) : null}
          {d.dead_letters ? (
            <p class="hint">
              To send dead letters again, open them in the <a href={href(['messages'], { topic: d.dead_letters.topic })}>message browser</a> and re-publish them to the source topic.
            </p>
          ) : null}
          <Section title="Partitions">
            <TableWrap label="Connector partitions">
              <thead>
                <tr>
                  <th scope="col">Topic</th>
                  <th scope="col" class="num">Partition</th>
                  <th scope="col" class="num">Committed</th>
                  <th scope="col" class="num">High watermark</th>
                  <th scope="col" class="num">Lag</th>
                  <th scope="col" class="num">Lag (time)</th>
                  <th scope="col">Last error</th>
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
                    <td>
                      <ErrorCell error={typeof p.last_error === 'string' ? { message: p.last_error } : p.last_error} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          </Section>
          {d.config ? (
            <Section title="Config">
              <pre class="config">{JSON.stringify(d.config, null, 2)}</pre>
            </Section>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
