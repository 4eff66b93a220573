// Calling a trigger's target with one event. A Lambda function through the Lambda API; locally also an
// ES module's export (called as Lambda calls a handler: the event and a context, async or with a
// callback) or an HTTP endpoint (the event POSTed, the JSON answer its result). Every call has a time
// limit: past it the attempt counts as failed with an unknown outcome (the handler may still finish),
// and a late answer is ignored.
import { randomUUID } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context as LambdaContext } from 'aws-lambda';
import type { TriggerTarget } from '../model/trigger.ts';
import type { FunctionAnswer, LambdaFunctions } from '../storage/functions.ts';
import type { DeliveredRecord } from './event.ts';

export type { FunctionAnswer } from '../storage/functions.ts';

export interface TargetInvoker {
  invoke(target: TriggerTarget, event: unknown, payload: string): Promise<FunctionAnswer>;
}

/** Writes a table's records (src/tables/writer.ts): a table's trigger calls it with the records themselves, no event. */
export interface TableTargetWriter {
  write(target: Extract<TriggerTarget, { type: 'table' }>, records: DeliveredRecord[]): Promise<FunctionAnswer>;
}

type Handler = (event: unknown, context: LambdaContext, callback?: (err: unknown, result?: unknown) => void) => unknown;

function lambdaContext(name: string, timeoutMs: number): LambdaContext {
  const started = Date.now();
  const id = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:floe:local:function:${name}`,
    memoryLimitInMB: '128',
    awsRequestId: id,
    logGroupName: `/floe/local/${name}`,
    logStreamName: id,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function withTimeout(work: Promise<FunctionAnswer>, ms: number): Promise<FunctionAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<FunctionAnswer>((r) => {
    timer = setTimeout(() => r({ ok: false, error: `no answer within ${ms} ms`, unknown: true }), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export class Targets implements TargetInvoker {
  private readonly modules = new Map<string, Promise<Handler>>();

  constructor(
    private readonly lambda: LambdaFunctions,
    /** Only the local runtime runs modules and reaches URLs (the API refuses them elsewhere; this is the second lock). */
    private readonly local: boolean,
    /** Module paths are relative to this folder (the server's working folder). */
    private readonly baseDir: string = process.cwd(),
  ) {}

  async invoke(target: TriggerTarget, event: unknown, payload: string): Promise<FunctionAnswer> {
    if (target.type === 'lambda') return this.lambda.invoke(target.function, payload, target.timeoutMs);
    if (target.type === 'table') return { ok: false, error: 'a table target is written by the table writer, not invoked', unknown: false };
    if (target.type === 'connector') return { ok: false, error: "a connector's sink is run by the connector writer, not invoked", unknown: false };
    if (!this.local) return { ok: false, error: `a ${target.type} target is called only by the local runtime`, unknown: false };
    if (target.type === 'http') return withTimeout(this.post(target.url, payload, target.timeoutMs), target.timeoutMs);
    return withTimeout(this.callModule(target, event), target.timeoutMs);
  }

  private handlerOf(path: string, name: string): Promise<Handler> {
    const file = isAbsolute(path) ? path : resolve(this.baseDir, path);
    const key = `${file}#${name}`;
    let h = this.modules.get(key);
    if (!h) {
      h = import(pathToFileURL(file).href).then((m: Record<string, unknown>) => {
        const fn = m[name];
        if (typeof fn !== 'function') throw new Error(`module ${path} has no function export '${name}'`);
        return fn as Handler;
      });
      // A module that failed to load is tried again on the next call (the user may fix it meanwhile).
      h.catch(() => this.modules.delete(key));
      this.modules.set(key, h);
    }
    return h;
  }

  private async callModule(target: Extract<TriggerTarget, { type: 'module' }>, event: unknown): Promise<FunctionAnswer> {
    let handler: Handler;
    try {
      handler = await this.handlerOf(target.path, target.export);
    } catch (e) {
      return { ok: false, error: `cannot load the handler: ${errorText(e)}`, unknown: false };
    }
    const context = lambdaContext(target.export, target.timeoutMs);
    try {
      const answer = await new Promise<unknown>((resolveAnswer, reject) => {
        // Lambda's Node runtime: a handler with three parameters answers through the callback.
        const result = handler(event, context, handler.length >= 3 ? (err, res) => (err ? reject(err) : resolveAnswer(res)) : undefined);
        if (handler.length < 3) Promise.resolve(result).then(resolveAnswer, reject);
      });
      return { ok: true, answer };
    } catch (e) {
      return { ok: false, error: errorText(e), unknown: false };
    }
  }

  private async post(url: string, payload: string, timeoutMs: number): Promise<FunctionAnswer> {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, signal: AbortSignal.timeout(timeoutMs) });
      const text = await r.text();
      if (!r.ok) return { ok: false, error: `HTTP ${r.status}${text ? `: ${text.slice(0, 200)}` : ''}`, unknown: false };
      try {
        return { ok: true, answer: text ? JSON.parse(text) : undefined };
      } catch {
        return { ok: true, answer: undefined };
      }
    } catch (e) {
      return { ok: false, error: errorText(e), unknown: true };
    }
  }
}
