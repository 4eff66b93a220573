// Idempotent producer state: per partition and producer id, the epoch and the last few sequences
// committed with the offsets they got. A retried request finds its sequence here and gets its
// original offsets back instead of a second copy of its records.
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TableKey } from './batch-get.ts';
import type { AwsClients } from './clients.ts';
import { PRODUCER_ID_COUNTER_KEY } from './keys.ts';

export interface CommittedSequence {
  seq: number;
  /** Offset of the request's first record on this partition. */
  base: number;
  count: number;
}

export interface ProducerState {
  epoch: number;
  /** The most recent sequences, newest last; Kafka keeps five per producer and partition. */
  seqs: CommittedSequence[];
  exists: boolean;
}

export const KEPT_SEQUENCES = 5;
/** Producer state expires after a week without writes (Kafka's producer.id.expiration.ms is a day). */
export const PRODUCER_STATE_TTL_S = 7 * 24 * 3600;

export class ProducersTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  stateKey(pk: string, producerId: number): TableKey {
    return { table: this.table, key: { p: pk, pid: producerId } };
  }

  stateFromItem(item: Record<string, unknown> | undefined): ProducerState {
    if (!item) return { epoch: -1, seqs: [], exists: false };
    return { epoch: Number(item.epoch), seqs: (item.seqs as CommittedSequence[] | undefined) ?? [], exists: true };
  }

  /**
   * The state write of a commit: conditioned on the state being exactly what this writer read, so two
   * attempts with the same sequence cannot both commit.
   */
  putStateParams(pk: string, producerId: number, old: ProducerState, epoch: number, appended: CommittedSequence, now: number): TransactWriteItem {
    const seqs = [...(old.epoch === epoch ? old.seqs : []), appended].slice(-KEPT_SEQUENCES);
    const last = old.seqs[old.seqs.length - 1];
    const condition = old.exists ? (last ? 'epoch = :oldEpoch AND lastSeq = :oldSeq' : 'epoch = :oldEpoch') : 'attribute_not_exists(pid)';
    return {
      Put: {
        TableName: this.table,
        Item: { p: pk, pid: producerId, epoch, seqs, lastSeq: appended.seq, ttl: Math.floor(now / 1000) + PRODUCER_STATE_TTL_S } as never,
        ConditionExpression: condition,
        ...(old.exists ? { ExpressionAttributeValues: { ':oldEpoch': old.epoch, ...(last ? { ':oldSeq': last.seq } : {}) } as never } : {}),
      },
    };
  }

  /** A new producer id: an atomic counter, so ids are never handed out twice. */
  async allocateId(): Promise<number> {
    const r = await this.clients.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: PRODUCER_ID_COUNTER_KEY,
        UpdateExpression: 'ADD next_id :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(r.Attributes?.next_id);
  }
}
