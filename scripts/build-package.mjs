// Builds the workspace package in the current directory for publishing: its entry points bundled by
// esbuild into dist/ (ESM for Node 20+, its declared dependencies left to npm), its declarations
// emitted by tsc into dist/types. Run by each package's `prepack`, so `npm pack --workspaces` builds.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const entries = pkg.floeBuild?.entries ?? ['src/index.ts'];
const declared = [...(pkg.floeBuild?.external ?? []), ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
rmSync('dist', { recursive: true, force: true });
// A package that depends on @floe/client imports the client's sources in the repository; published, it
// imports the installed client instead, so a user's Floe and its errors are the same classes in both.
const clientSources = {
  name: 'floe-client-external',
  setup(b) {
    if (!pkg.dependencies?.['@floe/client'] || pkg.name === '@floe/client') return;
    b.onResolve({ filter: /client\/src\/index\.ts$/ }, () => ({ path: '@floe/client', external: true }));
  },
};
await build({
  entryPoints: entries,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  external: [...declared, ...declared.map((d) => `${d}/*`)],
  // Bundled CommonJS code may call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __floeRequire } from 'node:module'; const require = __floeRequire(import.meta.url);" },
  plugins: [clientSources],
  logLevel: 'warning',
});
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
