// What the sync benchmarks (bench_sync.mjs, bench_prune.mjs) share: the sync configuration they run (one file
// source, the bench collections, skip_bad), one timed `sync --once` with its phase timings, and a sync that runs on.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { ADMIN_TOKEN } from '../tests/harness.mjs';

/** Writes the sync configuration `path`: the file `input` as the one source, published to `url` (every
 * `interval` when it runs on). */
export function writeSyncConfig(path, { state, url, input, interval = '5m' }) {
  writeFileSync(
    path,
    [
      `interval = "${interval}"`,
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

/**
 * Starts `cli sync --config config` (no --once: it runs on, keeping each build's prepared records in memory)
 * with phase timings. `cycle()` waits for the next cycle to end and gives its outcome line, its wall time as the
 * sync reports it, and the timing lines it printed; `stop()` sends SIGTERM and waits for the exit.
 */
export function startRunningSync(cli, config) {
  const child = spawn(cli, ['sync', '--config', config], {
    env: { ...process.env, BENCH_TOKEN: ADMIN_TOKEN, TAXII_EDGE_TIMINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let timings = [];
  const waiting = [];
  const done = [];
  const lines = (stream, each) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      parts.forEach(each);
    });
  };
  lines(child.stderr, (l) => {
    if (l.startsWith('[timing]')) timings.push(l);
    else if (l.startsWith('error: sync:')) finish({ line: l, secs: NaN, timings, failed: true });
  });
  lines(child.stdout, (l) => {
    if (l.startsWith('record cache')) timings.push(l);
    const m = /^sync: (?:published .* in |nothing changed, .* \()([\d.]+) s/.exec(l);
    // The cycle's last timing lines (stderr) may be read just after its outcome (stdout).
    if (m) setTimeout(() => finish({ line: l, secs: Number(m[1]), timings, failed: false }), 300);
  });
  function finish(result) {
    timings = [];
    const w = waiting.shift();
    if (w) w(result);
    else done.push(result);
  }
  const exited = new Promise((res) => child.on('exit', res));
  return {
    cycle: () => (done.length ? Promise.resolve(done.shift()) : new Promise((res) => waiting.push(res))),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
