// Wakes long-polling fetches in this process as soon as a produce in this process commits to the
// partition they wait on. Other processes (other Lambdas) are seen by the fetch's periodic head read.
export class AppendNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(topicId: string, partition: number): void {
    const key = `${topicId}#${partition}`;
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }

  /** Resolves on the next append to the partition or after `ms`, whichever comes first. */
  wait(topicId: string, partition: number, ms: number): Promise<void> {
    const key = `${topicId}#${partition}`;
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.get(key)?.delete(wake);
        resolve();
      }, ms);
      set.add(wake);
    });
  }
}
