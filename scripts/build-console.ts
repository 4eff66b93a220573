// Writes the console's files to a folder: `node --import tsx scripts/build-console.ts <dir>`. The stack
// runs it after bundling the admin function with -c console=true (infra/floe.ts), so that the function's
// code holds `console/` beside index.mjs.
import { resolve } from 'node:path';
import { writeConsole } from '../src/console/build.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: build-console.ts <output folder>');
  process.exit(2);
}
const files = await writeConsole(resolve(dir));
console.log(`console: ${files.join(', ')} in ${resolve(dir)}`);
