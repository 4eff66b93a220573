// Builds @floe/cdk: the construct as every workspace package is built (scripts/build-package.mjs:
// dist/index.js, declarations in dist/types), then each function of the manifest bundled as the
// repository's stack bundles it at synth (the same esbuild options, infra/floe-function.ts's BUNDLING)
// into dist/functions/<entry>/index.mjs, so a user's synth needs neither esbuild nor Floe's sources.
// Run with tsx (`npm run build`), which lets it read those options from the TypeScript source.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { BUNDLING, REPO_ROOT } from '../../infra/floe-function.ts';
import { FUNCTIONS } from '../../src/manifest.ts';

await import('../../scripts/build-package.mjs');

const out = fileURLToPath(new URL('./dist/functions/', import.meta.url));
await Promise.all(
  FUNCTIONS.map((f) =>
    build({
      entryPoints: [`${REPO_ROOT}/functions/${f.entry}.ts`],
      absWorkingDir: REPO_ROOT,
      outfile: `${out}${f.entry}/index.mjs`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: BUNDLING.target,
      minify: BUNDLING.minify,
      sourcemap: BUNDLING.sourceMap,
      mainFields: BUNDLING.mainFields,
      banner: { js: BUNDLING.banner },
      external: BUNDLING.externalModules,
      logLevel: 'warning',
    }),
  ),
);
