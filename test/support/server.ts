// The app behind a real Node HTTP server on a free loopback port, served as the local runtime serves
// it: requests go through the Node adapter, a GET's body through Node's own request.
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../src/api/app.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { freePort } from '../../src/local/emulators.ts';
import { readNodeBody } from '../../src/local/node-body.ts';
import { testEngine } from './engine.ts';

export interface TestServer {
  url: string;
  engine: Engine;
  close(): Promise<void>;
}

export async function testServer(overrides: Record<string, string> = {}): Promise<TestServer> {
  const engine = testEngine(overrides);
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: createApp(engine, { readBody: readNodeBody }).fetch, hostname: '127.0.0.1', port }, () => resolve(s));
  });
  return { url: `http://127.0.0.1:${port}`, engine, close: () => new Promise((r) => server.close(() => r())) };
}
