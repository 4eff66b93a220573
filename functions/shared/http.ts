// Cold start for the HTTP functions: configuration validated, clients and engine built once per
// container, then every invocation goes through the same Hono app the local server runs.
import { handle } from 'hono/aws-lambda';
import { createApp } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { createClients } from '../../src/storage/clients.ts';
import { emfMetrics } from './emf.ts';

export function httpHandler() {
  const config = loadConfig();
  const engine = createEngine(config, createClients(config), { metrics: emfMetrics });
  // Lambda freezes the container once the answer is sent: acks=0 writes finish before it.
  return handle(createApp(engine, { awaitUnacknowledgedWrites: true }));
}
