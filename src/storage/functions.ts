// Invoking users' Lambda functions (a trigger's target): the Lambda API, synchronously, as an event
// source mapping does. Pointed at LocalStack by AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_LAMBDA).
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

export type FunctionAnswer =
  /** The function returned: its JSON answer (undefined when empty or not JSON). */
  | { ok: true; answer: unknown }
  /** The function raised (Lambda's FunctionError) or the call failed: `unknown` when it may have run. */
  | { ok: false; error: string; unknown: boolean };

/** Emulators (LocalStack) accept any credentials; real AWS uses the default provider chain. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export class LambdaFunctions {
  private client: LambdaClient | undefined;

  constructor(
    private readonly region: string,
    private readonly endpoint?: string,
  ) {}

  async invoke(fn: string, payload: string, timeoutMs: number): Promise<FunctionAnswer> {
    // One attempt: a retry is the trigger's own (counted, backed off, bisected), never the SDK's.
    this.client ??= new LambdaClient({ region: this.region, maxAttempts: 1, ...(this.endpoint ? { endpoint: this.endpoint, credentials: EMULATOR_CREDENTIALS } : {}) });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const r = await this.client.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(payload) }), { abortSignal: abort.signal });
      const text = r.Payload ? new TextDecoder().decode(r.Payload) : '';
      let answer: unknown;
      try {
        answer = text ? JSON.parse(text) : undefined;
      } catch {
        answer = undefined;
      }
      if (r.FunctionError) {
        const message = (answer as { errorMessage?: string } | undefined)?.errorMessage ?? r.FunctionError;
        return { ok: false, error: `function error: ${message}`, unknown: false };
      }
      return { ok: true, answer };
    } catch (e) {
      if (abort.signal.aborted) return { ok: false, error: `no answer within ${timeoutMs} ms`, unknown: true };
      const name = (e as { name?: string }).name ?? '';
      // Refused before it ran (throttled, missing, not allowed): the function did not see the batch.
      const before = /TooManyRequests|ResourceNotFound|AccessDenied|InvalidParameter|ResourceConflict|Throttl/.test(name);
      return { ok: false, error: `${name || 'error'}: ${(e as Error).message}`, unknown: !before };
    } finally {
      clearTimeout(timer);
    }
  }
}
