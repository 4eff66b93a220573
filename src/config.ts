// Configuration is read and validated once, at start-up (or Lambda cold start). A bad value fails
// loudly there rather than on the first request that happens to use it.
import { z } from 'zod';
import { CRC32C_CHOICES } from './log/crc32c.ts';
import { COMMIT_DEADLINE_MS, DEFAULT_GC_GRACE_MS, DEFAULT_HOLE_FILL_MS, MIN_GC_GRACE_MS } from './model/lifetimes.ts';
import { tableNamesFromPrefix, type TableNames } from './storage/schema.ts';

export interface FloeConfig {
  region: string;
  /** Set for DynamoDB Local + the S3 emulator, or LocalStack; unset in AWS. */
  endpoints: { dynamodb: string | undefined; s3: string | undefined };
  /** Where triggers invoke Lambda functions: LocalStack (or another Lambda API) when set; AWS otherwise. */
  lambdaEndpoint: string | undefined;
  tables: TableNames;
  bucket: string;
  /** Kafka's auto.create.topics.enable: producing to a missing topic creates it. */
  autoCreateTopics: boolean;
  /** Kafka's num.partitions: the partition count of auto-created topics and of creates that give none. */
  defaultPartitions: number;
  /** Largest produce request body accepted, in bytes. */
  maxRequestBytes: number;
  /** Largest wait a fetch may long-poll for, in ms (a Lambda behind API Gateway has 30 s in all). */
  maxFetchWaitMs: number;
  /**
   * Most key and value bytes one fetch or consumer records call answers with (a larger max_bytes is
   * clamped): base64 and JSON around them must stay under Lambda's 6 MB response limit.
   */
  maxFetchBytes: number;
  /** Bytes of S3 object data one process keeps in its fetch cache. */
  fetchCacheBytes: number;
  /** A group member that makes no records call for this long is removed and its partitions move. */
  groupSessionTimeoutMs: number;
  /** How long a produce waits for others of this process to share its object and commit; 0 turns it off. */
  groupCommitMs: number;
  /**
   * A one-batch request of a producer that is not idempotent commits its entry alone, with no
   * transaction and no object record (3 write units instead of 6; docs/design.md, "One batch, no
   * transaction"). On by default; FLOE_SOLE_COMMITS=false sends every commit as a transaction.
   */
  soleCommits: boolean;
  /** An offset range still without its index entry this long after it was handed out is filled (ms). */
  holeFillMs: number;
  /** How long an unreferenced data object is kept before the garbage collector deletes it. */
  gcGraceMs: number;
}

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  // The SDK's own names: one endpoint for every service (LocalStack), or one per service.
  AWS_ENDPOINT_URL: z.string().url().optional(),
  AWS_ENDPOINT_URL_DYNAMODB: z.string().url().optional(),
  AWS_ENDPOINT_URL_S3: z.string().url().optional(),
  AWS_ENDPOINT_URL_LAMBDA: z.string().url().optional(),
  FLOE_TABLE_PREFIX: z.string().regex(/^[a-zA-Z0-9_.-]*$/).default('floe-'),
  FLOE_TOPICS_TABLE: z.string().min(3).optional(),
  FLOE_LOG_TABLE: z.string().min(3).optional(),
  FLOE_OBJECTS_TABLE: z.string().min(3).optional(),
  FLOE_PRODUCERS_TABLE: z.string().min(3).optional(),
  FLOE_GROUPS_TABLE: z.string().min(3).optional(),
  FLOE_TRANSACTIONS_TABLE: z.string().min(3).optional(),
  FLOE_TRIGGERS_TABLE: z.string().min(3).optional(),
  FLOE_TABLES_TABLE: z.string().min(3).optional(),
  FLOE_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').default('floe-data'),
  FLOE_AUTO_CREATE_TOPICS: bool.default(true),
  FLOE_DEFAULT_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(1),
  FLOE_MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
  FLOE_MAX_FETCH_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(25_000),
  FLOE_MAX_FETCH_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(3 * 1024 * 1024),
  FLOE_FETCH_CACHE_BYTES: z.coerce.number().int().min(0).default(64 * 1024 * 1024),
  FLOE_GC_GRACE_MS: z.coerce.number().int().min(MIN_GC_GRACE_MS).default(DEFAULT_GC_GRACE_MS),
  FLOE_GROUP_SESSION_TIMEOUT_MS: z.coerce.number().int().min(100).max(30 * 60 * 1000).default(10_000),
  FLOE_GROUP_COMMIT_MS: z.coerce.number().int().min(0).max(1000).default(2),
  FLOE_SOLE_COMMITS: bool.default(true),
  FLOE_HOLE_FILL_MS: z.coerce.number().int().min(50).max(COMMIT_DEADLINE_MS).default(DEFAULT_HOLE_FILL_MS),
  // Only checked here: the log module reads it itself at its first long checksum, which may come
  // before any configuration is loaded (and in programs that load none).
  FLOE_CRC32C: z.enum(CRC32C_CHOICES).optional(),
});

export class ConfigError extends Error {}

/** Reads the configuration from an environment (process.env by default); throws ConfigError on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FloeConfig {
  // An empty variable means unset, as a shell user expects of `AWS_ENDPOINT_URL= npm start`.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid Floe configuration: ${problems}`);
  }
  const e = parsed.data;
  const fromPrefix = tableNamesFromPrefix(e.FLOE_TABLE_PREFIX);
  return {
    region: e.AWS_REGION,
    endpoints: {
      dynamodb: e.AWS_ENDPOINT_URL_DYNAMODB ?? e.AWS_ENDPOINT_URL,
      s3: e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL,
    },
    lambdaEndpoint: e.AWS_ENDPOINT_URL_LAMBDA ?? e.AWS_ENDPOINT_URL,
    tables: {
      topics: e.FLOE_TOPICS_TABLE ?? fromPrefix.topics,
      log: e.FLOE_LOG_TABLE ?? fromPrefix.log,
      objects: e.FLOE_OBJECTS_TABLE ?? fromPrefix.objects,
      producers: e.FLOE_PRODUCERS_TABLE ?? fromPrefix.producers,
      groups: e.FLOE_GROUPS_TABLE ?? fromPrefix.groups,
      transactions: e.FLOE_TRANSACTIONS_TABLE ?? fromPrefix.transactions,
      triggers: e.FLOE_TRIGGERS_TABLE ?? fromPrefix.triggers,
      tables: e.FLOE_TABLES_TABLE ?? fromPrefix.tables,
    },
    bucket: e.FLOE_BUCKET,
    autoCreateTopics: e.FLOE_AUTO_CREATE_TOPICS,
    defaultPartitions: e.FLOE_DEFAULT_PARTITIONS,
    maxRequestBytes: e.FLOE_MAX_REQUEST_BYTES,
    maxFetchWaitMs: e.FLOE_MAX_FETCH_WAIT_MS,
    maxFetchBytes: e.FLOE_MAX_FETCH_BYTES,
    fetchCacheBytes: e.FLOE_FETCH_CACHE_BYTES,
    groupSessionTimeoutMs: e.FLOE_GROUP_SESSION_TIMEOUT_MS,
    groupCommitMs: e.FLOE_GROUP_COMMIT_MS,
    soleCommits: e.FLOE_SOLE_COMMITS,
    holeFillMs: e.FLOE_HOLE_FILL_MS,
    gcGraceMs: e.FLOE_GC_GRACE_MS,
  };
}
