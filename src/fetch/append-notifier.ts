// Wakes long-polling fetches in this process as soon as a produce in this process commits to the
// partition they wait on. Other processes (other Lambdas) are seen by the tail watch's periodic head reads.
export class AppendNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(topicId: string, partition: number): void {
    for (const key of [`${topicId}#${partition}`, `${topicId}#*`]) {
      const set = this.waiters.get(key);
      if (!set) continue;
      this.waiters.delete(key);
      for (const wake of set) wake();
    }
  }

  /** Resolves on the next append to the partition or after `ms`, whichever comes first. */
  wait(topicId: string, partition: number, ms: number): Promise<void> {
    return this.waitKey(`${topicId}#${partition}`, ms);
  }

  /** Resolves on the next append to any partition of the topic or after `ms`. */
  waitTopic(topicId: string, ms: number): Promise<void> {
    return this.waitKey(`${topicId}#*`, ms);
  }

  private waitKey(key: string, ms: number): Promise<void> {
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
