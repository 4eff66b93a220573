// AWS clients are created once per process and passed in, so the local runtime, tests and fault
// injection can point them elsewhere or wrap them with middleware.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

/** Where the clients point: the region, and emulator or LocalStack endpoints where set. */
export interface ClientSettings {
  region: string;
  endpoints: { dynamodb: string | undefined; s3: string | undefined };
}

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
}

/** Credentials for emulators, which accept any; real AWS uses the default provider chain. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function createClients(config: ClientSettings, options: { maxAttempts?: number } = {}): AwsClients {
  // Floe does its own bounded retries where a retry is safe; the SDK's standard mode stays for the rest.
  // (Fault tests lower maxAttempts to 1, so that lost answers reach Floe's own retries.)
  const common = { region: config.region, maxAttempts: options.maxAttempts ?? 3 };
  const { dynamodb, s3: s3Endpoint } = config.endpoints;
  const ddbBase = new DynamoDBClient({
    ...common,
    ...(dynamodb ? { endpoint: dynamodb, credentials: EMULATOR_CREDENTIALS } : {}),
  });
  const ddb = DynamoDBDocumentClient.from(ddbBase, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client({
    ...common,
    // Emulators want path-style addressing and plain (not aws-chunked) bodies; S3 itself accepts both.
    ...(s3Endpoint
      ? {
          endpoint: s3Endpoint,
          credentials: EMULATOR_CREDENTIALS,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  });
  return { ddb, s3 };
}
