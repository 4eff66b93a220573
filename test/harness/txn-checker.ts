// The checker of the transactional workload (txn-workload.ts): it reads a history of inits, sends,
// sendOffsets, commits and aborts of transactional producers and polls of read_committed readers, each
// with the logical time it was invoked and completed, and the final reads of every topic, the group's
// committed offsets and the transactions still unfinished after the final sweep; it reports every way a
// transaction broke its promise. Every value written names its transaction: "tid|txn|index", and an
// output of the consume-transform-produce loop adds the input it came from: "tid|txn|index|input".
import { pollOrder, type Outcome } from './checker.ts';

interface Timed {
  /** Logical time of the call and of its answer: one clock over the whole workload. */
  invoke: number;
  complete: number;
  process: string;
  outcome: Outcome;
  error?: string;
}

export interface InitOp extends Timed {
  type: 'init';
  tid: string;
  /** The epoch handed out, when ok. */
  epoch?: number;
}

export interface SendOp extends Timed {
  type: 'send';
  tid: string;
  txn: number;
  epoch: number;
  sequence: number;
  topic: string;
  records: Array<{ partition: number; value: string }>;
}

export interface OffsetsOp extends Timed {
  type: 'offsets';
  tid: string;
  txn: number;
  epoch: number;
  group: string;
  offsets: Array<{ topic: string; partition: number; offset: number }>;
}

export interface EndOp extends Timed {
  type: 'end';
  tid: string;
  txn: number;
  epoch: number;
  how: 'commit' | 'abort';
}

export interface TxnPollOp extends Timed {
  type: 'poll';
  /** "topic/partition" */
  partition: string;
  from: number;
  records: Array<{ offset: number; value: string }>;
}

export type TxnOp = InitOp | SendOp | OffsetsOp | EndOp | TxnPollOp;

export interface TxnFinal {
  /** Every record of every partition ("topic/partition"), read without faults after the final sweep. */
  logs: Map<string, Array<{ offset: number; value: string }>>;
  /** The consume-transform-produce loop: its input topic and output topic, and its group's committed offsets per input partition. */
  ctp?: { input: string; output: string; committed: Map<number, number> };
  /** Transactions not complete after the final sweep, and the time the sweep started. */
  unfinished: Array<{ tid: string; state: string; deadline: number | null }>;
  sweptAt: number;
}

export interface TxnCheckResult {
  ops: number;
  transactions: { committed: number; aborted: number; ambiguous: number; refused: number; abandoned: number };
  /** Values of transactions that never committed (aborted, abandoned, or their commit refused), seen in a poll or the final read. */
  abortedReads: string[];
  /** Values polled before their transaction's commit was called. */
  precommittedReads: string[];
  /** Committed (or maybe committed) transactions only partly in the final read, with what of them is missing. */
  torn: Array<{ txn: string; visible: number; missing: string[] }>;
  /** Transactions whose commit was acknowledged with none of their values in the final read. */
  lostWrites: string[];
  /** Values at more than one offset. */
  duplicates: string[];
  /** Offsets two reads disagree about. */
  inconsistent: Array<{ partition: string; offset: number; values: string[] }>;
  pollSkips: Array<{ process: string; partition: string; skipped: number }>;
  nonMonotonicPolls: Array<{ process: string; partition: string; offsets: [number, number] }>;
  /** Consume-transform-produce: inputs below the committed offset with no output, and outputs of inputs not below it (or a second output of one input). */
  offsetsWithoutOutputs: string[];
  outputsWithoutOffsets: string[];
  /** Writes sent, or commits called, by an epoch after a newer one was handed out, that were accepted or became visible. */
  fenced: string[];
  /** Transactions still open past their deadline after the final sweep, and decided ones it left incomplete. */
  openPastTimeout: string[];
  incomplete: string[];
  valid: boolean;
}

/** The transaction a value belongs to ("tid|txn"), or undefined for a value no transaction wrote. */
export function txnOfValue(value: string): string | undefined {
  const parts = value.split('|');
  return parts.length >= 3 ? `${parts[0]}|${parts[1]}` : undefined;
}

type Fate = 'committed' | 'ambiguous' | 'refused' | 'aborted' | 'abandoned';

