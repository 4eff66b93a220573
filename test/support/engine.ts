import { createApp } from '../../src/api/app.ts';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import { testClients, testConfig } from './env.ts';
import { appClient, readInProcessBody } from './http.ts';

/** An engine on the test run's tables and bucket, with optional setting overrides. */
export function testEngine(overrides: Record<string, string> = {}): Engine {
  const config = testConfig(overrides);
  return createEngine(config, testClients(config));
}

/** The HTTP app over a test engine, and the shared client that calls it in-process. */
export function testApp(overrides: Record<string, string> = {}) {
  const engine = testEngine(overrides);
  const app = createApp(engine, { readBody: readInProcessBody });
  return { engine, app, api: appClient(app) };
}

export const BINARY = 'application/vnd.kafka.binary.v2+json';
export const JSON_V2 = 'application/vnd.kafka.json.v2+json';
export const V2 = 'application/vnd.kafka.v2+json';

export const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * An engine on tables and a bucket of its own: for tests whose subject scans every topic or object
 * (the background jobs), so that other tests' data is neither touched nor counted.
 */
export async function isolatedEngine(overrides: Record<string, string> = {}): Promise<Engine> {
  const { randomBytes } = await import('node:crypto');
  const { ensureStorage } = await import('../../src/storage/setup.ts');
  const id = randomBytes(4).toString('hex');
  // Its own bucket too: the garbage collector lists a whole bucket.
  const config = testConfig({ FLOE_TABLE_PREFIX: `iso-${id}-`, FLOE_BUCKET: `floe-iso-${id}`, ...overrides });
  const clients = testClients(config);
  await ensureStorage(clients, config.tables, config.bucket);
  return createEngine(config, clients);
}
