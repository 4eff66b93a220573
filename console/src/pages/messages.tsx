// The message browser: one partition or all, from the earliest, the latest, an offset or a time; live
// tail; filters by key (hashed with the Java client's murmur2, so only its partition is read), by value
// substring or JSON path; key, value and headers as text, JSON or hex; the shown messages exported as
// JSON lines or CSV; produce a message; re-publish one to another topic.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { partitionForKey } from '../../../packages/partitioner/src/index.ts';
import { ApiError, call, get, seg, type NativeRead, type PartitionOffsets, type TopicInfo } from '../api.ts';
import { matchJsonPath, parseJsonPathFilter } from '../filters.ts';
import { bytesToText, formatCount, formatTime, fromBase64, parseHeaderLines, parseJson, show, textToBase64, toCsv, toJsonLines, utf8Bytes, type RawMessage, type Shown } from '../format.ts';
import { href, navigate, type Route } from '../router.ts';
import { described, Empty, ErrorNote, Field, Page, Section, Status, TableWrap, useLoad } from '../ui.tsx';

type From = 'earliest' | 'latest' | 'offset' | 'timestamp';
type ValueMode = 'substring' | 'path';

interface Form {
  topic: string;
  partition: string;
  from: From;
  offset: string;
  time: string;
  limit: string;
  key: string;
  vmode: ValueMode;
  vfilter: string;
  as: Shown;
}

/** Records a read looks at, at most, to find its matches: a filter that matches nothing stops here. */
const SCAN_CAP = 20_000;
const PAGE = 500;
const SHOWN_CAP = 1000;

function formOf(q: URLSearchParams): Form {
  const pick = <T extends string>(v: string | null, allowed: readonly T[], d: T): T => (allowed.includes(v as T) ? (v as T) : d);
  return {
    topic: q.get('topic') ?? '',
    partition: q.get('partition') ?? 'all',
    from: pick(q.get('from'), ['earliest', 'latest', 'offset', 'timestamp'] as const, 'earliest'),
    offset: q.get('offset') ?? '0',
    time: q.get('time') ?? '',
    limit: q.get('limit') ?? '100',
    key: q.get('key') ?? '',
    vmode: pick(q.get('vmode'), ['substring', 'path'] as const, 'substring'),
    vfilter: q.get('vfilter') ?? '',
    as: pick(q.get('as'), ['text', 'json', 'hex'] as const, 'text'),
  };
}

interface Plan {
  topic: string;
  partitions: number[];
  from: From;
  offset: number;
  timestamp: number;
  limit: number;
  match: (r: RawMessage) => boolean;
  filtered: boolean;
  keyPartition?: number;
}

/** The form as a read: its numbers checked, its filters compiled; a message for the first problem. */
function planOf(f: Form, partitionCount: number): Plan | string {
  const limit = Number(f.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > SHOWN_CAP) return `Show must be a whole number from 1 to ${SHOWN_CAP}`;
  const offset = Number(f.offset);
  if (f.from === 'offset' && (!Number.isSafeInteger(offset) || offset < 0)) return 'The offset must be a whole number, 0 or more';
  const timestamp = f.from === 'timestamp' ? new Date(f.time).getTime() : 0;
  if (f.from === 'timestamp' && !Number.isFinite(timestamp)) return 'Give a date and time to start from';
  const tests: Array<(r: RawMessage) => boolean> = [];
  let partitions = f.partition === 'all' ? [...Array(partitionCount).keys()] : [Number(f.partition)];
  let keyPartition: number | undefined;
  if (f.key !== '') {
    const keyBytes = utf8Bytes(f.key);
    const b64 = textToBase64(f.key);
    tests.push((r) => r.key === b64);
    // A keyed record lives where the producer's murmur2 put it: read that partition only.
    keyPartition = partitionForKey(keyBytes, partitionCount);
    if (f.partition === 'all') partitions = [keyPartition];
  }
  if (f.vfilter !== '') {
    if (f.vmode === 'substring') {
      const needle = f.vfilter;
      tests.push((r) => r.value !== null && bytesToText(fromBase64(r.value)).includes(needle));
    } else {
      let path: ReturnType<typeof parseJsonPathFilter>;
      try {
        path = parseJsonPathFilter(f.vfilter);
      } catch (e) {
        return `JSON path: ${(e as Error).message}`;
      }
      tests.push((r) => {
        const j = parseJson(r.value);
        return j.ok && matchJsonPath(path, j.value);
      });
    }
  }
  return { topic: f.topic, partitions, from: f.from, offset, timestamp, limit, match: (r: RawMessage) => tests.every((t) => t(r)), filtered: tests.length > 0, ...(keyPartition !== undefined ? { keyPartition } : {}) };
}

