// What the load run was promised: every acknowledged record's partition, offset and value id. The log
// read back at the end is checked against it record by record, as it streams in, so a long run never
// holds the whole log in memory.

/** A record's value: its id, a space, then filler up to the record size, so the id alone rebuilds it. */
export function recordValue(id: string, bytes: number): Buffer {
  const value = Buffer.alloc(Math.max(bytes, id.length + 1), '.');
  value.write(`${id} `, 0, 'latin1');
  return value;
}

export interface LedgerCheck {
  acknowledged: number;
  /** Acknowledged, and no record at that offset in the read-back log. */
  lost: number;
  /** Acknowledged, and another value at that offset. */
  mismatched: number;
  /** One offset acknowledged to two different records. */
  acknowledgedTwice: number;
  /** Records in the log nobody was told about: requests that timed out, failed or were in flight at the end. */
  unacknowledgedInLog: number;
  examples: string[];
}

const EXAMPLES = 5;

export class AckLedger {
  private readonly acked = new Map<number, Map<number, string>>();
  private readonly ends = new Map<number, number>();
  private readonly seen = new Map<number, Set<number>>();
  private twice = 0;
  private mismatched = 0;
  private unacknowledged = 0;
  private readonly examples: string[] = [];
  private count = 0;

  constructor(private readonly recordBytes: number) {}

  acknowledge(partition: number, offset: number, id: string): void {
    let offsets = this.acked.get(partition);
    if (!offsets) this.acked.set(partition, (offsets = new Map()));
    const before = offsets.get(offset);
    if (before !== undefined) {
      this.twice++;
      this.example(`offset ${partition}:${offset} acknowledged to ${before} and to ${id}`);
      return;
    }
    offsets.set(offset, id);
    this.count++;
    if (offset >= (this.ends.get(partition) ?? 0)) this.ends.set(partition, offset + 1);
  }

  /** Records acknowledged so far (an offset acknowledged twice counts once). */
  get size(): number {
    return this.count;
  }

  /** One past the highest offset acknowledged in the partition: fetches below it find real records. */
  end(partition: number): number {
    return this.ends.get(partition) ?? 0;
  }

  /** The partitions anything was acknowledged in, so a read-back covers a partition the run did not expect. */
  partitions(): number[] {
    return [...this.acked.keys()];
  }

  /** One record of the read-back log; `value` is base64, as the binary format carries it. */
  observe(partition: number, offset: number, value: string | null): void {
    let seen = this.seen.get(partition);
    if (!seen) this.seen.set(partition, (seen = new Set()));
    if (seen.has(offset)) return;
    seen.add(offset);
    const id = this.acked.get(partition)?.get(offset);
    if (id === undefined) {
      this.unacknowledged++;
      return;
    }
    if (value !== recordValue(id, this.recordBytes).toString('base64')) {
      this.mismatched++;
      const got = value === null ? 'null' : Buffer.from(value, 'base64').toString('latin1').split(' ')[0];
      this.example(`offset ${partition}:${offset} acknowledged for ${id}, read back ${got}`);
    }
  }

  check(): LedgerCheck {
    let lost = 0;
    for (const [partition, offsets] of this.acked) {
      const seen = this.seen.get(partition);
      for (const [offset, id] of offsets) {
        if (seen?.has(offset)) continue;
        lost++;
        this.example(`offset ${partition}:${offset} acknowledged for ${id}, not in the log`);
      }
    }
    return { acknowledged: this.count, lost, mismatched: this.mismatched, acknowledgedTwice: this.twice, unacknowledgedInLog: this.unacknowledged, examples: [...this.examples] };
  }

  private example(line: string): void {
    if (this.examples.length < EXAMPLES) this.examples.push(line);
  }
}
