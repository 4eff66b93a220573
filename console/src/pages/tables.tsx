// Tables: each with its source topic and how far it has applied it; one table's partitions, and a
// lookup of one key, read from the table (no log scan).
import { useState } from 'preact/hooks';
import { ApiError, eachBounded, get, seg, type TableDescription, type TableView } from '../api.ts';
import { formatCount, formatTime, show, type Shown } from '../format.ts';
import { href } from '../router.ts';
import { Empty, ErrorNote, Field, Page, Section, Stat, TableWrap, useLoad } from '../ui.tsx';

export function TablesPage() {
  const list = useLoad(
    async (s) => {
      const { tables } = await get<{ tables: TableView[] }>('/floe/v1/tables', s);
      return eachBounded(tables, 4, (t) => get<TableDescription>(`/floe/v1/tables/${seg(t.name)}`, s).catch(() => ({ ...t, lag: NaN, partitions: [] })));
    },
    [],
    5000,
  );
  return (
    <Page title="Tables" subtitle="The latest value of each key of a topic, kept in DynamoDB and read by key.">
      <Section title="Tables">
        <ErrorNote error={list.error} what="Tables" />
        {list.data && list.data.length === 0 ? <Empty>No tables. Create one with POST /floe/v1/tables.</Empty> : null}
        {list.data && list.data.length > 0 ? (
          <TableWrap label="Tables">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partitions</th>
                <th scope="col" class="num">Lag</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((t) => (
                <tr key={t.name}>
                  <th scope="row">
                    <a href={href(['tables', t.name])}>{t.name}</a>
                  </th>
                  <td>
                    <a href={href(['topics', t.topic])}>{t.topic}</a>
                  </td>
                  <td class="num">{t.partitions.length}</td>
                  <td class="num">{Number.isNaN(t.lag) ? '–' : formatCount(t.lag)}</td>
                  <td>{Number.isNaN(t.lag) ? 'unknown' : t.lag === 0 ? <span class="badge ok">Up to date</span> : <span class="badge idle">Applying</span>}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        ) : null}
      </Section>
    </Page>
  );
}

interface Entry {
  key: string;
  value: string | null;
  offset: number;
  timestamp: number;
  partition: number;
}

export function TablePage(props: { name: string }) {
  const t = useLoad((s) => get<TableDescription>(`/floe/v1/tables/${seg(props.name)}`, s), [props.name], 5000);
  const [key, setKey] = useState('');
  const [as, setAs] = useState<Shown>('text');
  const [entry, setEntry] = useState<Entry | null | undefined>();
  const [error, setError] = useState<unknown>();
  const d = t.data;
  const lookup = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      setEntry(await get<Entry>(`/floe/v1/tables/${seg(props.name)}/keys/${encodeURIComponent(key)}`));
    } catch (err) {
      if (err instanceof ApiError && err.code === 40407) setEntry(null);
      else setError(err);
    }
  };
  return (
    <Page title={`Table ${props.name}`} subtitle={<a href={href(['tables'])}>All tables</a>}>
      <ErrorNote error={t.error} what="The table" />
      {d ? (
        <>
          <dl class="stats">
            <Stat label="Topic" value={<a href={href(['topics', d.topic])}>{d.topic}</a>} />
            <Stat label="Partitions" value={d.partitions.length} />
            <Stat label="Lag" value={`${formatCount(d.lag)} records`} />
          </dl>
          <Section title="Partitions">
            <TableWrap label="Table partitions">
              <thead>
                <tr>
                  <th scope="col" class="num">Partition</th>
                  <th scope="col" class="num">Applied offset</th>
                  <th scope="col" class="num">High watermark</th>
                  <th scope="col" class="num">Lag</th>
                </tr>
              </thead>
              <tbody>
                {d.partitions.map((p) => (
                  <tr key={p.partition}>
                    <th scope="row" class="num">
                      {p.partition}
                    </th>
                    <td class="num">{formatCount(p.applied_offset)}</td>
                    <td class="num">{formatCount(p.high_watermark)}</td>
                    <td class="num">{formatCount(p.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          </Section>
        </>
      ) : null}
      <Section title="Look up a key">
        <form class="form-grid" onSubmit={lookup} aria-label="Look up a key">
          <Field id="t-key" label="Key (UTF-8)">
            <input id="t-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} required autocomplete="off" />
          </Field>
          <Field id="t-as" label="Show as">
            <select id="t-as" value={as} onChange={(e) => setAs(e.currentTarget.value as Shown)}>
              <option value="text">Text</option>
              <option value="json">JSON (pretty)</option>
              <option value="hex">Hex</option>
            </select>
          </Field>
          <div class="field buttons">
            <button type="submit">Look up</button>
          </div>
        </form>
        <ErrorNote error={error} what="Lookup" />
        {entry === null ? <p role="status">No such key in the table (or it was deleted).</p> : null}
        {entry ? (
          <dl class="entry" aria-live="polite">
            <dt>Value</dt>
            <dd>{entry.value === null ? <span class="null">null</span> : <pre>{show(entry.value, as)}</pre>}</dd>
            <dt>From</dt>
            <dd>
              <a href={href(['messages'], { topic: d?.topic ?? '', partition: entry.partition, from: 'offset', offset: entry.offset, limit: 1 })}>
                partition {entry.partition}, offset {entry.offset}
              </a>
              , {formatTime(entry.timestamp)}
            </dd>
          </dl>
        ) : null}
      </Section>
    </Page>
  );
}
