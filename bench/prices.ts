// us-east-1 list prices used to turn counted AWS calls into dollars (on-demand, public pricing pages,
// as of 2026; check them before relying on the figures). Free tiers are ignored.
export const PRICES = {
  /** S3 Standard PUT, COPY, POST, LIST: per request. */
  s3Put: 0.005 / 1000,
  /** S3 Standard GET and other reads: per request. */
  s3Get: 0.0004 / 1000,
  /** DynamoDB on-demand write request unit (1 KB standard write; transactional writes take 2 per KB). */
  ddbWru: 0.625 / 1_000_000,
  /** DynamoDB on-demand read request unit (4 KB strongly consistent read; eventually consistent takes half). */
  ddbRru: 0.125 / 1_000_000,
  /** Lambda on arm64: per GB-second, and per request. */
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
  /** API Gateway HTTP API: per request, metered in 512 KB increments. */
  httpApiRequest: 1.0 / 1_000_000,
} as const;

/** Function memory the cost model assumes for produce (the stack's default). */
export const LAMBDA_GB = 1;

export interface ProduceCallProfile {
  /** Per produce request. */
  s3Puts: number;
  /** Items read by consistent GetItem, Query and BatchGetItem calls (each under 4 KB: 1 RRU). */
  itemsRead: number;
  /** Single-item writes outside transactions (allocations, high-watermark moves, entries put alone; each under 1 KB: 1 WRU). */
  singleWrites: number;
  transactions: number;
  /** Items written by the transactions (each under 1 KB: 2 WRU transactional). */
  itemsWritten: number;
  /**
   * Index entries among them: each is also written to the by-time local secondary index, which costs
   * its own write unit (priced here at the standard 1 WRU, as AWS bills index propagation).
   */
  indexEntriesWritten: number;
  requestBytes: number;
  latencyMs: number;
}

/** Dollars per GB of record data produced with requests of this profile. */
export function costPerGb(p: ProduceCallProfile): { total: number; parts: Record<string, number> } {
  const requestsPerGb = (1024 * 1024 * 1024) / p.requestBytes;
  const perRequest = {
    s3: p.s3Puts * PRICES.s3Put,
    dynamodb_writes: (p.singleWrites + p.itemsWritten * 2 + p.indexEntriesWritten) * PRICES.ddbWru,
    dynamodb_reads: p.itemsRead * PRICES.ddbRru,
    lambda: PRICES.lambdaRequest + (p.latencyMs / 1000) * LAMBDA_GB * PRICES.lambdaGbSecond,
    api_gateway: Math.ceil(p.requestBytes / (512 * 1024)) * PRICES.httpApiRequest,
  };
  const parts = Object.fromEntries(Object.entries(perRequest).map(([k, v]) => [k, v * requestsPerGb]));
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}
