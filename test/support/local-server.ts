// The server as `npm start` runs it, in a child process on its own fresh data folder and emulators, for
// runs that must measure or break the real thing (the load run). Stopping it also ends the DynamoDB
// Local it started and removes the folder; a guard does the same if this process exits without stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, processAlive, waitForExit } from '../../src/local/emulators.ts';

export interface LocalServer {
  url: string;
  /** The last few KB of what the server wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it lingers; then the emulator it started and the data folder. Idempotent. */
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT_TAIL = 8000;
const STOP_GRACE_MS = 15_000;

function dynamoDbPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'dynamodb-local.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Everything the server started, gone at once: used when there is no time left to wait (process exit). */
function killNow(child: ChildProcess, dataDir: string): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const java = dynamoDbPid(dataDir);
  if (java !== undefined && processAlive(java)) {
    try {
      process.kill(java, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
}

export interface LocalServerOptions {
  env?: Record<string, string>;
  startTimeoutMs?: number;
  signal?: AbortSignal;
  /** Each JSON line the server logs at level error (one per failed request), parsed. */
  onError?: (entry: Record<string, unknown>) => void;
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-load-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
    env: {
      ...process.env,
      ...options.env,
      FLOE_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Empty, so the server starts its own emulators instead of using whatever the caller points at.
      AWS_ENDPOINT_URL: '',
      AWS_ENDPOINT_URL_DYNAMODB: '',
      AWS_ENDPOINT_URL_S3: '',
    },
    // From the repository root, where `--import tsx` resolves, whatever folder the caller runs in.
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Read both pipes all the time: a server logging every failed request would otherwise stall on a full pipe.
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_TAIL));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (!options.onError) return;
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.level === 'error') options.onError(entry);
      } catch {
        // not one of the server's JSON log lines
      }
    }
  });
  const guard = () => killNow(child, dataDir);
  process.once('exit', guard);

  let stopping: Promise<void> | undefined;
  const server: LocalServer = {
    url,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(grace);
        }
        // A server killed before it could stop its emulator leaves DynamoDB Local running on the folder.
        const java = dynamoDbPid(dataDir);
        if (java !== undefined && processAlive(java)) {
          try {
            process.kill(java, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
          await waitForExit(java, 10_000);
        }
        rmSync(dataDir, { recursive: true, force: true });
        process.removeListener('exit', guard);
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited during start-up: ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`the server did not answer within ${options.startTimeoutMs ?? 120_000} ms: ${output.trim()}`);
      const up = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return server;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
}
