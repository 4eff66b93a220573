import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type FloeConfig } from '../../src/config.ts';
import { createClients, type AwsClients } from '../../src/storage/clients.ts';

/** The configuration of the test run's tables and bucket, with optional overrides of Floe settings. */
export function testConfig(overrides: Record<string, string> = {}): FloeConfig {
  return loadConfig({ ...inject('floeEnv'), ...overrides });
}

export function testClients(config: FloeConfig = testConfig()): AwsClients {
  return createClients(config);
}

/** A topic name no other test uses. */
export function randomTopic(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
