// Partition counts of topics, cached for a while as kafkajs caches metadata (`metadataMaxAge`): the
// producer partitions with them and the admin lists partitions by them.
import type { Floe } from './floe.ts';

interface V3Topic {
  topic_name: string;
  partitions_count: number;
}

/**
 * Topic partition counts from `GET /v3/clusters/floe/topics/{t}`, each kept `maxAgeMs`; a failed
 * look-up is not kept, so a topic created meanwhile is found at the next call.
 *
 * @example
 * const cache = new TopicMetadataCache(floe);
 * const n = await cache.partitionCount('orders');
 */
export class TopicMetadataCache {
  private readonly entries = new Map<string, { at: number; count: Promise<number> }>();

  constructor(
    private readonly floe: Floe,
    private readonly maxAgeMs = 300_000,
  ) {}

  /**
   * The topic's partition count (TopicNotFoundError when it does not exist).
   *
   * @example
   * const n = await cache.partitionCount('orders');
   */
  partitionCount(topic: string): Promise<number> {
    const hit = this.entries.get(topic);
    if (hit && Date.now() - hit.at < this.maxAgeMs) return hit.count;
    const count = this.floe
      .request<V3Topic>('GET', `/v3/clusters/floe/topics/${encodeURIComponent(topic)}`, { retry: true })
      .then((t) => t.partitions_count)
      .catch((e: unknown) => {
        if (this.entries.get(topic)?.count === count) this.entries.delete(topic);
        throw e;
      });
    this.entries.set(topic, { at: Date.now(), count });
    return count;
  }

  /**
   * Drops what is known of a topic (after it was deleted, or a request found it changed).
   *
   * @example
   * cache.forget('orders');
   */
  forget(topic: string): void {
    this.entries.delete(topic);
  }
}
