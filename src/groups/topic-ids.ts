// Offsets belong to a log, and a log is a topic's id, not its name: a topic deleted and re-created under
// the same name is a new, empty log, and an offset committed (or a position read) on the old one must not
// make a consumer skip the new one's first records. Kafka removes a group's offsets of a deleted topic;
// Floe stores the topic id with each offset and ignores one made against another id.
import { TopicNotFoundError } from '../errors.ts';
import type { CommittedOffset } from '../model/group.ts';
import type { TopicService } from '../topics/topics.ts';

/**
 * The current id of each named topic, undefined for one that does not exist. Through the topic cache,
 * as the fetch path resolves topics, so offsets are judged against the log a fetch would read.
 */
export async function currentTopicIds(topics: TopicService, names: Iterable<string>): Promise<Map<string, string | undefined>> {
  const ids = new Map<string, string | undefined>();
  await Promise.all(
    [...new Set(names)].map(async (name) => {
      try {
        ids.set(name, (await topics.resolve(name)).id);
      } catch (e) {
        if (!(e instanceof TopicNotFoundError)) throw e;
        ids.set(name, undefined);
      }
    }),
  );
  return ids;
}

/**
 * The committed offsets that apply to their topics as they are now: those committed against the topic's
 * current id, and those written before offsets carried an id (honoured as they always were). Only the
 * topics that need it are resolved.
 */
export async function currentOffsets(topics: TopicService, offsets: CommittedOffset[]): Promise<CommittedOffset[]> {
  const ids = await currentTopicIds(
    topics,
    offsets.filter((o) => o.topicId !== null).map((o) => o.topic),
  );
  return offsets.filter((o) => o.topicId === null || o.topicId === ids.get(o.topic));
}
