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

/**
 * A triggers table of this test file's own (created here), as overrides for testConfig: a dispatcher
 * sweeps every trigger of its table, so test files that run dispatchers side by side must not share one.
 */
export async function ownTriggersTable(): Promise<Record<string, string>> {
  const { CreateTableCommand, DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
  const { createTableInputs, tableNamesFromPrefix } = await import('../../src/storage/schema.ts');
  const name = `triggers-${randomBytes(5).toString('hex')}`;
  const config = testConfig();
  const clients = createClients(config);
  const input = createTableInputs({ ...tableNamesFromPrefix(''), triggers: name }).find((t) => t.TableName === name)!;
  await clients.ddb.send(new CreateTableCommand(input));
  for (let i = 0; i < 600; i++) {
    const d = await clients.ddb.send(new DescribeTableCommand({ TableName: name }));
    if (d.Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { FLOE_TRIGGERS_TABLE: name };
}
