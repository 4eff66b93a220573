// The "processes" of a fault run: each has its own engine and its own fault-injected storage clients,
// and an injected crash kills it (every later call throws CrashError) until the workload replaces it
// with a new one (new engine, empty caches), as a Lambda container would be. The pool keeps the counts
// of faults and crashes over all the processes it made.
import type { FloeConfig } from '../../src/config.ts';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine.ts';
import { createClients } from '../../src/storage/clients.ts';
import { CrashError, FaultInjector, prng, type FaultKind, type FaultRates } from './faults.ts';

export interface Process {
  engine: Engine;
  injector: FaultInjector;
}

export interface ProcessOptions {
  config: FloeConfig;
  rates: FaultRates;
  /** A process crashes on average once in this many storage calls; 0 for never. */
  crashEvery: number;
  /** The SDK's own retries (default on). */
  sdkRetries?: boolean;
  /** Options of each process's engine (a trigger run's target and observers), given its seed and injector. */
  engineOptions?: (seed: number, injector: FaultInjector) => EngineOptions;
}

export class Processes {
  readonly faults: Record<FaultKind, number> = { 'fail-before-send': 0, 'lose-response': 0, throttle: 0, 'server-error': 0, latency: 0, crash: 0 };
  crashes = 0;
  holesFilled = 0;
  /** Crashes by the storage call they came at (`dynamodb.UpdateItem (applied)`). */
  readonly crashesAt: Record<string, number> = {};

  constructor(private readonly o: ProcessOptions) {}

  spawn(seed: number): Process {
    const clients = createClients(this.o.config, this.o.sdkRetries === false ? { maxAttempts: 1 } : {});
    const random = prng(seed ^ 0x5bd1e995);
    const crashAtCall = this.o.crashEvery > 0 ? 1 + Math.floor(random() * this.o.crashEvery * 2) : undefined;
    const injector = new FaultInjector({ seed, rates: this.o.rates, ...(crashAtCall !== undefined ? { crashAtCall } : {}) }).attach(clients);
    return { engine: createEngine(this.o.config, clients, this.o.engineOptions?.(seed, injector) ?? {}), injector };
  }

  /** Adds a process's counts to the pool's; call once, when it is dead or the run is over. */
  retire(p: Process): void {
    for (const [k, v] of Object.entries(p.injector.injected)) this.faults[k as FaultKind] += v;
    this.holesFilled += p.engine.watermarks.holesFilled;
    if (p.injector.crashedAt) this.crashesAt[p.injector.crashedAt] = (this.crashesAt[p.injector.crashedAt] ?? 0) + 1;
  }

  /** After a failed call: a crashed process is retired and replaced by a new one (`seed`); a live one stays. */
  replaceIfCrashed(p: Process, error: unknown, seed: () => number): Process {
    if (!(error instanceof CrashError) && !p.injector.crashed) return p;
    this.crashes++;
    this.retire(p);
    return this.spawn(seed());
  }
}