interface PartitionRead {
  messages: RawMessage[];
  scanned: number;
  /** Where a live tail of this partition starts: its high watermark when read. */
  tailFrom: number;
}

/** Where a read starts: an offset, or the API's own names for the ends and for a time. */
type Start = number | 'earliest' | { timestamp: number };

async function fetchRecords(topic: string, p: number, from: Start, maxRecords: number, signal: AbortSignal, timeoutMs = 0): Promise<NativeRead> {
  const start = typeof from === 'object' ? `timestamp=${from.timestamp}` : `offset=${from}`;
  const q = `${start}&max_records=${maxRecords}&max_bytes=1048576${timeoutMs > 0 ? `&timeout=${timeoutMs}` : ''}`;
  return get<NativeRead>(`/floe/v1/topics/${seg(topic)}/partitions/${p}/records?${q}`, signal);
}

const raw = (topic: string, p: number) => (r: NativeRead['records'][number]): RawMessage => ({ topic, partition: p, ...r });

/** The newest `limit` matching messages: backwards from the high watermark, a page at a time. */
async function readLatest(plan: Plan, p: number, signal: AbortSignal): Promise<PartitionRead> {
  const o = await get<PartitionOffsets>(`/floe/v1/topics/${seg(plan.topic)}/partitions/${p}/offsets`, signal);
  let scanned = 0;
  const out: RawMessage[] = [];
  let end = o.high_watermark;
  while (out.length < plan.limit && end > o.log_start_offset && scanned < SCAN_CAP) {
    const start = Math.max(o.log_start_offset, end - (plan.filtered ? PAGE : plan.limit - out.length));
    const chunk: RawMessage[] = [];
    for (let pos = start; pos < end; ) {
      const r = await fetchRecords(plan.topic, p, pos, Math.min(PAGE, end - pos), signal);
      chunk.push(...r.records.filter((x) => x.offset < end).map(raw(plan.topic, p)));
      if (r.next_offset <= pos) break;
      pos = r.next_offset;
    }
    scanned += chunk.length;
    out.unshift(...chunk.filter(plan.match));
    end = start;
  }
  return { messages: out.slice(-plan.limit), scanned, tailFrom: o.high_watermark };
}

/**
 * Forwards from the start asked for until `limit` match. The first fetch names the start itself (the
 * earliest offset, an offset or a time), so an unfiltered read of a partition is one request.
 */
