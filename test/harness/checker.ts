// A Jepsen-style checker for Floe's log: it reads a history of produce and poll operations (each with
// invoke and completion, and an outcome of ok, fail or unknown) and a final read of every partition,
// and reports every way the log broke a promise.

export type Outcome = 'ok' | 'fail' | 'unknown';

export interface ProduceOp {
  type: 'produce';
  process: string;
  /** One logical send; client retries of it share this id. */
  sendId: string;
  attempt: number;
  partition: number;
  values: string[];
  outcome: Outcome;
  /** Offsets per value when ok. */
  offsets?: number[];
  error?: string;
}

export interface PollOp {
  type: 'poll';
  process: string;
  partition: number;
  from: number;
  outcome: Outcome;
  records: Array<{ offset: number; value: string }>;
}

export type Op = ProduceOp | PollOp;

/** Every record of each partition read at the end, without faults, from the log start. */
export type FinalRead = Map<number, Array<{ offset: number; value: string }>>;

export interface CheckResult {
  ops: number;
  acked: number;
  /** Acknowledged values not at their acknowledged offset in the final read. */
  lost: string[];
  /** Values written at more than one offset. */
  duplicates: Array<{ value: string; offsets: number[]; partition: number; explained: boolean }>;
  /** Offsets seen holding two different values (in acks, polls or the final read). */
  inconsistent: Array<{ partition: number; offset: number; values: string[] }>;
  /** A sequential producer's acknowledged offsets on a partition that went backwards. */
  nonMonotonicSends: Array<{ process: string; partition: number; offsets: [number, number] }>;
  /** A consumer's polled offsets that did not strictly increase. */
  nonMonotonicPolls: Array<{ process: string; partition: number; offsets: [number, number] }>;
  /** Offsets a consumer jumped over that the final read shows were there. */
  pollSkips: Array<{ process: string; partition: number; skipped: number }>;
  /** Acknowledged values that the final read does not contain at all. */
  unseen: string[];
  /** Values whose sends all ended unknown and that did get written (information, not an error). */
  unknownButWritten: number;
  /** Duplicates not explained by a client retry after an unknown outcome: an error. */
  unexplainedDuplicates: number;
  valid: boolean;
}