export function checkTransactions(history: TxnOp[], final: TxnFinal): TxnCheckResult {
  // When each epoch of each transactional id was fenced: an init that handed out a newer one answered.
  const fencedAt = new Map<string, number>();
  const inits = history.filter((o): o is InitOp => o.type === 'init' && o.outcome === 'ok');
  const fenceOf = (tid: string, epoch: number) => {
    const k = `${tid}#${epoch}`;
    if (!fencedAt.has(k)) fencedAt.set(k, Math.min(Infinity, ...inits.filter((i) => i.tid === tid && i.epoch! > epoch).map((i) => i.complete)));
    return fencedAt.get(k)!;
  };

  // Per transaction: the values of its acknowledged and ambiguous sends, and how it ended.
  interface Txn {
    key: string;
    tid: string;
    epoch: number;
    acked: Set<string>;
    /** Values of sends with no answer: each such send is in the transaction whole or not at all. */
    ambiguous: Map<string, string[]>;
    ends: EndOp[];
  }
  const txns = new Map<string, Txn>();
  const txnOf = (tid: string, txn: number, epoch: number) => {
    const key = `${tid}|${txn}`;
    let t = txns.get(key);
    if (!t) txns.set(key, (t = { key, tid, epoch, acked: new Set(), ambiguous: new Map(), ends: [] }));
    return t;
  };
  const fenced: string[] = [];
  const sendInvoke = new Map<string, { invoke: number; tid: string; epoch: number }>();
  for (const op of history) {
    if (op.type === 'send') {
      const t = txnOf(op.tid, op.txn, op.epoch);
      const values = op.records.map((r) => r.value);
      for (const v of values) if (!sendInvoke.has(v) || sendInvoke.get(v)!.invoke > op.invoke) sendInvoke.set(v, { invoke: op.invoke, tid: op.tid, epoch: op.epoch });
      if (op.outcome === 'ok') {
        for (const v of values) t.acked.add(v);
        if (op.invoke > fenceOf(op.tid, op.epoch)) fenced.push(`send ${op.tid} epoch ${op.epoch} seq ${op.sequence} accepted after the fence`);
      } else if (op.outcome === 'unknown') t.ambiguous.set(`${op.sequence}`, values);
    } else if (op.type === 'end') {
      txnOf(op.tid, op.txn, op.epoch).ends.push(op);
      if (op.outcome === 'ok' && op.invoke > fenceOf(op.tid, op.epoch)) fenced.push(`${op.how} of ${op.tid}|${op.txn} by epoch ${op.epoch} accepted after the fence`);
    } else if (op.type === 'offsets') {
      txnOf(op.tid, op.txn, op.epoch);
      if (op.outcome === 'ok' && op.invoke > fenceOf(op.tid, op.epoch)) fenced.push(`offsets of ${op.tid}|${op.txn} by epoch ${op.epoch} accepted after the fence`);
    }
  }
  // An acknowledged send that is also ambiguous (a retry answered) counts as acknowledged.
  for (const t of txns.values()) for (const [seq, values] of t.ambiguous) if (values.every((v) => t.acked.has(v))) t.ambiguous.delete(seq);
  const fate = (t: Txn): Fate => {
    const commits = t.ends.filter((e) => e.how === 'commit');
    if (commits.some((e) => e.outcome === 'ok')) return 'committed';
    if (commits.some((e) => e.outcome === 'unknown')) return 'ambiguous';
    if (commits.length > 0) return 'refused';
    return t.ends.length > 0 ? 'aborted' : 'abandoned';
  };
  const commitInvoked = (t: Txn) => Math.min(Infinity, ...t.ends.filter((e) => e.how === 'commit').map((e) => e.invoke));

  // Where every value was seen, and what every offset held: in the final read and in polls.
  const finalAt = new Map<string, string[]>();
  const holds = new Map<string, Set<string>>();
  const see = (partition: string, offset: number, value: string) => {
    const k = `${partition}@${offset}`;
    let s = holds.get(k);
    if (!s) holds.set(k, (s = new Set()));
    s.add(value);
  };
  for (const [partition, records] of final.logs) {
    for (const r of records) {
      see(partition, r.offset, r.value);
      let l = finalAt.get(r.value);
      if (!l) finalAt.set(r.value, (l = []));
      l.push(`${partition}@${r.offset}`);
    }
  }
  const polls = history.filter((o): o is TxnPollOp => o.type === 'poll');
  for (const op of polls) if (op.outcome === 'ok') for (const r of op.records) see(op.partition, r.offset, r.value);

  const inconsistent: TxnCheckResult['inconsistent'] = [];
  const placesOf = new Map<string, Set<string>>();
  for (const [k, values] of holds) {
    const at = k.lastIndexOf('@');
    if (values.size > 1) inconsistent.push({ partition: k.slice(0, at), offset: Number(k.slice(at + 1)), values: [...values] });
    for (const v of values) {
      let s = placesOf.get(v);
      if (!s) placesOf.set(v, (s = new Set()));
      s.add(k);
    }
  }
  const duplicates = [...placesOf].filter(([, s]) => s.size > 1).map(([v]) => v);

  // Values that must not be seen: of a transaction that did not commit, or sent after the fence.
  const abortedReads = new Set<string>();
  const precommittedReads = new Set<string>();
  const fencedVisible = new Set<string>();
  const judge = (value: string, seenBy?: TxnPollOp) => {
    const key = txnOfValue(value);
    const t = key === undefined ? undefined : txns.get(key);
    if (!t) return;
    const sent = sendInvoke.get(value);
    if (sent && sent.invoke > fenceOf(sent.tid, sent.epoch)) fencedVisible.add(value);
    const f = fate(t);
    if (f === 'aborted' || f === 'abandoned' || f === 'refused') abortedReads.add(value);
    else if (seenBy && seenBy.complete < commitInvoked(t)) precommittedReads.add(value);
  };
  for (const v of finalAt.keys()) judge(v);
  for (const op of polls) if (op.outcome === 'ok') for (const r of op.records) judge(r.value, op);
  for (const v of fencedVisible) fenced.push(`value ${v} sent after its epoch was fenced is visible`);

  // All or nothing: a committed transaction whole in the final read, each ambiguous send whole or absent.
  const torn: TxnCheckResult['torn'] = [];
  const lostWrites: string[] = [];
  const counts = { committed: 0, aborted: 0, ambiguous: 0, refused: 0, abandoned: 0 };
  for (const t of txns.values()) {
    const f = fate(t);
    counts[f]++;
    if (f !== 'committed' && f !== 'ambiguous') continue;
    const groups = [[...t.acked], ...t.ambiguous.values()];
    const anyVisible = groups.some((vs) => vs.some((v) => finalAt.has(v)));
    const partAcked = [...t.acked].some((v) => !finalAt.has(v));
    const partAmbiguous = [...t.ambiguous.values()].some((vs) => vs.some((v) => finalAt.has(v)) && !vs.every((v) => finalAt.has(v)));
    if (anyVisible && (partAcked || partAmbiguous)) {
      const all = groups.flat();
      torn.push({ txn: t.key, visible: all.filter((v) => finalAt.has(v)).length, missing: all.filter((v) => !finalAt.has(v)) });
    }
    else if (f === 'committed' && !anyVisible && t.acked.size > 0) lostWrites.push(t.key);
  }

  // Consume-transform-produce: what the group committed and what the outputs say was consumed.
  const offsetsWithoutOutputs: string[] = [];
  const outputsWithoutOffsets: string[] = [];
  if (final.ctp) {
    const { input, output, committed } = final.ctp;
    const consumed = new Set<string>();
    for (const [partition, records] of final.logs) {
      if (!partition.startsWith(`${input}/`)) continue;
      const upTo = committed.get(Number(partition.slice(input.length + 1))) ?? 0;
      for (const r of records) if (r.offset < upTo) consumed.add(r.value);
    }
    const outputs = new Map<string, number>();
    for (const [partition, records] of final.logs) {
      if (!partition.startsWith(`${output}/`)) continue;
      for (const r of records) {
        const from = r.value.split('|').slice(3).join('|');
        outputs.set(from, (outputs.get(from) ?? 0) + 1);
        if (!consumed.has(from) || outputs.get(from)! > 1) outputsWithoutOffsets.push(r.value);
      }
    }
    for (const v of consumed) if (!outputs.has(v)) offsetsWithoutOutputs.push(v);
  }

  const openPastTimeout = final.unfinished.filter((u) => u.state === 'Ongoing' && u.deadline !== null && u.deadline <= final.sweptAt).map((u) => u.tid);
  const incomplete = final.unfinished.filter((u) => u.state !== 'Ongoing').map((u) => `${u.tid} ${u.state}`);
  const inFinal = new Set([...final.logs].flatMap(([partition, records]) => records.map((r) => `${partition}@${r.offset}`)));
  const { nonMonotonicPolls, pollSkips } = pollOrder(polls, (partition, offset) => inFinal.has(`${partition}@${offset}`));

  const result = {
    ops: history.length,
    transactions: counts,
    abortedReads: [...abortedReads],
    precommittedReads: [...precommittedReads],
    torn,
    lostWrites,
    duplicates,
    inconsistent,
    pollSkips,
    nonMonotonicPolls,
    offsetsWithoutOutputs,
    outputsWithoutOffsets,
    fenced,
    openPastTimeout,
    incomplete,
  };
  const anomalies = [abortedReads.size, precommittedReads.size, torn.length, lostWrites.length, duplicates.length, inconsistent.length, pollSkips.length, nonMonotonicPolls.length, offsetsWithoutOutputs.length, outputsWithoutOffsets.length, fenced.length, openPastTimeout.length, incomplete.length];
  return { ...result, valid: anomalies.every((n) => n === 0) };
}
