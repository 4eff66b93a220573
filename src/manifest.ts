// What each Floe function serves and may call: its API routes, and its IAM grants per table and on the
// data bucket. The stack builds routes and role policies from this list, the Lambda adapter refuses the
// routes of other functions by it, and an integration test drives every route and job through the
// engine, recording each AWS call, to prove the grants cover exactly what the code calls: least
// privilege that still works in a real account. Two edges read it (infra/ and functions/), so it sits
// in src/, below both, and imports nothing but the schema's table names.
import type { TableName } from './storage/schema.ts';

export type Access = 'get' | 'query' | 'batchGet' | 'put' | 'update' | 'delete' | 'scan' | 'check';
export type S3Access = 'get' | 'put' | 'delete' | 'list';
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'ANY';

/** The DynamoDB action of each kind of access; a transaction's items need the per-item actions. */
export const DDB_ACTIONS: Record<Access, string> = {
  get: 'dynamodb:GetItem',
  query: 'dynamodb:Query',
  batchGet: 'dynamodb:BatchGetItem',
  put: 'dynamodb:PutItem',
  update: 'dynamodb:UpdateItem',
  delete: 'dynamodb:DeleteItem',
  scan: 'dynamodb:Scan',
  check: 'dynamodb:ConditionCheckItem',
};

/** S3 actions per kind of access: object actions on the data prefix, listing on the bucket. */
export const S3_ACTIONS: Record<S3Access, string> = { get: 's3:GetObject', put: 's3:PutObject', delete: 's3:DeleteObject', list: 's3:ListBucket' };

export interface FunctionSpec {
  entry: 'produce' | 'fetch' | 'admin' | 'consumers' | 'triggers' | 'dispatcher' | 'retention' | 'compaction' | 'gc';
  http: boolean;
  tables: Partial<Record<TableName, Access[]>>;
  s3: S3Access[];
  routes?: Array<[RouteMethod, string]>;
  /** Serves API Gateway's `$default` route: any request no other route matches (answered 404/405 by the app). */
  defaultRoute?: boolean;
  /** The stack property that sets the job's schedule. */
  schedule?: 'retentionMinutes' | 'compactionMinutes' | 'gcMinutes' | 'triggerSweepMinutes';
  /** Woken by the DynamoDB stream of this table (the trigger dispatcher, by the log table's partition heads). */
  stream?: TableName;
  /** Invokes users' functions: granted lambda:InvokeFunction on each trigger's function only, by the trigger's construct. */
  invokes?: boolean;
}

/**
 * Each function and exactly what its code calls. Reading the engine: produce resolves and auto-creates
 * topics, allocates offsets and moves high watermarks with UpdateItem, and commits with a transaction of
 * Put/Update items; fetch reads, and writes only to help the high watermark past a crashed producer; the
 * jobs rewrite the index; only gc deletes objects.
 */
