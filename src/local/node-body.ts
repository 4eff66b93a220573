// How the Node server hands request bodies to the app. Node's request still holds a GET's body after
// fetch's Request, which the server builds from it, has dropped it.
import type { HttpBindings } from '@hono/node-server';
import { bodyTooLarge, readRequestBody, requestHoldsBody, type BodyReader } from '../api/body.ts';

export const readNodeBody: BodyReader = async (c, limit) => {
  if (requestHoldsBody(c.req.method)) return readRequestBody(c, limit);
  const { incoming } = c.env as HttpBindings;
  const chunks: Buffer[] = [];
  let size = 0;
  // A GET body has no Request to bound it, so it is cut off here rather than read to the end.
  for await (const chunk of incoming) {
    size += (chunk as Buffer).length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
};
