// AWS clients are created once per process and passed in, so the local runtime, tests and fault
// injection can point them elsewhere or wrap them with middleware.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { FloeConfig } from '../config.ts';

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
}

/** Credentials for emulators, which accept any; real AWS uses the default provider chain. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function createClients(config: Pick<FloeConfig, 'region' | 'endpoint'>): AwsClients {
  const local = config.endpoint !== undefined;
  const common = {
    region: config.region,
    ...(local ? { endpoint: config.endpoint, credentials: EMULATOR_CREDENTIALS } : {}),
    // Floe does its own bounded retries where a retry is safe; the SDK's standard mode stays for the rest.
    maxAttempts: 3,
  };
  const ddbBase = new DynamoDBClient(common);
  const ddb = DynamoDBDocumentClient.from(ddbBase, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client({
    ...common,
    // Emulators want path-style addressing and plain (not aws-chunked) bodies; S3 itself accepts both.
    forcePathStyle: local,
    ...(local ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  });
  return { ddb, s3 };
}
