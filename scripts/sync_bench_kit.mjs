// What the sync benchmarks (bench_sync.mjs, bench_prune.mjs) share: the sync configuration they run (one file
// source, the bench collections, skip_bad) and one timed `sync --once` with its phase timings.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { ADMIN_TOKEN } from '../tests/harness.mjs';

/** Writes the sync configuration `path`: the file `input` as the one source, published to `url`. */
export function writeSyncConfig(path, { state, url, input }) {
  writeFileSync(
    path,
    [
      'collections = "collections.json"',
      `state = ${JSON.stringify(state)}`,
      '[publish]',
      `url = "${url}"`,
      'token_env = "BENCH_TOKEN"',
      '[build]',
      'skip_bad = true',
      '[[source]]',
      'type = "url"',
      'name = "bench"',
      `url = ${JSON.stringify(input)}`,
    ].join('\n'),
  );
}

/** Runs `cli sync --config config --once` with phase timings; its wall time in seconds and its output. */
export function syncOnce(cli, config) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cli, ['sync', '--config', config, '--once'], {
    env: { ...process.env, BENCH_TOKEN: ADMIN_TOKEN, TAXII_EDGE_TIMINGS: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { secs: Number(process.hrtime.bigint() - t) / 1e9, status: r.status, stdout: r.stdout, stderr: r.stderr };
}
