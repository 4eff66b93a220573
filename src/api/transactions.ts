// Kafka transactions over HTTP (docs/design.md, "Transactions"): init (InitProducerId), offsets
// (TxnOffsetCommit), commit and abort (EndTxn), and the state of a transactional id. Writes into a
// transaction go through the native produce with "transactional_id" (src/api/native.ts).
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { requestBodies } from './body.ts';
import type { AppOptions } from './options.ts';

/** Bodies of these calls are small: offsets of many partitions at most. */
const MAX_BODY_BYTES = 1024 * 1024;

function integer(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FloeError('VALIDATION', `${name} must be an integer`);
  return v;
}

/** `{"producer_id","producer_epoch"}` of a body. */
export function producerOf(body: Record<string, unknown>): { id: number; epoch: number } {
  if (body.producer_id === undefined || body.producer_epoch === undefined) throw new FloeError('VALIDATION', 'producer_id and producer_epoch are required');
  return { id: integer(body.producer_id, 'producer_id'), epoch: integer(body.producer_epoch, 'producer_epoch') };
}

export function transactionRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  const tid = (c: Context) => c.req.param('tid')!;
  const objectBody = (c: Context, optional = false) => bodies.object(c, MAX_BODY_BYTES, { optional, code: 'VALIDATION' });

  app.post('/floe/v1/transactions/:tid/init', async (c) => {
    const body = await objectBody(c, true);
    const timeout = body.transaction_timeout_ms === undefined ? undefined : integer(body.transaction_timeout_ms, 'transaction_timeout_ms');
    const p = await engine.transactions.init(tid(c), timeout);
    return c.json({ producer_id: p.id, producer_epoch: p.epoch });
  });

  app.post('/floe/v1/transactions/:tid/offsets', async (c) => {
    const body = await objectBody(c);
    const producer = producerOf(body);
    if (typeof body.group_id !== 'string') throw new FloeError('VALIDATION', 'group_id must be a string');
    if (!Array.isArray(body.offsets)) throw new FloeError('VALIDATION', 'offsets must be an array of {"topic","partition","offset","metadata"?}');
    await engine.transactions.sendOffsets(tid(c), producer, {
      group: body.group_id,
      ...(body.generation_id !== undefined && body.generation_id !== null ? { generation: integer(body.generation_id, 'generation_id') } : {}),
      ...(body.member_id !== undefined && body.member_id !== null ? { member: String(body.member_id) } : {}),
      offsets: body.offsets as never,
    });
    return c.json({ transactional_id: tid(c), group_id: body.group_id });
  });

  for (const how of ['commit', 'abort'] as const) {
    app.post(`/floe/v1/transactions/:tid/${how}`, async (c) => {
      const body = await objectBody(c);
      const s = await engine.transactions.end(tid(c), producerOf(body), how);
      return c.json({ transactional_id: tid(c), state: s.state, producer_id: s.producerId, producer_epoch: s.epoch });
    });
  }

  app.get('/floe/v1/transactions/:tid', async (c) => c.json(await engine.transactions.describe(tid(c))));
}
