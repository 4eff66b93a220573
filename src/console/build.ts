// Builds the console from console/src with esbuild: one minified script and one stylesheet (Preact,
// uPlot and the pages, from node_modules, nothing fetched at run time), named by their content's hash,
// and the index.html that loads them. `npm start` builds it in memory at start; the stack's bundling of
// the admin function writes it next to the function's code (scripts/build-console.ts).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_ROOT = fileURLToPath(new URL('../../console/', import.meta.url));

function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Floe console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style}">
<script type="module" src="${script}"></script>
</head>
<body>
<noscript>The Floe console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;
}

/** The console's files by name, built now. */
export async function buildConsole(): Promise<Record<string, Uint8Array>> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(CONSOLE_ROOT, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: 'app-[hash]',
    outdir: join(CONSOLE_ROOT, 'out'),
    write: false,
    legalComments: 'eof',
    logLevel: 'silent',
    // The browser bundle is the console's own code, Preact and uPlot: a Node module pulled in by mistake fails here.
    platform: 'browser',
  });
  const files: Record<string, Uint8Array> = {};
  for (const f of result.outputFiles) files[basename(f.path)] = f.contents;
  const script = Object.keys(files).find((n) => n.endsWith('.js'));
  const style = Object.keys(files).find((n) => n.endsWith('.css'));
  if (!script || !style) throw new Error(`the console build made ${Object.keys(files).join(', ')}, not a script and a stylesheet`);
  files['index.html'] = new Uint8Array(Buffer.from(indexHtml(script, style)));
  return files;
}

/** Builds the console into `dir` (emptied first). */
export async function writeConsole(dir: string): Promise<string[]> {
  const files = await buildConsole();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return Object.keys(files);
}
