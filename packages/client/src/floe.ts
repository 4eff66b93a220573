// The client's entry: one Floe per service (an HTTP URL, or direct mode in-process), from which come
// producers, consumers and the admin. Every call goes through `request`, over HTTP with the chosen
// authentication, or to the same HTTP app running in-process over the caller's own AWS credentials.
import { createHash, createHmac } from 'node:crypto';
import { Admin } from './admin.ts';
import { Connectors } from './connectors.ts';
import { Triggers } from './triggers.ts';
import { Table, Tables } from './tables.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { errorFromResponse, FloeError, NetworkError } from './errors.ts';
import { Producer, type ProducerOptions } from './producer.ts';

/** AWS credentials, or a function giving them (the SDK's credential providers are such functions). */
export type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export type FloeAuth =
  | { type: 'none' }
  /** SigV4 for the deployed API (IAM authorization); credentials default to the AWS SDK's chain. */
  | { type: 'iam'; region: string; credentials?: AwsCredentials | (() => Promise<AwsCredentials>); service?: string }
  /** A bearer token for a JWT-authorized API: a fixed one, or a function asked before each request. */
  | { type: 'jwt'; token?: string; getToken?: () => string | Promise<string> };

/** kafkajs's retry options: attempts after the first, and the backoff between them. */
export interface RetryOptions {
  retries?: number;
  initialRetryTime?: number;
  maxRetryTime?: number;
}

/** Direct mode: the engine in this process, on the tables and bucket of a Floe deployment. */
export interface DirectOptions {
  region?: string;
  /** Table names, or a prefix they share (`floe-dev-` gives `floe-dev-topics`, ...); default from FLOE_* variables. */
  tables?: { prefix?: string; topics?: string; log?: string; objects?: string; producers?: string; groups?: string; transactions?: string; triggers?: string; tables?: string };
  bucket?: string;
}