export const FUNCTIONS: FunctionSpec[] = [
  {
    entry: 'produce',
    http: true,
    // Topics: resolve, auto-create, and a consistent read before a partition's first allocation. Log:
    // allocations and high-watermark moves (UpdateItem), entries put by the commit, and reads of heads and
    // entries while it waits for writers before it, or after a lost answer. Producers: state read in one
    // BatchGetItem, put by the commit; ids allocated.
    // Transactions: the state item read and written conditionally, staged writes and offsets put and
    // queried; a commit's roll-forward is a produce commit plus the group offsets (guarded by the
    // group's pending marker) and the release of the objects it held.
    tables: {
      topics: ['get', 'put'],
      log: ['get', 'query', 'put', 'update', 'check'],
      objects: ['update'],
      producers: ['batchGet', 'put', 'update'],
      transactions: ['get', 'query', 'put', 'update'],
      groups: ['put', 'delete', 'check'],
    },
    s3: ['put'],
    routes: [
      ['ANY', '/floe/v1/transactions/{proxy+}'],
      ['POST', '/topics/{topic}'],
      ['POST', '/topics/{topic}/partitions/{partition}'],
      ['POST', '/v3/clusters/{cluster}/topics/{topic}/records'],
      ['POST', '/floe/v1/topics/{topic}/records'],
      ['POST', '/floe/v1/producer-ids'],
    ],
  },
  {
    entry: 'fetch',
    http: true,
    // A reader at the tail moves the high watermark over committed entries, and fills a hole a crashed
    // producer left (an empty batch: one PUT, one entry on condition the head has not passed it, its
    // object's reference count).
    tables: { topics: ['get'], log: ['get', 'query', 'put', 'update', 'check'], objects: ['update'] },
    s3: ['get', 'put'],
    routes: [
      ['GET', '/topics/{topic}/partitions/{partition}/records'],
      ['GET', '/topics/{topic}/partitions/{partition}/offsets'],
      ['GET', '/floe/v1/topics/{topic}/partitions/{partition}/records'],
      ['GET', '/floe/v1/topics/{topic}/partitions/{partition}/offsets'],
    ],
  },
  {
    entry: 'admin',
    http: true,
    // Log: a deleted topic's partition heads are closed to allocations.
    tables: { topics: ['get', 'put', 'update', 'delete', 'scan'], log: ['update'] },
    s3: [],
    routes: [
      ['GET', '/'],
      ['GET', '/topics'],
      ['GET', '/topics/{topic}'],
      ['GET', '/topics/{topic}/partitions'],
      ['GET', '/topics/{topic}/partitions/{partition}'],
      ['GET', '/brokers'],
      ['ANY', '/v3/clusters'],
      ['ANY', '/v3/clusters/{cluster}'],
      ['ANY', '/v3/clusters/{cluster}/topics'],
      ['ANY', '/v3/clusters/{cluster}/topics/{topic}'],
      ['ANY', '/v3/clusters/{cluster}/topics/{topic}/configs'],
      ['ANY', '/v3/clusters/{cluster}/topics/{topic}/configs/{name}'],
    ],
    // `POST .../topics/{t}/configs:alter` (a path segment no route template can spell) and unknown
    // paths reach the app here, which answers them with its own error bodies.
    defaultRoute: true,
  },
  {
    entry: 'consumers',
    http: true,
    tables: { topics: ['get', 'scan'], log: ['get', 'query', 'put', 'update', 'check'], objects: ['update'], groups: ['get', 'query', 'batchGet', 'put', 'update', 'delete', 'scan', 'check'] },
    s3: ['get', 'put'],
    routes: [
      ['ANY', '/consumers/{proxy+}'],
      ['ANY', '/floe/v1/groups'],
      ['ANY', '/floe/v1/groups/{proxy+}'],
    ],
  },
  {
    entry: 'triggers',
    http: true,
    // The trigger settings and lanes; the starting offsets committed in the trigger's group (on
    // condition the group is unchanged) and a seek's, with the lane's fence; partition offsets, offsets
    // by time, and one record per partition that is behind, for lag (a fetch below the high watermark,
    // so it never helps one along); the dead-letter topic created with the trigger. Also the custom
    // resource that registers the triggers of @floe/cdk's FloeEventSource. Tables: their definitions,
    // each kept by an internal trigger (created, deleted with its lanes, its offsets committed from the
    // log start); reads of entries (one key, many in one BatchGetItem, queries of a prefix or range) after
    // the applied offset; a delete's removal of the entries. Connectors: internal triggers too, kept the
    // same way (their offsets those of the group `connect-<name>`); the user's table or bucket they
    // write is checked (DescribeTable, HeadBucket) on grants @floe/cdk's FloeConnector adds, not here.
    tables: {
      topics: ['get', 'put'],
      log: ['get', 'query'],
      groups: ['get', 'query', 'batchGet', 'put', 'check'],
      triggers: ['get', 'query', 'scan', 'put', 'update', 'delete'],
      tables: ['get', 'query', 'batchGet', 'put', 'update', 'delete'],
    },
    s3: ['get'],
    routes: [
      ['ANY', '/floe/v1/triggers'],
      ['ANY', '/floe/v1/triggers/{proxy+}'],
      ['ANY', '/floe/v1/tables'],
      ['ANY', '/floe/v1/tables/{proxy+}'],
      ['ANY', '/floe/v1/connectors'],
      ['ANY', '/floe/v1/connectors/{proxy+}'],
    ],
  },
  {
    entry: 'dispatcher',
    http: false,
    // Woken by the log table's stream and a one-minute sweep: leases and lane state in the triggers
    // table (the trigger read again when a lane run goes on), offsets committed in the trigger's group
    // (a transaction with the lease's condition), partition heads read in one BatchGetItem, fetches of
    // the source partitions (at the tail, filling a dead producer's hole), and dead letters appended
    // through the produce path (which re-creates a deleted dead-letter topic); tables' entries written
    // (a PutItem conditioned on the offset) by their triggers' built-in writer. A connector's writes go
    // to the user's table or bucket, on grants of that destination its FloeConnector adds.
    tables: {
      topics: ['get', 'put'],
      log: ['get', 'query', 'batchGet', 'put', 'update', 'check'],
      objects: ['update'],
      groups: ['batchGet', 'put'],
      triggers: ['get', 'query', 'scan', 'update'],
      tables: ['put'],
    },
    s3: ['get', 'put'],
    schedule: 'triggerSweepMinutes',
    stream: 'log',
    invokes: true,
  },
  {
    entry: 'retention',
    http: false,
    // Also the sweep of transactions past their timeout, which aborts them (and completes stalled ones).
    tables: {
      topics: ['get', 'scan'],
      log: ['get', 'query', 'scan', 'put', 'update', 'delete', 'check'],
      objects: ['update'],
      producers: ['batchGet', 'put'],
      transactions: ['get', 'query', 'batchGet', 'update'],
      groups: ['put', 'delete'],
    },
    s3: ['put'],
    schedule: 'retentionMinutes',
  },
  {
    entry: 'compaction',
    http: false,
    tables: { topics: ['scan'], log: ['get', 'query', 'put', 'update', 'delete'], objects: ['update'] },
    s3: ['get', 'put'],
    schedule: 'compactionMinutes',
  },
  {
    entry: 'gc',
    http: false,
    // A sole object's entry is its reference: read by key, many in one BatchGetItem.
    tables: { log: ['batchGet'], objects: ['scan', 'batchGet', 'delete'] },
    s3: ['list', 'delete'],
    schedule: 'gcMinutes',
  },
];

