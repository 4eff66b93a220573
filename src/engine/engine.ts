// The engine: everything Floe does, wired to its configuration and AWS clients once per process.
// It knows nothing of HTTP or Lambda; the API layer and the job runners call into it.
import type { FloeConfig } from '../config.ts';
import type { AwsClients } from '../storage/clients.ts';

export interface Engine {
  config: FloeConfig;
  clients: AwsClients;
}

export function createEngine(config: FloeConfig, clients: AwsClients): Engine {
  return { config, clients };
}