async function readForward(plan: Plan, p: number, signal: AbortSignal): Promise<PartitionRead> {
  const want = (n: number) => (plan.filtered ? PAGE : Math.min(PAGE, plan.limit - n));
  let from: Start = plan.from === 'earliest' ? 'earliest' : plan.from === 'timestamp' ? { timestamp: plan.timestamp } : plan.offset;
  let r: NativeRead;
  try {
    r = await fetchRecords(plan.topic, p, from, want(0), signal);
  } catch (e) {
    // An offset outside the log starts at its nearer end, as the topic page's figures would suggest.
    if (!(e instanceof ApiError && e.status === 416) || typeof from !== 'number') throw e;
    const o = await get<PartitionOffsets>(`/floe/v1/topics/${seg(plan.topic)}/partitions/${p}/offsets`, signal);
    from = Math.min(Math.max(from, o.log_start_offset), o.high_watermark);
    r = await fetchRecords(plan.topic, p, from, want(0), signal);
  }
  const out: RawMessage[] = [];
  let scanned = 0;
  let last = -1;
  for (;;) {
    scanned += r.records.length;
    out.push(...r.records.map(raw(plan.topic, p)).filter(plan.match));
    // Compaction leaves gaps: an answer with no records may still move the position on.
    const pos = r.next_offset;
    if (out.length >= plan.limit || pos >= r.high_watermark || scanned >= SCAN_CAP || pos <= last) break;
    last = pos;
    r = await fetchRecords(plan.topic, p, pos, want(out.length), signal);
  }
  return { messages: out.slice(0, plan.limit), scanned, tailFrom: r.high_watermark };
}

const readPartition = (plan: Plan, p: number, signal: AbortSignal) => (plan.from === 'latest' ? readLatest(plan, p, signal) : readForward(plan, p, signal));

