// Identical reads asked for at about the same time share one storage call. A caller never gets a
// result older than its call: it shares a read that has not started yet (reads start on the next turn
// of the event loop, so the callers of one turn share one), or else the read after the one in flight,
// which starts once that one has finished. Many consumers at the tail of one partition thus cost about
// one head read per change instead of one each, and each still reads its writes.

interface Read<T> {
  started: boolean;
  promise: Promise<T>;
}

interface Slot<T> {
  current?: Read<T>;
  next?: Read<T>;
}

export class ReadCoalescer<T> {
  private readonly slots = new Map<string, Slot<T>>();
  /** Storage calls made, and calls answered by a call made for another caller. */
  calls = 0;
  shared = 0;

  /** The result of a `run()` started after this call, shared with callers asking for the same key. */
  read(key: string, run: () => Promise<T>): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = {}));
    const s = slot;
    if (s.current && !s.current.started) {
      this.shared++;
      return s.current.promise;
    }
    // Between a read's end and the start of the one queued after it: the queued one is still to start.
    if (!s.current && s.next) {
      this.shared++;
      return s.next.promise;
    }
    if (!s.current) {
      s.current = this.schedule(key, s, run, new Promise((r) => setImmediate(r)));
      return s.current.promise;
    }
    this.shared++;
    if (!s.next) {
      const after = s.current.promise.then(
        () => undefined,
        () => undefined,
      );
      s.next = this.schedule(key, s, run, after);
    }
    return s.next.promise;
  }

  /** Keys with a read in flight or queued (for tests: none are left once every caller is answered). */
  get pending(): number {
    return this.slots.size;
  }

  /** A read of `run` once `gate` resolves; it becomes the slot's current read when it starts. */
  private schedule(key: string, slot: Slot<T>, run: () => Promise<T>, gate: Promise<unknown>): Read<T> {
    const read: Read<T> = { started: false, promise: undefined as unknown as Promise<T> };
    read.promise = gate.then(() => {
      if (slot.next === read) slot.next = undefined;
      slot.current = read;
      read.started = true;
      this.calls++;
      return run();
    });
    const done = () => {
      if (slot.current === read) slot.current = undefined;
      if (!slot.current && !slot.next && this.slots.get(key) === slot) this.slots.delete(key);
    };
    read.promise.then(done, done);
    return read;
  }
}
