// Tests reach the app in-process through app.request(); that path is an adapter too, with its own
// body reader: fetch's Request cannot carry a GET's body, so app.request() hands it over in the env.
import { readRequestBody, type BodyReader } from '../../src/api/body.ts';

/** The env an in-process request passes the app: the body of a GET, which its Request cannot hold. */
export interface InProcessEnv {
  body?: string;
}

export const readInProcessBody: BodyReader = async (c, limit) => {
  const held = (c.env as InProcessEnv | undefined)?.body;
  return held === undefined ? readRequestBody(c, limit) : Buffer.from(held, 'utf8');
};
