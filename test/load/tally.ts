// Per-kind counts and latencies of the load run, timed by the run itself (autocannon's own histogram
// mixes the kinds), and the error answers grouped by what they said.

export const KINDS = ['produce', 'fetch', 'consume'] as const;
export type Kind = (typeof KINDS)[number];

export interface KindFigures {
  requests: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  /** Any other status (1xx, 3xx): not expected from this API, so counted with the errors. */
  other: number;
  /** Sent and never answered: timed out, cut by a connection error, or in flight when the run stopped. */
  unanswered: number;
}

/** A failed request as the server logged it, answered or not (its client may have timed out first). */
export interface ServerFailure {
  kind: Kind | 'other';
  code: string;
  count: number;
  /** The first error seen for this kind and code. */
  error: string;
}

export interface ErrorAnswer {
  kind: Kind;
  status: number;
  error_code: number | null;
  count: number;
  /** The first message seen for this kind, status and code. */
  message: string;
}

/** The q-quantile (0..1) of ascending values, nearest rank; 0 for none. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function sortedCopy(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

class KindTally {
  sent = 0;
  readonly latencies: number[] = [];
  readonly classes = { '2xx': 0, '4xx': 0, '5xx': 0, other: 0 };
}

export class LoadTally {
  private readonly kinds = new Map<Kind, KindTally>(KINDS.map((k) => [k, new KindTally()]));
  private readonly errors = new Map<string, ErrorAnswer>();
  private readonly logged = new Map<string, ServerFailure>();

  sent(kind: Kind): void {
    this.kind(kind).sent++;
  }

  answered(kind: Kind, status: number, latencyMs: number, body: string): void {
    const t = this.kind(kind);
    t.latencies.push(latencyMs);
    const cls = status >= 200 && status < 300 ? '2xx' : status >= 400 && status < 500 ? '4xx' : status >= 500 && status < 600 ? '5xx' : 'other';
    t.classes[cls]++;
    if (cls !== '2xx') this.error(kind, status, body);
  }

  /** A 200 produce answer that still reports a failure for some of its records. */
  recordError(kind: Kind, errorCode: number, message: string): void {
    this.add(kind, 200, errorCode, message);
  }

  /** Per-record failures whose code is a server error (the REST Proxy's 5xxxx codes). */
  serverRecordErrors(): number {
    let n = 0;
    for (const e of this.errors.values()) if (e.status < 300 && e.error_code !== null && e.error_code >= 50000) n += e.count;
    return n;
  }

  figures(durationS: number): Record<Kind, KindFigures> {
    const out = {} as Record<Kind, KindFigures>;
    for (const [kind, t] of this.kinds) {
      const sorted = sortedCopy(t.latencies);
      out[kind] = {
        requests: t.latencies.length,
        requests_per_s: round(t.latencies.length / Math.max(durationS, 0.001)),
        p50_ms: round(quantile(sorted, 0.5)),
        p99_ms: round(quantile(sorted, 0.99)),
        ...t.classes,
        unanswered: t.sent - t.latencies.length,
      };
    }
    return out;
  }

  /** Latency quantiles over every answered request, whatever its kind. */
  overallLatency(): { p50_ms: number; p99_ms: number } {
    const sorted = sortedCopy([...this.kinds.values()].flatMap((t) => t.latencies));
    return { p50_ms: round(quantile(sorted, 0.5)), p99_ms: round(quantile(sorted, 0.99)) };
  }

  errorAnswers(): ErrorAnswer[] {
    return [...this.errors.values()].sort((a, b) => b.count - a.count);
  }

  serverFailure(kind: Kind | 'other', code: string, error: string): void {
    const key = `${kind} ${code}`;
    const f = this.logged.get(key);
    if (f) f.count++;
    else this.logged.set(key, { kind, code, count: 1, error: error.slice(0, 300) });
  }

  serverFailures(): ServerFailure[] {
    return [...this.logged.values()].sort((a, b) => b.count - a.count);
  }

  private kind(kind: Kind): KindTally {
    return this.kinds.get(kind)!;
  }

  private error(kind: Kind, status: number, body: string): void {
    let code: number | null = null;
    let message = body.slice(0, 200);
    try {
      const parsed = JSON.parse(body) as { error_code?: unknown; message?: unknown };
      if (typeof parsed.error_code === 'number') code = parsed.error_code;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not the API's error shape: keep the start of the body as the message
    }
    this.add(kind, status, code, message);
  }

  private add(kind: Kind, status: number, errorCode: number | null, message: string): void {
    const key = `${kind} ${status} ${errorCode}`;
    const e = this.errors.get(key);
    if (e) e.count++;
    else this.errors.set(key, { kind, status, error_code: errorCode, count: 1, message });
  }
}