export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface FloeOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8082` or the stack's `ApiUrl` output. */
  url?: string;
  /** Run the engine in this process instead (no HTTP hop), with the caller's AWS credentials. */
  direct?: DirectOptions;
  auth?: FloeAuth;
  retry?: RetryOptions;
  logLevel?: LogLevel;
  /** The fetch function for HTTP (default: the global one). */
  fetch?: typeof fetch;
}

/** What one call sends: a query, a JSON body, and the media types when they are not plain JSON. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Retry retriable failures with the client's backoff (for calls that are safe to repeat). */
  retry?: boolean;
}

const DEFAULT_RETRY: Required<RetryOptions> = { retries: 5, initialRetryTime: 100, maxRetryTime: 10_000 };

/**
 * A connection to one Floe: over HTTP (`url`) or in-process (`direct`).
 *
 * @example
 * const floe = new Floe({ url: 'http://127.0.0.1:8082' });
 * const producer = floe.producer();
 * await producer.send({ topic: 'orders', messages: [{ key: 'alice', value: 'cup' }] });
 * await producer.disconnect();
 */
export class Floe {
  readonly options: FloeOptions;
  readonly retryOptions: Required<RetryOptions>;
  private transport?: Promise<typeof fetch>;
  private readonly base: string;

  constructor(options: FloeOptions) {
    if (!options.url && !options.direct) throw new FloeError('new Floe() needs a url or direct options', { code: 400, status: 0 });
    if (options.url && options.direct) throw new FloeError('new Floe() takes a url or direct options, not both', { code: 400, status: 0 });
    this.options = options;
    this.retryOptions = { ...DEFAULT_RETRY, ...options.retry };
    this.base = options.url ? options.url.replace(/\/+$/, '') : 'http://floe.direct';
  }

  /**
   * A batching, idempotent (by default) producer; with `transactionalId`, a transactional one.
   *
   * @example
   * const producer = floe.producer({ lingerMs: 10 });
   * await producer.send({ topic: 'orders', messages: [{ key: 'alice', value: 'cup' }] });
   * const txnProducer = floe.producer({ transactionalId: 'billing-1' });
   * await txnProducer.connect();
   */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this, options);
  }

  /**
   * A consumer in the group `groupId`.
   *
   * @example
   * const consumer = floe.consumer({ groupId: 'billing' });
   * await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
   * await consumer.run({ eachMessage: async ({ message }) => console.log(message.value?.toString()) });
   */
  consumer(options: ConsumerOptions): Consumer {
    return new Consumer(this, options);
  }

  /**
   * The admin client: topics, configs, offsets and groups.
   *
   * @example
   * await floe.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] });
   */
  admin(): Admin {
    return new Admin(this);
  }

  /**
   * Topic triggers: a topic invokes a function with MSK-shaped events.
   *
   * @example
   * await floe.triggers().create({ name: 'billing', topic: 'orders', target: { type: 'lambda', function: 'billing' } });
   */
  triggers(): Triggers {
    return new Triggers(this);
  }

  /**
   * Sink connectors: a topic's records written into a DynamoDB table or an S3 bucket of yours.
   *
   * @example
   * await floe.connectors().create({ name: 'orders-to-ddb', type: 'dynamodb-sink', topics: ['orders'], config: { 'table.name': 'orders' } });
   */
  connectors(): Connectors {
    return new Connectors(this);
  }

  /**
   * Tables: the latest value per key of a topic, kept in DynamoDB.
   *
   * @example
   * await floe.tables().create({ name: 'customers', topic: 'customers' });
   */
  tables(): Tables {
    return new Tables(this);
  }

  /**
   * Reads of one table: a key, a prefix listing, and per-partition lookups and ranges.
   *
   * @example
   * const alice = await floe.table('customers').get('alice');
   */
  table(name: string): Table {
    return new Table(this, name);
  }

  /**
   * One call of the API: the parsed JSON answer (undefined for 204), or a FloeError.
   *
   * @example
   * const topics = await floe.request('GET', '/topics');
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const attempt = () => this.once<T>(method, path, options);
    return options.retry ? this.retrying(attempt) : attempt();
  }

  /**
   * Runs `fn` again while it fails with a retriable error, with the client's backoff (kafkajs's:
   * exponential from `initialRetryTime`, jittered, capped at `maxRetryTime`, `retries` times).
   *
   * @example
   * const meta = await floe.retrying(() => floe.request('GET', '/topics/orders'));
   */
  async retrying<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
    const { retries, initialRetryTime, maxRetryTime } = this.retryOptions;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (e) {
        if (!(e instanceof FloeError) || !e.retriable || attempt >= retries) throw e;
        const cap = Math.min(maxRetryTime, initialRetryTime * 2 ** attempt);
        await new Promise((r) => setTimeout(r, cap / 2 + Math.random() * (cap / 2)));
      }
    }
  }

  private async once<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const signed = await this.authorize(method, url, headers, body);
    const send = await this.fetcher();
    let res: Response;
    try {
      res = await send(url, { method, headers: signed, ...(body !== undefined ? { body } : {}) });
    } catch (e) {
      throw new NetworkError(`${method} ${url.pathname}: ${(e as Error).message}`, { code: 0, status: 0, retriable: true, cause: e });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) throw errorFromResponse(res.status, parsed ?? { message: text.slice(0, 200) || `HTTP ${res.status}` });
    return parsed as T;
  }

  private fetcher(): Promise<typeof fetch> {
    if (!this.transport) {
      if (this.options.direct) {
        const direct = this.options.direct;
        // Loaded on first use only: HTTP users never load the engine or the AWS SDK.
        this.transport = import('./direct.ts').then((m) => m.directFetch(direct));
      } else {
        this.transport = Promise.resolve(this.options.fetch ?? globalThis.fetch);
      }
    }
    return this.transport;
  }

  private async authorize(method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Record<string, string>> {
    const auth = this.options.auth ?? { type: 'none' };
    if (auth.type === 'none' || this.options.direct) return headers;
    if (auth.type === 'jwt') {
      const token = auth.getToken ? await auth.getToken() : auth.token;
      if (!token) throw new FloeError('jwt auth needs a token or getToken', { code: 400, status: 0 });
      return { ...headers, authorization: `Bearer ${token}` };
    }
    const { signRequest } = await import('./sigv4.ts');
    return signRequest(auth, method, url, headers, body);
  }
}

/** SHA-256 over node:crypto in the shape the SigV4 signer asks for. */
export class Sha256 {
  private hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
