// Starts the emulators once for the whole integration run (or uses AWS_ENDPOINT_URL, e.g. LocalStack),
// creates a fresh set of tables and a bucket under a random prefix, and hands the settings to the
// test files through vitest's provide/inject. Each test then works in its own random topics.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config.ts';
import { startEmulators, type Emulators } from '../src/local/emulators.ts';
import { createClients } from '../src/storage/clients.ts';
import { ensureStorage } from '../src/storage/setup.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    floeEnv: Record<string, string>;
  }
}

let emulators: Emulators | undefined;

export async function setup(project: TestProject): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    FLOE_TABLE_PREFIX: `test-${run}-`,
    FLOE_BUCKET: `floe-test-${run}`,
  };
  if (process.env.AWS_ENDPOINT_URL) {
    env.AWS_ENDPOINT_URL = process.env.AWS_ENDPOINT_URL;
  } else {
    emulators = await startEmulators();
    env.AWS_ENDPOINT_URL_DYNAMODB = emulators.endpoints.dynamodb;
    env.AWS_ENDPOINT_URL_S3 = emulators.endpoints.s3;
  }
  const config = loadConfig(env);
  await ensureStorage(createClients(config), config.tables, config.bucket);
  project.provide('floeEnv', env);
}

export async function teardown(): Promise<void> {
  await emulators?.stop();
}
