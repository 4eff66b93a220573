// `npm run test:crash -- --rounds 20 [--seed S]`: SIGKILL the local server under load, round after round.
import { parseArgs } from 'node:util';
import { crashLoop } from './crash-loop.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, seed: { type: 'string', default: String(Date.now() % 1_000_000) } } });
const result = await crashLoop({ rounds: Number(values.rounds), seed: Number(values.seed), log: (l) => console.error(l) });
console.log(JSON.stringify({ seed: Number(values.seed), ...result, failures: result.failures.slice(0, 10) }));
if (result.failures.length > 0 || result.passed !== result.rounds) process.exitCode = 1;
