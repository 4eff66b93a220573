// The console's files as the server holds them: each with its media type, its bytes, a gzip of them
// (made once, not per request) and an ETag. Built in memory at `npm start` (build.ts), or read from the
// admin function's code, where the stack's bundling wrote them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ConsoleAsset {
  type: string;
  body: Uint8Array;
  gzip: Uint8Array;
  etag: string;
  /** Named by a hash of its content: cached for good, as a new build has new names. */
  immutable: boolean;
}

/** By file name: `index.html`, `app-<hash>.js`, `app-<hash>.css`. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json',
};

export function consoleAssets(files: Record<string, Uint8Array | string>): ConsoleAssets {
  const out = new Map<string, ConsoleAsset>();
  for (const [name, content] of Object.entries(files)) {
    const body = typeof content === 'string' ? new Uint8Array(Buffer.from(content, 'utf8')) : content;
    const ext = name.slice(name.lastIndexOf('.') + 1);
    out.set(name, {
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      gzip: new Uint8Array(gzipSync(body, { level: 9 })),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: /-[A-Z0-9]{8,}\.[a-z]+$/.test(name),
    });
  }
  return out;
}

/** The files a build wrote to `dir` (the admin function's `console/`). */
export function readConsoleDir(dir: string): ConsoleAssets {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) files[name] = new Uint8Array(readFileSync(join(dir, name)));
  if (!files['index.html']) throw new Error(`no console build in ${dir} (index.html is missing)`);
  return consoleAssets(files);
}

/** What a browser downloads to show the console, gzipped: every file of the build. */
export function gzippedBytes(assets: ConsoleAssets): number {
  let n = 0;
  for (const a of assets.values()) n += a.gzip.length;
  return n;
}
