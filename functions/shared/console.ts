// The console in the admin function (-c console=true): its files from the `console/` folder the
// stack's bundling writes beside the function's code, its figures over time from CloudWatch, read with
// the function's own credentials (its role is granted cloudwatch:GetMetricData for this).
import { fileURLToPath } from 'node:url';
import { readConsoleDir, type ConsoleAssets } from '../../src/console/assets.ts';
import { CloudWatchSamples } from '../../src/console/cloudwatch.ts';
import type { ConsoleOptions } from '../../src/console/routes.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';

export function lambdaConsole(engine: Engine): ConsoleOptions {
  // In the bundle this module is index.mjs itself, so the folder is the one beside it.
  const dir = process.env.FLOE_CONSOLE_DIR ?? fileURLToPath(new URL('./console/', import.meta.url));
  let assets: Promise<ConsoleAssets> | undefined;
  const endpoint = process.env.AWS_ENDPOINT_URL_CLOUDWATCH ?? process.env.AWS_ENDPOINT_URL;
  return {
    assets: () =>
      (assets ??= Promise.resolve()
        .then(() => readConsoleDir(dir))
        .catch((e: unknown) => {
          throw new FloeError('INTERNAL', `the console's files are not in this function's code: ${(e as Error).message}`);
        })),
    samples: new CloudWatchSamples({ region: engine.config.region, credentials: engine.clients.ddb.config.credentials, ...(endpoint ? { endpoint } : {}) }),
  };
}
