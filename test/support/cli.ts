// The CLI as a user runs it: spawned from source (`floe ...args`), optionally behind a shell pipeline
// feeding its stdin, with no local server recorded (FLOE_DATA_DIR points nowhere), so `--url` decides.
import { spawn } from 'node:child_process';

const CLI = ['--import', 'tsx', 'packages/cli/src/main.ts'];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function floe(args: string[], options: { stdin?: string; pipeFrom?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, FLOE_DATA_DIR: '/nonexistent' };
    const quoted = [process.execPath, ...CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = options.pipeFrom ? spawn('sh', ['-c', `${options.pipeFrom} | ${quoted}`], { env }) : spawn(process.execPath, [...CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else if (!options.pipeFrom) child.stdin.end();
  });
}
