// Fault injection through AWS SDK middleware, on both clients. The middleware sits inside the SDK's
// retry loop (finalizeRequest step, low priority), so every attempt can fail and the SDK's retries and
// Floe's own both get exercised. The schedule is a seeded PRNG over the injector's call sequence: the
// same seed gives the same fault for the k-th call.
import type { AwsClients } from '../../src/storage/clients.ts';

export type FaultKind = 'fail-before-send' | 'lose-response' | 'throttle' | 'server-error' | 'latency' | 'crash';

export interface FaultRates {
  /** Connection reset before the request leaves: never applied. */
  failBeforeSend: number;
  /** The request is applied, then the answer is lost (a timeout): the ambiguous case. */
  loseResponse: number;
  /** Throttling, before sending. */
  throttle: number;
  /** A 500 from the service, before sending. */
  serverError: number;
  /** Added latency (0 to maxLatencyMs) before sending. */
  latency: number;
  maxLatencyMs: number;
}

export const NO_FAULTS: FaultRates = { failBeforeSend: 0, loseResponse: 0, throttle: 0, serverError: 0, latency: 0, maxLatencyMs: 0 };

export const DEFAULT_FAULTS: FaultRates = { failBeforeSend: 0.03, loseResponse: 0.03, throttle: 0.03, serverError: 0.02, latency: 0.1, maxLatencyMs: 30 };

/** Thrown for every call from the crash on: the "process" is dead until it is replaced. */
export class CrashError extends Error {
  constructor(call: number) {
    super(`injected crash at storage call ${call}`);
    this.name = 'CrashError';
  }
}

/** mulberry32: small, fast, good enough to drive a fault schedule reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function networkError(message: string, code: string): Error {
  return Object.assign(new Error(message), { name: 'Error', code, $metadata: {} });
}

function serviceError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

export interface FaultInjectorOptions {
  seed: number;
  rates?: FaultRates;
  /**
   * Crash at this call number (1-based): that call is either never sent or sent and applied (the
   * schedule decides), and it and every later call fail with CrashError.
   */
  crashAtCall?: number;
  /** Only these operations get faults (e.g. `dynamodb.TransactWriteItems`); all by default. */
  only?: (operation: string) => boolean;
}

export class FaultInjector {
  private readonly random: () => number;
  private readonly rates: FaultRates;
  calls = 0;
  crashed = false;
  /** The call the crash came at, and whether it was applied first (`dynamodb.UpdateItem (applied)`). */
  crashedAt?: string;
  readonly injected: Record<FaultKind, number> = { 'fail-before-send': 0, 'lose-response': 0, throttle: 0, 'server-error': 0, latency: 0, crash: 0 };
  enabled = true;

  constructor(private readonly options: FaultInjectorOptions) {
    this.random = prng(options.seed);
    this.rates = options.rates ?? DEFAULT_FAULTS;
  }

  get total(): number {
    return Object.entries(this.injected).reduce((n, [k, v]) => (k === 'latency' ? n : n + v), 0);
  }

  /** The fault for the next call, drawn from the schedule (one draw per call, whatever it decides). */
  private next(): { kind: FaultKind | undefined; latency: number } {
    const n = ++this.calls;
    const r = this.random();
    const l = this.random();
    if (this.options.crashAtCall !== undefined && n >= this.options.crashAtCall) return { kind: 'crash', latency: l < 0.5 ? 0 : 1 };
    const { failBeforeSend, loseResponse, throttle, serverError, latency, maxLatencyMs } = this.rates;
    let edge = failBeforeSend;
    if (r < edge) return { kind: 'fail-before-send', latency: 0 };
    if (r < (edge += loseResponse)) return { kind: 'lose-response', latency: 0 };
    if (r < (edge += throttle)) return { kind: 'throttle', latency: 0 };
    if (r < (edge += serverError)) return { kind: 'server-error', latency: 0 };
    if (r < (edge += latency)) return { kind: 'latency', latency: l * maxLatencyMs };
    return { kind: undefined, latency: 0 };
  }

  attach(clients: AwsClients): this {
    const middleware = (service: string) =>
      ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const op = `${service}.${(context.commandName ?? '').replace(/Command$/, '')}`;
        if (this.crashed) throw new CrashError(this.calls);
        if (!this.enabled || (this.options.only && !this.options.only(op))) return next(args);
        const { kind, latency } = this.next();
        if (!kind) return next(args);
        this.injected[kind]++;
        switch (kind) {
          case 'crash':
            // The process may die before the call leaves or after it was applied: both happen.
            if (latency > 0) await next(args).catch(() => undefined);
            this.crashed = true;
            this.crashedAt = `${op}${latency > 0 ? ' (applied)' : ''}`;
            throw new CrashError(this.calls);
          case 'fail-before-send':
            throw networkError('socket hang up (injected before send)', 'ECONNRESET');
          case 'throttle':
            throw service === 's3' ? serviceError('SlowDown', 503, 'Please reduce your request rate (injected)') : serviceError('ThrottlingException', 400, 'Rate exceeded (injected)');
          case 'server-error':
            throw serviceError('InternalServerError', 500, 'Internal server error (injected)');
          case 'latency':
            await new Promise((r) => setTimeout(r, latency));
            return next(args);
          case 'lose-response': {
            await next(args);
            throw Object.assign(new Error('request timed out after it was sent (injected)'), { name: 'TimeoutError', $metadata: {} });
          }
        }
      }) as never;
    clients.ddb.middlewareStack.add(middleware('dynamodb'), { step: 'finalizeRequest', priority: 'low', name: 'floeFaultInjector', override: true });
    clients.s3.middlewareStack.add(middleware('s3'), { step: 'finalizeRequest', priority: 'low', name: 'floeFaultInjector', override: true });
    return this;
  }
}
