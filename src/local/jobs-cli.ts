// `npm run jobs -- <retention|compaction|gc>`: runs one job now and prints its one-line JSON summary.
// Without endpoints in the environment it finds the running local stack through its state file.
import { loadConfig } from '../config.ts';
import { createEngine } from '../engine/engine.ts';
import { isJobName, JOB_NAMES, runJob } from '../jobs/run.ts';
import { createClients } from '../storage/clients.ts';
import { readRunningState } from './server.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const name = process.argv[2] ?? '';
if (!isJobName(name)) {
  console.error(`usage: npm run jobs -- <${JOB_NAMES.join('|')}>`);
  process.exit(2);
}
const env = { ...process.env };
if (!env.AWS_ENDPOINT_URL && !env.AWS_ENDPOINT_URL_DYNAMODB && !env.AWS_ENDPOINT_URL_S3) {
  const dataDir = env.FLOE_DATA_DIR ?? '.floe';
  const state = readRunningState(dataDir);
  if (!state) {
    console.error(`floe: no running local server found in ${dataDir}; start one with npm start, or set AWS_ENDPOINT_URL`);
    process.exit(1);
  }
  if (state.endpoints.dynamodb) env.AWS_ENDPOINT_URL_DYNAMODB = state.endpoints.dynamodb;
  if (state.endpoints.s3) env.AWS_ENDPOINT_URL_S3 = state.endpoints.s3;
  if (state.tablePrefix) env.FLOE_TABLE_PREFIX = state.tablePrefix;
  env.FLOE_BUCKET = state.bucket;
}
try {
  const config = loadConfig(env);
  console.log(JSON.stringify(await runJob(name, createEngine(config, createClients(config)))));
} catch (e) {
  console.error(`floe: ${name} failed: ${(e as Error).message}`);
  process.exit(1);
}
