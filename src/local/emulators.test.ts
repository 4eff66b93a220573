import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processAlive, waitForExit } from './emulators.ts';

/** A zombie: `sh` starts a child, then execs into `sleep`, which never reaps that child when it exits. */
async function zombie(): Promise<{ pid: number; stop: () => void }> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const stat = () => readFileSync(`/proc/${pid}/stat`, 'utf8');
  for (let i = 0; i < 200 && !/\) Z /.test(stat()); i++) await new Promise((r) => setTimeout(r, 10));
  return { pid, stop: () => parent.kill('SIGKILL') };
}

describe('processAlive', () => {
  it('takes a zombie for a process that is gone, although signal 0 still reaches it', async () => {
    const z = await zombie();
    try {
      expect(readFileSync(`/proc/${z.pid}/stat`, 'utf8')).toMatch(/\) Z /);
      expect(() => process.kill(z.pid, 0)).not.toThrow();
      expect(processAlive(z.pid)).toBe(false);
      expect(await waitForExit(z.pid, 1000)).toBe(true);
    } finally {
      z.stop();
    }
  });

  it('sees a running process as alive until it is killed', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid!;
    expect(processAlive(pid)).toBe(true);
    expect(await waitForExit(pid, 100)).toBe(false);
    child.kill('SIGKILL');
    expect(await waitForExit(pid, 5000)).toBe(true);
  });
});
