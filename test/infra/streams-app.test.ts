// FloeStreamsApp in a user's stack: the app's function, one Custom::FloeTrigger per sub-topology over
// that sub-topology's topics (retried in place, never bisected), the tick schedule only for a topology
// that closes windows by the clock, the direct-mode grants, and the checks at synth.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Floe, FloeStreamsApp } from '../../packages/cdk/src/index.ts';
import { applicationId as pageViewsId, topology as pageViews } from '../../examples/streams/page-views.ts';
import { applicationId as wordCountId, topology as wordCount } from '../../examples/streams/word-count.ts';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function userStack() {
  const outdir = mkdtempSync(join(tmpdir(), 'floe-streams-cdk-'));
  outdirs.push(outdir);
  // No bundling at synth (the user's esbuild would bundle the app; here only the template is checked).
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'UserStack', { env: { account: '111111111111', region: 'eu-west-1' } });
}

const settingsOf = (t: Template) =>
  Object.values(t.findResources('Custom::FloeTrigger')).map((r) => JSON.parse(JSON.stringify((r as { Properties: { Settings: unknown } }).Properties.Settings)) as unknown);

describe('FloeStreamsApp', () => {
  it('deploys word count as one function and one trigger per sub-topology, with no tick', () => {
    const stack = userStack();
    const log = new Floe(stack, 'Log');
    const app = new FloeStreamsApp(log, 'wordcount', { entry: resolve('examples/streams/word-count.ts'), topology: wordCount, applicationId: wordCountId });
    expect(app.triggerNames).toEqual([`${wordCountId}-subtopology-0`, `${wordCountId}-subtopology-1`]);
    const t = Template.fromStack(stack);
    const settings = JSON.stringify(settingsOf(t));
    expect(settings).toContain(`${wordCountId}-subtopology-0`);
    expect(settings).toContain('text-lines');
    // The second sub-topology reads the repartition topic, named after the application.
    expect(settings).toMatch(new RegExp(`${wordCountId}-[A-Za-z0-9-]+-repartition`));
    expect(settings).toContain('retry_attempts\\":10000');
    expect(settings).toContain('bisect_on_error\\":false');
    expect(countRules(t, 'floe-streams')).toBe(0);
  });

  it('adds the tick schedule for a topology with suppression', () => {
    const stack = userStack();
    const log = new Floe(stack, 'Log');
    new FloeStreamsApp(log, 'views', { entry: resolve('examples/streams/page-views.ts'), topology: pageViews, applicationId: pageViewsId });
    expect(countRules(Template.fromStack(stack), 'floe-streams')).toBe(1);
  });

  it('refuses a bad application id and a timeout past the dispatcher bound', () => {
    const stack = userStack();
    const log = new Floe(stack, 'Log');
    expect(() => new FloeStreamsApp(log, 'bad', { entry: 'x.ts', topology: wordCount, applicationId: 'no spaces' })).toThrow(/applicationId must be/);
    expect(() => new FloeStreamsApp(log, 'slow', { entry: 'x.ts', topology: wordCount, applicationId: 'slow', timeout: Duration.minutes(5) })).toThrow(/at most 4 minutes/);
  });
});

/** Rules whose target input is the streams tick. */
function countRules(t: Template, marker: string): number {
  return Object.values(t.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify(r).includes(marker)).length;
}
