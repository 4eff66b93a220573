// What an acks setting means for a produce request; v2 and v3 produce both answer by it.
import type { Engine } from '../engine/engine.ts';
import { isFloeError } from '../errors.ts';
import type { ProduceRecord, ProduceResult } from '../produce/produce.ts';
import type { AppOptions } from './options.ts';
import type { Acks } from './params.ts';

/**
 * acks=1 and acks=all both answer after the commit transaction: S3 and DynamoDB have made the data
 * durable across availability zones before they acknowledge, so there is no weaker "leader only" point.
 * acks=0 answers without waiting; the write goes on in the background (on Lambda, where nothing runs
 * after the answer, it is finished first but its result is still not reported).
 */
export async function runProduce(engine: Engine, options: AppOptions, topic: string, records: ProduceRecord[], acks: Acks, partition?: number): Promise<ProduceResult | undefined> {
  const work = engine.producer.produce(topic, records, partition === undefined ? {} : { partition });
  if (acks !== 0) return work;
  if (options.awaitUnacknowledgedWrites) {
    await work.catch((e) => logUnacknowledgedFailure(topic, e));
    return undefined;
  }
  const tracked = work.catch((e) => logUnacknowledgedFailure(topic, e)).finally(() => engine.background.delete(tracked));
  engine.background.add(tracked);
  return undefined;
}

function logUnacknowledgedFailure(topic: string, e: unknown): void {
  console.error(JSON.stringify({ level: 'warn', msg: 'acks=0 produce failed', topic, error: isFloeError(e) ? e.message : String(e) }));
}