const byTime = (a: RawMessage, b: RawMessage) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset;

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export function MessagesPage(props: { route: Route }) {
  const topics = useLoad((s) => get<{ data: TopicInfo[] }>('/v3/clusters/floe/topics', s), []);
  const [form, setForm] = useState<Form>(() => formOf(props.route.query));
  const [messages, setMessages] = useState<RawMessage[]>([]);
  const [status, setStatus] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [reading, setReading] = useState(false);
  const [tailing, setTailing] = useState(false);
  const [readMs, setReadMs] = useState<number | undefined>();
  const [shownAs, setShownAs] = useState<Shown>(form.as);
  const ctl = useRef<AbortController | null>(null);
  const tailFrom = useRef(new Map<number, number>());
  const planRef = useRef<Plan | null>(null);

  const topicList = topics.data?.data ?? [];
  const current = topicList.find((t) => t.topic_name === form.topic);
  const partitionCount = current?.partitions_count ?? 0;
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  const stop = () => {
    ctl.current?.abort();
    ctl.current = null;
    setTailing(false);
    setReading(false);
  };
  useEffect(() => stop, []);

  const read = async (f: Form) => {
    stop();
    setError(undefined);
    setProblem(undefined);
    if (!f.topic) return setProblem('Choose a topic');
    const defaults = formOf(new URLSearchParams());
    navigate(['messages'], Object.fromEntries(Object.entries(f).filter(([k, v]) => v !== defaults[k as keyof Form] || k === 'topic')), true);
    const c = new AbortController();
    ctl.current = c;
    setReading(true);
    setStatus('Reading…');
    const started = performance.now();
    try {
      // The partition count matters for all partitions and for a key's partition; a page opened on a
      // link asks for its one topic rather than wait for the list.
      let count = topicList.find((t) => t.topic_name === f.topic)?.partitions_count ?? 0;
      if (count === 0 && (f.partition === 'all' || f.key !== '')) count = (await get<TopicInfo>(`/v3/clusters/floe/topics/${seg(f.topic)}`, c.signal)).partitions_count;
      const plan = planOf(f, count);
      if (typeof plan === 'string') {
        setProblem(plan);
        setStatus('');
        return;
      }
      planRef.current = plan;
      const parts: PartitionRead[] = [];
      // A few partitions at once: the browser holds six connections to a host.
      for (let i = 0; i < plan.partitions.length; i += 4) {
        parts.push(...(await Promise.all(plan.partitions.slice(i, i + 4).map((p) => readPartition(plan, p, c.signal)))));
      }
      let all = parts.flatMap((r) => r.messages);
      if (plan.partitions.length > 1) {
        all.sort(byTime);
        all = plan.from === 'latest' ? all.slice(-plan.limit) : all.slice(0, plan.limit);
      }
      tailFrom.current = new Map(plan.partitions.map((p, i) => [p, parts[i]!.tailFrom]));
      const ms = Math.round(performance.now() - started);
      setMessages(all);
      setShownAs(f.as);
      setReadMs(ms);
      const scanned = parts.reduce((s, r) => s + r.scanned, 0);
      const where = plan.partitions.length === 1 ? `partition ${plan.partitions[0]}` : `${plan.partitions.length} partitions`;
      const keyNote = plan.keyPartition !== undefined ? ` Key "${f.key}" hashes (murmur2) to partition ${plan.keyPartition}.` : '';
      setStatus(`${formatCount(all.length)} message${all.length === 1 ? '' : 's'} from ${where}; ${formatCount(scanned)} record${scanned === 1 ? '' : 's'} read in ${ms} ms.${keyNote}`);
    } catch (e) {
      if (!c.signal.aborted) setError(e);
      setStatus('');
    } finally {
      if (ctl.current === c) ctl.current = null;
      setReading(false);
    }
  };

  const tail = async () => {
    const plan = planRef.current;
    if (!plan) return;
    stop();
    const c = new AbortController();
    ctl.current = c;
    setTailing(true);
    setStatus('Live: waiting for new messages…');
    let added = 0;
    // Long polls when they fit in the browser's connections; short reads and a pause otherwise.
    const wait = plan.partitions.length <= 4 ? 5000 : 0;
    try {
      while (!c.signal.aborted) {
        const rounds = await Promise.all(
          plan.partitions.map(async (p) => {
            const from = tailFrom.current.get(p) ?? 0;
            const r = await fetchRecords(plan.topic, p, from, PAGE, c.signal, wait);
            tailFrom.current.set(p, r.next_offset);
            return r.records.map(raw(plan.topic, p)).filter(plan.match);
          }),
        );
        const fresh = rounds.flat().sort(byTime);
        if (fresh.length > 0) {
          added += fresh.length;
          setMessages((m) => [...m, ...fresh].slice(-SHOWN_CAP));
          setStatus(`Live: ${formatCount(added)} new message${added === 1 ? '' : 's'}.`);
        } else if (wait === 0) await sleep(1000, c.signal);
      }
    } catch (e) {
      if (!c.signal.aborted) {
        setError(e);
        setTailing(false);
      }
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    void read(form);
  };

  // A link with a topic reads at once (the topic page's "browse"), before the page's first paint.
  useLayoutEffect(() => {
    if (form.topic) void read(form);
  }, []);

  const exportName = (ext: string) => `${form.topic || 'messages'}-${new Date().toISOString().replace(/[:.]/g, '-')}.${ext}`;
  const keyPartition = form.key !== '' && partitionCount > 0 ? partitionForKey(utf8Bytes(form.key), partitionCount) : undefined;

  return (
    <Page title="Messages" subtitle="Browse a topic's messages, tail it live, produce and re-publish.">
      <Section title="Read">
        <form class="form-grid" onSubmit={submit} aria-label="Read messages">
          <Field id="m-topic" label="Topic">
            <select id="m-topic" value={form.topic} onChange={(e) => setForm((f) => ({ ...f, topic: e.currentTarget.value, partition: 'all' }))}>
              <option value="">Choose a topic</option>
              {topicList.map((t) => (
                <option key={t.topic_name} value={t.topic_name}>
                  {t.topic_name}
                </option>
              ))}
            </select>
          </Field>
          <Field id="m-partition" label="Partition">
            <select id="m-partition" value={form.partition} onChange={(e) => set('partition', e.currentTarget.value)}>
              <option value="all">All partitions</option>
              {[...Array(partitionCount).keys()].map((p) => (
                <option key={p} value={String(p)}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <Field id="m-from" label="From">
            <select id="m-from" value={form.from} onChange={(e) => set('from', e.currentTarget.value as From)}>
              <option value="earliest">Earliest</option>
              <option value="latest">Latest</option>
              <option value="offset">Offset</option>
              <option value="timestamp">Time</option>
            </select>
          </Field>
          {form.from === 'offset' ? (
            <Field id="m-offset" label="Offset">
              <input id="m-offset" type="number" min={0} value={form.offset} onInput={(e) => set('offset', e.currentTarget.value)} />
            </Field>
          ) : null}
          {form.from === 'timestamp' ? (
            <Field id="m-time" label="Time (yours)">
              <input id="m-time" type="datetime-local" step={1} value={form.time} onInput={(e) => set('time', e.currentTarget.value)} />
            </Field>
          ) : null}
          <Field id="m-limit" label="Show">
            <input id="m-limit" type="number" min={1} max={SHOWN_CAP} value={form.limit} onInput={(e) => set('limit', e.currentTarget.value)} />
          </Field>
          <Field id="m-key" label="Key" hint={keyPartition !== undefined ? `murmur2: partition ${keyPartition}` : 'exact, as UTF-8'}>
            <input id="m-key" value={form.key} onInput={(e) => set('key', e.currentTarget.value)} autocomplete="off" {...described('m-key', true, undefined)} />
          </Field>
          <Field id="m-vmode" label="Value filter">
            <select id="m-vmode" value={form.vmode} onChange={(e) => set('vmode', e.currentTarget.value as ValueMode)}>
              <option value="substring">contains text</option>
              <option value="path">JSON path</option>
            </select>
          </Field>
          <Field id="m-vfilter" label={form.vmode === 'path' ? 'JSON path' : 'Text in the value'} hint={form.vmode === 'path' ? 'e.g. $.status == "paid" or $.qty > 2' : undefined}>
            <input id="m-vfilter" value={form.vfilter} onInput={(e) => set('vfilter', e.currentTarget.value)} autocomplete="off" {...described('m-vfilter', form.vmode === 'path', undefined)} />
          </Field>
          <Field id="m-as" label="Show as">
            <select id="m-as" value={form.as} onChange={(e) => (set('as', e.currentTarget.value as Shown), setShownAs(e.currentTarget.value as Shown))}>
              <option value="text">Text</option>
              <option value="json">JSON (pretty)</option>
              <option value="hex">Hex</option>
            </select>
          </Field>
          <div class="field buttons">
            <button type="submit" disabled={reading}>
              Read
            </button>
            <button type="button" class="secondary" aria-pressed={tailing} disabled={!planRef.current || reading} onClick={() => (tailing ? stop() : void tail())}>
              {tailing ? 'Stop live tail' : 'Live tail'}
            </button>
          </div>
        </form>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : null}
        <ErrorNote error={topics.error} what="Topics" />
        <ErrorNote error={error} what="Reading" />
        <Status id="read-status">{status}</Status>
      </Section>

      <Section
        title="Messages"
        actions={
          <div class="actions">
            <button type="button" class="secondary" disabled={messages.length === 0} onClick={() => download(exportName('jsonl'), 'application/x-ndjson', toJsonLines(messages, shownAs))}>
              Export JSON lines
            </button>
            <button type="button" class="secondary" disabled={messages.length === 0} onClick={() => download(exportName('csv'), 'text/csv', toCsv(messages, shownAs))}>
              Export CSV
            </button>
          </div>
        }
      >
        {messages.length === 0 ? <Empty>{status && !reading ? 'No messages match.' : 'Choose a topic and read.'}</Empty> : <MessageTable messages={messages} as={shownAs} topics={topicList} readMs={readMs} />}
      </Section>

      {current ? (
        <ProduceForm
          topic={current}
          onShow={(p, offset) => {
            const f: Form = { ...form, partition: String(p), from: 'offset', offset: String(offset), key: '', vfilter: '' };
            setForm(f);
            void read(f);
          }}
        />
      ) : null}
    </Page>
  );
}

const CELL_CHARS = 2000;

function Cell(props: { text: string | null }) {
  if (props.text === null) return <span class="null">null</span>;
  if (props.text.length <= CELL_CHARS) return <pre>{props.text}</pre>;
  return (
    <details>
      <summary>
        <pre class="inline">{props.text.slice(0, CELL_CHARS)}…</pre> show all {formatCount(props.text.length)} characters
      </summary>
      <pre>{props.text}</pre>
    </details>
  );
}

function MessageTable(props: { messages: RawMessage[]; as: Shown; topics: TopicInfo[]; readMs: number | undefined }) {
  const [republish, setRepublish] = useState<RawMessage | null>(null);
  return (
    <>
      <TableWrap label="Messages">
        <thead>
          <tr>
            <th scope="col" class="num">Partition</th>
            <th scope="col" class="num">Offset</th>
            <th scope="col">Time</th>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">Headers</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody data-rows={props.messages.length} data-read-ms={props.readMs}>
          {props.messages.map((m) => (
            <tr key={`${m.partition}-${m.offset}`} data-offset={m.offset} data-partition={m.partition}>
              <td class="num">{m.partition}</td>
              <th scope="row" class="num">
                {m.offset}
              </th>
              <td class="nowrap">{formatTime(m.timestamp)}</td>
              <td class="key">
                <Cell text={show(m.key, props.as)} />
              </td>
              <td class="value">
                <Cell text={show(m.value, props.as)} />
              </td>
              <td>
                {m.headers.length === 0 ? (
                  <span class="null">none</span>
                ) : (
                  <dl class="headers">
                    {m.headers.map((h, i) => (
                      <div key={i}>
                        <dt>{h.key}</dt>
                        <dd>
                          <Cell text={show(h.value, props.as === 'json' ? 'text' : props.as)} />
                        </dd>
                      </div>
                    ))}
                  </dl>
                )}
              </td>
              <td>
                <button type="button" class="secondary small" onClick={() => setRepublish(m)} aria-label={`Re-publish partition ${m.partition} offset ${m.offset}`}>
                  Re-publish
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
      {republish ? <Republish message={republish} topics={props.topics} onClose={() => setRepublish(null)} /> : null}
    </>
  );
}

function Republish(props: { message: RawMessage; topics: TopicInfo[]; onClose: () => void }) {
  const m = props.message;
  const dialog = useRef<HTMLDialogElement>(null);
  const [target, setTarget] = useState(props.topics.find((t) => t.topic_name !== m.topic)?.topic_name ?? m.topic);
  const [samePartition, setSamePartition] = useState(false);
  const [keepTime, setKeepTime] = useState(false);
  const [done, setDone] = useState('');
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const publish = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await call<{ records: Array<{ partition: number; offset?: number; message?: string }> }>('POST', `/floe/v1/topics/${seg(target)}/records`, {
        body: { records: [{ key: m.key, value: m.value, headers: m.headers, ...(samePartition ? { partition: m.partition } : {}), ...(keepTime ? { timestamp: m.timestamp } : {}) }] },
      });
      const rec = r.records[0]!;
      if (rec.offset === undefined) throw new Error(rec.message ?? 'the record was not written');
      setDone(`Published to ${target}, partition ${rec.partition}, offset ${rec.offset}.`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <dialog ref={dialog} onClose={props.onClose} aria-labelledby="republish-title">
      <form onSubmit={publish} class="form-grid">
        <h2 id="republish-title" class="wide">
          Re-publish {m.topic} partition {m.partition} offset {m.offset}
        </h2>
        <Field id="rp-topic" label="To topic">
          <select id="rp-topic" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            {props.topics.map((t) => (
              <option key={t.topic_name} value={t.topic_name}>
                {t.topic_name}
              </option>
            ))}
          </select>
        </Field>
        <div class="field checks">
          <label>
            <input type="checkbox" checked={samePartition} onChange={(e) => setSamePartition(e.currentTarget.checked)} /> Same partition ({m.partition})
          </label>
          <label>
            <input type="checkbox" checked={keepTime} onChange={(e) => setKeepTime(e.currentTarget.checked)} /> Keep its timestamp
          </label>
        </div>
        <div class="field buttons wide">
          <button type="submit">Publish</button>
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Close
          </button>
        </div>
        <div class="wide">
          <ErrorNote error={error} what="Publishing" />
          {done ? <Status>{done}</Status> : null}
        </div>
      </form>
    </dialog>
  );
}

function ProduceForm(props: { topic: TopicInfo; onShow: (partition: number, offset: number) => void }) {
  const [partition, setPartition] = useState('auto');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [asJson, setAsJson] = useState(false);
  const [tombstone, setTombstone] = useState(false);
  const [headers, setHeaders] = useState('');
  const [problem, setProblem] = useState<{ field: string; message: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<{ partition: number; offset: number } | undefined>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    let hs: Array<{ key: string; value: string }>;
    try {
      hs = parseHeaderLines(headers);
    } catch (err) {
      return setProblem({ field: 'p-headers', message: (err as Error).message });
    }
    let body = value;
    if (asJson && !tombstone) {
      try {
        body = JSON.stringify(JSON.parse(value));
      } catch (err) {
        return setProblem({ field: 'p-value', message: `not JSON: ${(err as Error).message}` });
      }
    }
    setProblem(undefined);
    try {
      const r = await call<{ records: Array<{ partition: number; offset?: number; message?: string }> }>('POST', `/floe/v1/topics/${seg(props.topic.topic_name)}/records`, {
        body: {
          records: [
            {
              key: key === '' ? null : textToBase64(key),
              value: tombstone ? null : textToBase64(body),
              headers: hs.map((h) => ({ key: h.key, value: textToBase64(h.value) })),
              ...(partition !== 'auto' ? { partition: Number(partition) } : {}),
            },
          ],
        },
      });
      const rec = r.records[0]!;
      if (rec.offset === undefined) throw new ApiError(500, 500, rec.message ?? 'the record was not written');
      setResult({ partition: rec.partition, offset: rec.offset });
    } catch (err) {
      setError(err);
    }
  };
  const err = (field: string) => (problem?.field === field ? problem.message : undefined);

  return (
    <Section title={`Produce to ${props.topic.topic_name}`}>
      <form class="form-grid" onSubmit={submit} aria-label="Produce a message">
        <Field id="p-partition" label="Partition" hint="By key: murmur2, as the Java client; no key: any">
          <select id="p-partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)} {...described('p-partition', true, undefined)}>
            <option value="auto">By key</option>
            {[...Array(props.topic.partitions_count).keys()].map((p) => (
              <option key={p} value={String(p)}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        <Field id="p-key" label="Key" hint="empty: no key">
          <input id="p-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} autocomplete="off" {...described('p-key', true, undefined)} />
        </Field>
        <Field id="p-value" label="Value" error={err('p-value')} wide>
          <textarea id="p-value" rows={4} value={value} disabled={tombstone} onInput={(e) => setValue(e.currentTarget.value)} {...described('p-value', false, err('p-value'))} />
        </Field>
        <div class="field checks">
          <label>
            <input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.currentTarget.checked)} /> The value is JSON (checked, sent compact)
          </label>
          <label>
            <input type="checkbox" checked={tombstone} onChange={(e) => setTombstone(e.currentTarget.checked)} /> No value (a tombstone)
          </label>
        </div>
        <Field id="p-headers" label="Headers" hint="one a line: name: value" error={err('p-headers')} wide>
          <textarea id="p-headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} {...described('p-headers', true, err('p-headers'))} />
        </Field>
        <div class="field buttons wide">
          <button type="submit">Produce</button>
        </div>
      </form>
      <ErrorNote error={error} what="Producing" />
      {result ? (
        <Status>
          Produced to partition {result.partition} at offset {result.offset}.{' '}
          <button type="button" class="link" onClick={() => props.onShow(result.partition, result.offset)}>
            Show it
          </button>
        </Status>
      ) : null}
      <p class="hint">
        Or open the topic: <a href={href(['topics', props.topic.topic_name])}>{props.topic.topic_name}</a>
      </p>
    </Section>
  );
}
