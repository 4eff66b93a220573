// The console's figures over time in AWS: CloudWatch's GetMetricData over the metrics the functions
// write as embedded-metric log lines (functions/shared/emf.ts): RecordsProduced and RecordsFetched per
// topic, ConsumerLag per group. One request, three SEARCH expressions, so topics and groups need not be
// listed first. Spoken as AWS JSON 1.0 and signed with SigV4 on the engine's own credentials: the
// functions carry no CloudWatch client. Building the request is pure (`getMetricDataParams`), apart from
// sending it.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { FloeError } from '../errors.ts';
import type { SampleSource, Series, SeriesQuery } from './samples.ts';

export const NAMESPACE = 'Floe';
const PERIOD_S = 60;

type Credentials = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;

export interface CloudWatchOptions {
  region: string;
  credentials: Credentials;
  /** Another endpoint (LocalStack); https://monitoring.<region>.amazonaws.com by default. */
  endpoint?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/** A name inside a SEARCH string: quotes and backslashes escaped (topic and group names have neither). */
const quoted = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** The GetMetricData body for a query: the last `minutes`, one-minute steps. */
export function getMetricDataParams(query: SeriesQuery, now: number) {
  const end = Math.floor(now / 60_000) * 60;
  const search = (metric: string, dimension: 'topic' | 'group', stat: string, only: string | undefined) =>
    `SEARCH('{${NAMESPACE},${dimension}} MetricName="${metric}"${only !== undefined ? ` ${dimension}=${quoted(only)}` : ''}', '${stat}', ${PERIOD_S})`;
  const queries = [];
  if (query.group === undefined) {
    queries.push({ Id: 'produced', Expression: search('RecordsProduced', 'topic', 'Sum', query.topic), Label: "${PROP('Dim.topic')}", ReturnData: true });
    queries.push({ Id: 'fetched', Expression: search('RecordsFetched', 'topic', 'Sum', query.topic), Label: "${PROP('Dim.topic')}", ReturnData: true });
  }
  if (query.topic === undefined) queries.push({ Id: 'lag', Expression: search('ConsumerLag', 'group', 'Maximum', query.group), Label: "${PROP('Dim.group')}", ReturnData: true });
  return { MetricDataQueries: queries, StartTime: end - query.minutes * 60, EndTime: end, ScanBy: 'TimestampAscending' };
}

interface MetricDataResult {
  Id: string;
  Label?: string;
  Timestamps?: number[];
  Values?: number[];
}

/** GetMetricData's results as the console's series: every series on one axis of minutes, gaps as null. */
export function seriesOf(params: ReturnType<typeof getMetricDataParams>, results: MetricDataResult[]): Series {
  const timestamps: number[] = [];
  for (let t = params.StartTime + PERIOD_S; t <= params.EndTime; t += PERIOD_S) timestamps.push(t * 1000);
  const index = new Map(timestamps.map((t, i) => [t, i]));
  const topics: Series['topics'] = {};
  const groups: Series['groups'] = {};
  for (const r of results) {
    const name = r.Label ?? '';
    const values: Array<number | null> = timestamps.map(() => null);
    // CloudWatch stamps a period by its start; the console's steps end at their timestamp.
    (r.Timestamps ?? []).forEach((t, i) => {
      const at = index.get((t + PERIOD_S) * 1000);
      if (at !== undefined) values[at] = r.Id === 'lag' ? r.Values![i]! : Math.round((r.Values![i]! / PERIOD_S) * 100) / 100;
    });
    if (r.Id === 'lag') groups[name] = { lag: values };
    else {
      const t = (topics[name] ??= { produced_per_s: timestamps.map(() => null), fetched_per_s: timestamps.map(() => null) });
      if (r.Id === 'produced') t.produced_per_s = values;
      else t.fetched_per_s = values;
    }
  }
  return { source: 'cloudwatch', step_ms: PERIOD_S * 1000, timestamps, topics, groups };
}

class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class CloudWatchSamples implements SampleSource {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(private readonly options: CloudWatchOptions) {
    this.signer = new SignatureV4({ service: 'monitoring', region: options.region, credentials: options.credentials, sha256: Sha256 });
    this.url = new URL(options.endpoint ?? `https://monitoring.${options.region}.amazonaws.com/`);
  }

  async series(query: SeriesQuery): Promise<Series> {
    const params = getMetricDataParams(query, (this.options.now ?? Date.now)());
    const results: MetricDataResult[] = [];
    let token: string | undefined;
    // SEARCH answers up to 500 series a query; pages follow NextToken, bounded all the same.
    for (let page = 0; page < 10; page++) {
      const answer = await this.call({ ...params, ...(token ? { NextToken: token } : {}) });
      for (const r of answer.MetricDataResults ?? []) {
        const same = results.find((x) => x.Id === r.Id && x.Label === r.Label);
        if (same) {
          same.Timestamps = [...(same.Timestamps ?? []), ...(r.Timestamps ?? [])];
          same.Values = [...(same.Values ?? []), ...(r.Values ?? [])];
        } else results.push(r);
      }
      token = answer.NextToken;
      if (!token) break;
    }
    return seriesOf(params, results);
  }

  private async call(body: object): Promise<{ MetricDataResults?: MetricDataResult[]; NextToken?: string }> {
    const text = JSON.stringify(body);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path: this.url.pathname,
      headers: { host: this.url.host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'GraniteServiceVersion20100801.GetMetricData' },
      body: text,
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') headers[k] = String(v);
    const r = await (this.options.fetch ?? fetch)(this.url, { method: 'POST', headers, body: text });
    const answer = (await r.json().catch(() => ({}))) as { MetricDataResults?: MetricDataResult[]; NextToken?: string; message?: string; Message?: string; __type?: string };
    if (!r.ok) {
      const why = `${answer.__type ?? r.status}: ${answer.message ?? answer.Message ?? ''}`.trim();
      throw new FloeError(r.status === 429 || r.status >= 500 ? 'STORAGE_RETRIABLE' : 'STORAGE', `CloudWatch GetMetricData failed (${why})`);
    }
    return answer;
  }
}