export function check(history: Op[], final: FinalRead): CheckResult {
  const produces = history.filter((o): o is ProduceOp => o.type === 'produce');
  const polls = history.filter((o): o is PollOp => o.type === 'poll');

  // Where each value sits in the final read, and what each offset holds.
  const finalAt = new Map<string, Array<{ partition: number; offset: number }>>();
  const finalValue = new Map<string, string>();
  const seenAt = new Map<string, Set<string>>();
  const note = (partition: number, offset: number, value: string) => {
    const k = `${partition}:${offset}`;
    let s = seenAt.get(k);
    if (!s) seenAt.set(k, (s = new Set()));
    s.add(value);
  };
  for (const [partition, records] of final) {
    for (const r of records) {
      let list = finalAt.get(r.value);
      if (!list) finalAt.set(r.value, (list = []));
      list.push({ partition, offset: r.offset });
      finalValue.set(`${partition}:${r.offset}`, r.value);
      note(partition, r.offset, r.value);
    }
  }

  // Acknowledged values.
  const lost: string[] = [];
  const unseen: string[] = [];
  let acked = 0;
  const ackedValues = new Set<string>();
  for (const op of produces) {
    if (op.outcome !== 'ok' || !op.offsets) continue;
    op.values.forEach((v, i) => {
      acked++;
      ackedValues.add(v);
      const offset = op.offsets![i]!;
      note(op.partition, offset, v);
      if (finalValue.get(`${op.partition}:${offset}`) !== v) lost.push(v);
      if (!finalAt.has(v)) unseen.push(v);
    });
  }

  // Duplicates: explained when some attempt of the send ended unknown (so the client re-sent it).
  const sendHadUnknown = new Map<string, boolean>();
  const sendOfValue = new Map<string, string>();
  for (const op of produces) {
    if (op.outcome === 'unknown') sendHadUnknown.set(op.sendId, true);
    for (const v of op.values) sendOfValue.set(v, op.sendId);
  }
  const duplicates: CheckResult['duplicates'] = [];
  for (const [value, places] of finalAt) {
    if (places.length < 2) continue;
    const send = sendOfValue.get(value);
    duplicates.push({ value, partition: places[0]!.partition, offsets: places.map((p) => p.offset), explained: send !== undefined && sendHadUnknown.get(send) === true });
  }

  // Polls: monotonic per consumer and partition, no skipped offsets, values consistent.
  for (const op of polls) if (op.outcome === 'ok') for (const r of op.records) note(op.partition, r.offset, r.value);
  const { nonMonotonicPolls, pollSkips } = pollOrder(polls, (partition, offset) => finalValue.has(`${partition}:${offset}`));

  // Sends: a process sends one request at a time, so its acknowledged offsets per partition increase.
  const nonMonotonicSends: CheckResult['nonMonotonicSends'] = [];
  const lastSent = new Map<string, number>();
  for (const op of produces) {
    if (op.outcome !== 'ok' || !op.offsets || op.offsets.length === 0) continue;
    const key = `${op.process}:${op.partition}`;
    const first = op.offsets[0]!;
    const prev = lastSent.get(key);
    if (prev !== undefined && first <= prev) nonMonotonicSends.push({ process: op.process, partition: op.partition, offsets: [prev, first] });
    for (let i = 1; i < op.offsets.length; i++) {
      if (op.offsets[i]! !== op.offsets[i - 1]! + 1) nonMonotonicSends.push({ process: op.process, partition: op.partition, offsets: [op.offsets[i - 1]!, op.offsets[i]!] });
    }
    lastSent.set(key, op.offsets[op.offsets.length - 1]!);
  }

  const inconsistent: CheckResult['inconsistent'] = [];
  for (const [k, values] of seenAt) {
    if (values.size > 1) {
      const [partition, offset] = k.split(':').map(Number) as [number, number];
      inconsistent.push({ partition, offset, values: [...values] });
    }
  }

  let unknownButWritten = 0;
  const sendAcked = new Set(produces.filter((o) => o.outcome === 'ok').map((o) => o.sendId));
  for (const op of produces) {
    if (op.outcome === 'unknown' && !sendAcked.has(op.sendId)) for (const v of op.values) if (finalAt.has(v) && !ackedValues.has(v)) unknownButWritten++;
  }
  const unexplainedDuplicates = duplicates.filter((d) => !d.explained).length;
  return {
    ops: history.length,
    acked,
    lost,
    duplicates,
    inconsistent,
    nonMonotonicSends,
    nonMonotonicPolls,
    pollSkips,
    unseen,
    unknownButWritten,
    unexplainedDuplicates,
    valid:
      lost.length === 0 &&
      inconsistent.length === 0 &&
      nonMonotonicSends.length === 0 &&
      nonMonotonicPolls.length === 0 &&
      pollSkips.length === 0 &&
      unseen.length === 0 &&
      unexplainedDuplicates === 0,
  };
}

/**
 * The order of each reader's polls per partition: the offsets it was given must strictly increase, and
 * may jump only over offsets with no record in the final read (`present` says which have one). The
 * partition is whatever names one (a number, or "topic/partition").
 */
export function pollOrder<P extends string | number>(
  polls: Array<{ process: string; partition: P; outcome: Outcome; records: Array<{ offset: number }> }>,
  present: (partition: P, offset: number) => boolean,
): { nonMonotonicPolls: Array<{ process: string; partition: P; offsets: [number, number] }>; pollSkips: Array<{ process: string; partition: P; skipped: number }> } {
  const nonMonotonicPolls: Array<{ process: string; partition: P; offsets: [number, number] }> = [];
  const pollSkips: Array<{ process: string; partition: P; skipped: number }> = [];
  const lastPolled = new Map<string, number>();
  for (const op of polls) {
    if (op.outcome !== 'ok') continue;
    const key = `${op.process}:${op.partition}`;
    for (const r of op.records) {
      const prev = lastPolled.get(key);
      if (prev !== undefined) {
        if (r.offset <= prev) nonMonotonicPolls.push({ process: op.process, partition: op.partition, offsets: [prev, r.offset] });
        else for (let x = prev + 1; x < r.offset; x++) if (present(op.partition, x)) pollSkips.push({ process: op.process, partition: op.partition, skipped: x });
      }
      lastPolled.set(key, r.offset);
    }
  }
  return { nonMonotonicPolls, pollSkips };
}
