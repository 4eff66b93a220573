import { describe, expect, it } from 'vitest';
import { FloeError } from '../errors.ts';
import { CloudWatchSamples, getMetricDataParams, seriesOf } from './cloudwatch.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 30);
const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });

describe("the console's figures from CloudWatch", () => {
  it('asks for every topic and group with SEARCH, in whole minutes up to now', () => {
    const p = getMetricDataParams({ minutes: 60 }, NOW);
    expect(p.EndTime).toBe(Date.UTC(2026, 0, 1, 12, 0) / 1000);
    expect(p.StartTime).toBe(p.EndTime - 3600);
    expect(p.MetricDataQueries).toEqual([
      { Id: 'produced', Expression: `SEARCH('{Floe,topic} MetricName="RecordsProduced"', 'Sum', 60)`, Label: "${PROP('Dim.topic')}", ReturnData: true },
      { Id: 'fetched', Expression: `SEARCH('{Floe,topic} MetricName="RecordsFetched"', 'Sum', 60)`, Label: "${PROP('Dim.topic')}", ReturnData: true },
      { Id: 'lag', Expression: `SEARCH('{Floe,group} MetricName="ConsumerLag"', 'Maximum', 60)`, Label: "${PROP('Dim.group')}", ReturnData: true },
    ]);
  });

  it("narrows the search to one topic's or one group's metrics", () => {
    expect(getMetricDataParams({ minutes: 5, topic: 'orders' }, NOW).MetricDataQueries.map((q) => q.Expression)).toEqual([
      `SEARCH('{Floe,topic} MetricName="RecordsProduced" topic="orders"', 'Sum', 60)`,
      `SEARCH('{Floe,topic} MetricName="RecordsFetched" topic="orders"', 'Sum', 60)`,
    ]);
    expect(getMetricDataParams({ minutes: 5, group: 'billing' }, NOW).MetricDataQueries.map((q) => q.Id)).toEqual(['lag']);
  });

  it('puts the results on one axis of minutes, sums as rates per second, gaps as null', () => {
    const p = getMetricDataParams({ minutes: 3 }, NOW);
    const start = p.StartTime;
    const s = seriesOf(p, [
      { Id: 'produced', Label: 'orders', Timestamps: [start, start + 120], Values: [600, 60] },
      { Id: 'lag', Label: 'billing', Timestamps: [start + 60], Values: [42] },
    ]);
    expect(s).toEqual({
      source: 'cloudwatch',
      step_ms: 60_000,
      timestamps: [(start + 60) * 1000, (start + 120) * 1000, (start + 180) * 1000],
      topics: { orders: { produced_per_s: [10, null, 1], fetched_per_s: [null, null, null] } },
      groups: { billing: { lag: [null, 42, null] } },
    });
  });

  it('signs a JSON 1.0 GetMetricData call with SigV4, follows NextToken, and maps errors', async () => {
    const calls: Array<{ url: string; headers: Record<string, string>; body: Record<string, unknown> }> = [];
    const answers = [
      { MetricDataResults: [{ Id: 'lag', Label: 'g', Timestamps: [], Values: [] }], NextToken: 'more' },
      { MetricDataResults: [{ Id: 'lag', Label: 'g', Timestamps: [], Values: [] }] },
    ];
    const fake = (async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) });
      return new Response(JSON.stringify(answers.shift()), { status: 200 });
    }) as unknown as typeof fetch;
    const cw = new CloudWatchSamples({ region: 'eu-west-1', credentials, fetch: fake, now: () => NOW });
    const s = await cw.series({ minutes: 10, group: 'g' });
    expect(Object.keys(s.groups)).toEqual(['g']);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.url).toBe('https://monitoring.eu-west-1.amazonaws.com/');
    expect(calls[0]!.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(calls[0]!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(calls[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/monitoring\/aws4_request, SignedHeaders=.*x-amz-target/);
    expect(calls[1]!.body.NextToken).toBe('more');

    const denied = new CloudWatchSamples({ region: 'eu-west-1', credentials, fetch: (async () => new Response(JSON.stringify({ __type: 'AccessDeniedException', message: 'no' }), { status: 400 })) as unknown as typeof fetch });
    await expect(denied.series({ minutes: 1 })).rejects.toThrow(new FloeError('STORAGE', 'CloudWatch GetMetricData failed (AccessDeniedException: no)'));
  });
});
