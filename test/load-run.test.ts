// The load run, short: the same mixed load and the same read-back check as `npm run test:load`, with 10
// connections for 5 s. It loads a server on the run's shared emulators rather than starting its own, so
// `npm test` does not pay for a second DynamoDB Local. It asserts what must hold however slow the
// machine is (no server errors, nothing acknowledged lost or moved); speed is for `npm run test:load`
// to report, not for this test to judge.
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOAD, loadRun } from './load/load-run.ts';
import { randomTopic } from './support/env.ts';
import { testServer } from './support/server.ts';

const server = await testServer();
afterAll(() => server.close());

describe('load run', () => {
  it('answers a mixed produce, fetch and consumer load without server errors and keeps every acknowledged record at its offset', async () => {
    const s = await loadRun({ ...DEFAULT_LOAD, connections: 10, seconds: 5, seed: 7, target: server.url, topic: randomTopic('load'), group: randomTopic('load-group') });
    expect(s.non_4xx_errors, JSON.stringify(s.errors)).toBe(0);
    expect(s.records_lost, s.examples.join('; ')).toBe(0);
    expect(s.records_mismatched, s.examples.join('; ')).toBe(0);
    expect(s.offsets_acknowledged_twice, s.examples.join('; ')).toBe(0);
    // Not a speed figure: a run that acknowledged nothing would have checked nothing.
    expect(s.records_acknowledged).toBeGreaterThan(0);
    expect(s.records_acknowledged % DEFAULT_LOAD.recordsPerRequest).toBe(0);
  }, 60_000);
});