/** The IAM actions a function is granted on one table (its indexes included). */
export function tableActions(spec: FunctionSpec, table: TableName): string[] {
  return [...new Set((spec.tables[table] ?? []).map((a) => DDB_ACTIONS[a]))].sort();
}

/**
 * The function API Gateway sends a request to, with HTTP API's precedence: a route with more literal
 * segments wins, a method-specific one beats ANY, a greedy `{proxy+}` comes last, `$default` catches the rest.
 */
export function routeOf(method: string, path: string): FunctionSpec | undefined {
  const segments = path.split('/').filter(Boolean);
  let best: { spec: FunctionSpec; rank: number[] } | undefined;
  for (const spec of FUNCTIONS) {
    for (const [m, template] of spec.routes ?? []) {
      if (m !== 'ANY' && m !== method) continue;
      const parts = template.split('/').filter(Boolean);
      const greedy = parts.at(-1)?.endsWith('+}') ?? false;
      if (greedy ? segments.length < parts.length : segments.length !== parts.length) continue;
      const fixed = greedy ? parts.slice(0, -1) : parts;
      if (!fixed.every((p, i) => p.startsWith('{') || p === segments[i])) continue;
      const rank = [greedy ? 0 : 1, fixed.filter((p) => !p.startsWith('{')).length, m === 'ANY' ? 0 : 1];
      if (!best || compareRanks(rank, best.rank) > 0) best = { spec, rank };
    }
  }
  return best?.spec ?? FUNCTIONS.find((f) => f.defaultRoute);
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * What a sink connector needs of its destination, which is the user's and not in any function's grants
 * above: the dispatcher (`writer`) writes it, the function serving the connectors API (`checker`)
 * checks it on create and PATCH. @floe/cdk's FloeConnector grants these on that one table or bucket
 * (the objects under `topics.dir`), and the IAM test holds the calls to them.
 */
export const CONNECTOR_GRANTS = {
  functions: { writer: 'dispatcher', checker: 'triggers' },
  'dynamodb-sink': { writer: ['dynamodb:DescribeTable', 'dynamodb:PutItem'], checker: ['dynamodb:DescribeTable'] },
  // HeadBucket is authorized as s3:ListBucket.
  's3-sink': { writer: ['s3:PutObject'], checker: ['s3:ListBucket'] },
} as const satisfies { functions: Record<'writer' | 'checker', FunctionSpec['entry']>; 'dynamodb-sink': Record<'writer' | 'checker', readonly string[]>; 's3-sink': Record<'writer' | 'checker', readonly string[]> };
