// Subscriptions, seeks and commits all name partitions a caller typed; each must refuse a missing one
// the same way before it reads or writes anything for it.
import { FloeError, PartitionNotFoundError } from '../errors.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { validateTopicName } from '../topics/names.ts';

/**
 * Every partition exists: 40401 for a topic, 40402 for a partition (from the topic cache, as the fetch
 * path resolves topics), before anything is read or written for it. Returns the topics it resolved.
 */
export async function checkPartitions(topics: TopicService, partitions: Array<[string, number]>): Promise<Map<string, Topic>> {
  const found = new Map<string, Topic>();
  for (const [t, p] of partitions) {
    if (!Number.isSafeInteger(p) || p < 0) throw new FloeError('VALIDATION', 'partition must be a non-negative integer');
    let topic = found.get(t);
    if (topic === undefined) {
      topic = await topics.resolve(validateTopicName(t));
      found.set(t, topic);
    }
    if (p >= topic.partitions) throw new PartitionNotFoundError(t, p);
  }
  return found;
}
