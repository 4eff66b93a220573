// Window specifications: which windows a record falls in, and for how long after a window ends its
// late records are still admitted (grace). All times are milliseconds; windows are aligned to the epoch.

import { Window } from './serdes.ts';

function checkNonNegative(what: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${what} must be a non-negative number of ms, got ${ms}`);
}

/**
 * Tumbling (`advanceBy` = size, the default) or hopping windows of a fixed size: `[start, start + size)`,
 * starting at multiples of the advance.
 *
 * @example
 * grouped.windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000).advanceBy(30_000)).count();
 */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  /** Records later than the window's end (in stream time) are dropped. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  /** Records are admitted until stream time passes the window's end + `graceMs`. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    if (!(sizeMs > 0)) throw new RangeError(`a window's size must be positive, got ${sizeMs}`);
    checkNonNegative('grace', graceMs);
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Hopping windows: a new window every `advanceMs` (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    if (!(advanceMs > 0) || advanceMs > this.sizeMs) throw new RangeError(`advanceBy must be in (0, ${this.sizeMs}], got ${advanceMs}`);
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** The windows that contain `timestamp`, oldest first. */
  windowsFor(timestamp: number): Window[] {
    const first = Math.max(0, Math.ceil((timestamp - this.sizeMs + 1) / this.advanceMs) * this.advanceMs);
    const out: Window[] = [];
    for (let start = first; start <= timestamp; start += this.advanceMs) out.push(new Window(start, start + this.sizeMs));
    return out;
  }
}

/**
 * Session windows: a key's records less than `gap` apart are one session, `[first, last]`; a record
 * that bridges two sessions merges them.
 *
 * @example
 * grouped.windowedBy(SessionWindows.ofInactivityGapAndGrace(300_000, 60_000)).count();
 */
export class SessionWindows {
  private constructor(
    readonly gapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(gapMs, 0);
  }

  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    if (!(gapMs > 0)) throw new RangeError(`a session's inactivity gap must be positive, got ${gapMs}`);
    checkNonNegative('grace', graceMs);
    return new SessionWindows(gapMs, graceMs);
  }
}

/**
 * How far apart two records of a stream-stream join may be: the other side's record must be within
 * `[t - before, t + after]` of this side's `t` (both `timeDifference` unless changed).
 *
 * @example
 * orders.join(payments, (o, p) => ({ o, p }), JoinWindows.ofTimeDifferenceAndGrace(60_000, 5_000));
 */
export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    checkNonNegative('a join time difference', timeDifferenceMs);
    checkNonNegative('grace', graceMs);
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs);
  }

  /** The other side's record may be up to `ms` earlier. */
  before(ms: number): JoinWindows {
    checkNonNegative('before', ms);
    return new JoinWindows(ms, this.afterMs, this.graceMs);
  }

  /** The other side's record may be up to `ms` later. */
  after(ms: number): JoinWindows {
    checkNonNegative('after', ms);
    return new JoinWindows(this.beforeMs, ms, this.graceMs);
  }
}

/**
 * How much a suppression buffers. The buffer is a state store, so it is bounded by storage only;
 * `unbounded()` is the one configuration (Kafka's in-memory limits have nothing to protect here).
 *
 * @example
 * Suppressed.untilWindowCloses(BufferConfig.unbounded());
 */
export class BufferConfig {
  private constructor() {}

  static unbounded(): BufferConfig {
    return new BufferConfig();
  }
}

/**
 * Holds back a windowed table's updates and emits each window's final result once, when stream time
 * passes the window's end + grace (or the wall clock does: see `Task.punctuate`).
 *
 * @example
 * counts.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to('final-counts');
 */
export class Suppressed {
  static readonly BufferConfig = BufferConfig;

  private constructor(
    readonly buffer: BufferConfig,
    readonly name: string | undefined,
  ) {}

  static untilWindowCloses(buffer: BufferConfig): Suppressed {
    return new Suppressed(buffer, undefined);
  }

  withName(name: string): Suppressed {
    return new Suppressed(this.buffer, name);
  }
}
