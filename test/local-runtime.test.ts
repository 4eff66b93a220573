// The local runtime as a newcomer runs it: a real `node` process serving the API over HTTP, killed
// with SIGKILL and started again on the same data folder, and stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, processAlive } from '../src/local/emulators.ts';
import { startTimers } from '../src/local/timers.ts';
import { b64, BINARY } from './support/engine.ts';
import { serverClient } from './support/http.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'floe-runtime-'));
const children: ChildProcess[] = [];
/** Every folder a test makes, removed after all of them, whether they passed or not. */
const folders: string[] = [dataDir];
function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

/** The server as `node` runs it, or as a newcomer does with `npm start` (a signal then reaches npm only). */
async function startServer(port: number, via: 'node' | 'npm' = 'node'): Promise<ChildProcess> {
  const [command, args] = via === 'npm' ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', 'src/local/main.ts']];
  const child = spawn(command, args, {
    env: { ...process.env, FLOE_DATA_DIR: dataDir, PORT: String(port), AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_S3: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      if (r.ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not answer: ${output}`);
}

/** The native libraries DynamoDB Local unpacked into the temporary folder the runtime gives it. */
function unpacked(): string[] {
  const dir = join(dataDir, 'java-tmp');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.so')) : [];
}

function javaPid(): number {
  const state = readFileSync(join(dataDir, 'dynamodb-local.pid'), 'utf8');
  return Number(state.trim());
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  try {
    process.kill(javaPid(), 'SIGKILL');
  } catch {
    // already gone
  }
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('local runtime', () => {
  it('comes back after SIGKILL with every acknowledged record, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    let server = await startServer(port);
    const api = serverClient(`http://127.0.0.1:${port}`, { type: BINARY });
    expect((await api.get('/')).body).toEqual({});
    const produced = await api.post('/topics/survivor', { records: [{ value: b64('one') }, { value: b64('two') }] });
    expect(produced.body.offsets.map((o: any) => o.offset)).toEqual([0, 1]);

    const oldJava = javaPid();
    // Unpacked in the data folder, not the system's temp folder: a SIGKILL leaves it there.
    const oldLibs = unpacked();
    expect(oldLibs).toHaveLength(1);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    // The emulator outlives its parent; the next start must clear it.
    expect(processAlive(oldJava)).toBe(true);

    server = await startServer(port);
    expect(processAlive(oldJava)).toBe(false);
    // The killed one's copy was removed before the new one started.
    expect(unpacked()).toHaveLength(1);
    expect(unpacked()).not.toEqual(oldLibs);
    const got = await api.get('/topics/survivor/partitions/0/records?offset=0', { accept: BINARY });
    expect((got.body as any[]).map((r) => Buffer.from(r.value, 'base64').toString())).toEqual(['one', 'two']);
    const more = await api.post('/topics/survivor', { records: [{ value: b64('three') }] });
    expect(more.body.offsets[0].offset).toBe(2);

    const newJava = javaPid();
    server.kill('SIGTERM');
    const code = await new Promise((r) => server.once('exit', r));
    expect(code).toBe(0);
    expect(processAlive(newJava)).toBe(false);
    expect(existsSync(join(dataDir, 'java-tmp'))).toBe(false);
  });

  it('stops everything it started when SIGTERM or SIGINT reaches only the npm process', async () => {
    const port = await freePort();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const npm = await startServer(port, 'npm');
      const java = javaPid();
      npm.kill(signal);
      await new Promise((r) => npm.once('exit', r));
      // npm has gone; the server and the emulator it started go too, soon after.
      let up = true;
      for (let i = 0; i < 100 && (up || processAlive(java)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        up = await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        );
      }
      expect(up, `server still answering after ${signal} to npm`).toBe(false);
      expect(processAlive(java), `DynamoDB Local still running after ${signal} to npm`).toBe(false);
    }
  });

  it('refuses to start without Java in one line that says what to do', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
      env: { ...process.env, PATH: '/nonexistent', FLOE_DATA_DIR: tempFolder('floe-nojava-'), PORT: String(await freePort()), AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_S3: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Java 17.*openjdk-17-jre-headless.*AWS_ENDPOINT_URL/);
  });

  it('refuses a bad configuration in one line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
      env: { ...process.env, FLOE_DEFAULT_PARTITIONS: 'many', FLOE_DATA_DIR: tempFolder('floe-badcfg-') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    expect(await new Promise((r) => child.once('exit', r))).toBe(1);
    expect(err.trim()).toMatch(/^floe: invalid Floe configuration: FLOE_DEFAULT_PARTITIONS/);
  });
});

describe('local job timers', () => {
  it('runs each job on its interval, never overlapping itself, and keeps going after a failure', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    let failures = 0;
    const lines: string[] = [];
    const timers = startTimers(
      [
        {
          name: 'slow',
          intervalMs: 10,
          run: async () => {
            runs++;
            concurrent++;
            maxConcurrent = Math.max(maxConcurrent, concurrent);
            await new Promise((r) => setTimeout(r, 35));
            concurrent--;
            if (runs === 1) {
              failures++;
              throw new Error('boom');
            }
            return { ok: true };
          },
        },
      ],
      (l) => lines.push(l),
    );
    await new Promise((r) => setTimeout(r, 250));
    await timers.stop();
    expect(runs).toBeGreaterThan(2);
    expect(maxConcurrent).toBe(1);
    expect(failures).toBe(1);
    expect(lines.some((l) => l.includes('"error":"boom"'))).toBe(true);
    const after = runs;
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(after);
  });
});
