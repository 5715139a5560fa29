// The browser tests' view of the shared harness (tests/harness.mjs): the worker runs under `wrangler dev`, which
// serves the console's static files from www/ as a deployment does.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, CLI, ADMIN_TOKEN, buildSnapshot, tempDir, startWorker as start } from '../harness.mjs';

export { ROOT, CLI, ADMIN_TOKEN, buildSnapshot, tempDir };

/** Builds the worker and the CLI (npm test has done it already; then this takes a second). */
export function buildAll() {
  if (process.env.TAXII_EDGE_NO_BUILD === '1') return;
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-worker.sh')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the worker build failed');
}

/** `wrangler dev` with fresh storage; `vars` and `secrets` add to wrangler.toml's [vars], a null value removes one. */
export function startWorker({ snapshot, vars = {}, secrets = {} } = {}) {
  return start({ snapshot, vars, secrets, wrangler: true });
}
