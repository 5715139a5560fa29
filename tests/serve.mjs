// Serves a snapshot with the built worker for out-of-process tests (Python interop): prints the line
// `TAXII_EDGE_READY {"url": …}` when ready, and stops when its standard input closes.
//   node tests/serve.mjs SNAPSHOT_DIR [--vars JSON]

import { startWorker } from './harness.mjs';

const [snapshot, flag, varsJson] = process.argv.slice(2);
const vars = flag === '--vars' ? JSON.parse(varsJson) : {};
const w = await startWorker({ snapshot, vars });
process.stdout.write('TAXII_EDGE_READY ' + JSON.stringify({ url: w.url }) + '\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await w.stop();
  process.exit(0);
});
