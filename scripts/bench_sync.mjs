// The sync benchmark (issue 20, "cost that follows the change"; not a timed test): N synthetic indicators in the
// 10 collections of bench/collections-10.json, synced once into a worker in Miniflare, then every 100th indicator
// changed (a later `modified`) and synced again: the wall time of that cycle (pull, build on the worker's
// snapshot, upload, switch, prune) and its phases (TAXII_EDGE_TIMINGS), the blobs and bytes it uploaded; then a
// cycle where nothing changed, and one where another 1% changed; then three cycles of a sync that runs on (no
// --once), each changing another 1%.
// Usage: node scripts/bench_sync.mjs [COUNT]   (default 100000; uses the release CLI: cargo build --release)
// BENCH_ONLY_RUNNING=1 skips the --once cycles and measures only the sync that runs on.
// The worker's R2 is kept on disk. After the first sync, its R2 and the sync's state directory are saved under
// BENCH_OUT/base-COUNT; a later run starts from a copy of them (blobs hard-linked) and measures only the 1% and
// the nothing-changed cycles, so that the cost of the change can be compared at 1,000,000 without uploading
// the whole snapshot again (delete base-COUNT to measure the first sync again).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSyncConfig, syncOnce, startRunningSync } from './sync_bench_kit.mjs';
import { ROOT, startWorker } from '../tests/harness.mjs';

const COUNT = Number(process.argv[2] ?? 100000);
// BENCH_CLI: another build of the CLI to compare with (e.g. one built from an earlier commit).
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'target', 'release', 'taxii-edge');
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'out', 'sync');
mkdirSync(OUT, { recursive: true });
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release --bin taxii-edge`);

const gen = join(OUT, `gen-${COUNT}.jsonl`);
if (!existsSync(gen)) {
  const g = spawnSync(CLI, ['generate', '--count', String(COUNT), '--seed', '1', '--format', 'jsonl', '--now', '2026-01-01T00:00:00Z', '--out', gen]);
  if (g.status !== 0) throw new Error(String(g.stderr));
}
const input = join(OUT, 'feed.jsonl');
writeFileSync(input, readFileSync(gen));
writeFileSync(join(OUT, 'collections.json'), readFileSync(join(ROOT, 'bench', 'collections-10.json')));

const base = join(OUT, `base-${COUNT}`);
const run = join(OUT, `run-${COUNT}`);
const fromBase = existsSync(join(base, 'complete'));
rmSync(run, { recursive: true, force: true });
mkdirSync(run, { recursive: true });
if (fromBase) clone(base, run);
let w = await startWorker({ persist: join(run, 'r2') });
const state = join(run, 'state');
writeSyncConfig(join(OUT, 'sync.toml'), { state: state, url: w.url, input });

function sh(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

/** Copies the worker's R2 and the sync state from one run directory to another: hard links for the immutable
 * blobs, real copies of every file written in place (sqlite, JSON, the pulled sources). */
function clone(from, to) {
  sh(`cp -al ${from}/r2 ${from}/state ${to}/`);
  const writable = `\\( -name '*.sqlite*' -o -name '*.json' -o -name '*.jsonl' -o -name '*.pid' -o -path '*/sources/*' \\)`;
  sh(`find ${to}/r2 ${to}/state -type f ${writable} -exec sh -c 'cp "$1" "$1.x" && mv -f "$1.x" "$1"' _ {} \\;`);
}

function cycle(label) {
  const r = syncOnce(CLI, join(OUT, 'sync.toml'));
  const secs = r.secs;
  if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
  const summary = r.stdout.split('\n').filter((l) => (l.startsWith('sync: ') && !l.includes('source')) || l.startsWith('record cache'));
  const timings = r.stderr.split('\n').filter((l) => l.startsWith('[timing]'));
  console.log(`[bench_sync] ${label}: ${secs.toFixed(1)} s wall; ${summary.join(' / ')}`);
  for (const l of timings) console.log(`    ${l}`);
  return secs;
}

try {
  console.log(`[bench_sync] ${COUNT} indicators, 10 collections, worker in Miniflare at ${w.url}`);
  if (!fromBase) {
    cycle('first sync (everything uploaded)');
    await w.stop();
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
    clone(run, base);
    writeFileSync(join(base, 'complete'), '');
    w = await startWorker({ persist: join(run, 'r2') });
    writeFileSync(join(OUT, 'sync.toml'), readFileSync(join(OUT, 'sync.toml'), 'utf8').replace(/^url = "http[^"]*"$/m, `url = "${w.url}"`));
  }
  if (fromBase && !existsSync(join(state, 'cache'))) {
    // A base saved before sync kept a record cache: fill it as that first sync would have (the same build).
    const r = spawnSync(CLI, ['build', '--config', join(OUT, 'collections.json'), '--input', input, '--out', join(run, 'warm'), '--skip-bad', '--cache', join(state, 'cache')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`warming the record cache: ${r.stderr}`);
    rmSync(join(run, 'warm'), { recursive: true, force: true });
    console.log('[bench_sync] record cache filled as the first sync fills it (the base was saved before sync kept one)');
  }
  // Every 100th indicator gets a later `modified`: 1% changed.
  const lines = readFileSync(gen, 'utf8').split('\n');
  const changed = lines.map((l, i) => (i % 100 === 0 ? l.replace(/"modified":"[^"]*"/, '"modified":"2025-12-31T12:00:00Z"') : l));
  // Another 1%, the first change kept: the record cache now holds the first change's records at its end, as it
  // does in every cycle after the first (a cycle reads the cached records in two runs, not one).
  const again = changed.map((l, i) => (i % 100 === 50 ? l.replace(/"modified":"[^"]*"/, '"modified":"2025-12-31T13:00:00Z"') : l));
  // BENCH_ONLY_RUNNING=1 measures only the sync that runs on (its first cycle then builds on the base).
  if (!process.env.BENCH_ONLY_RUNNING) {
    writeFileSync(input, changed.join('\n'));
    cycle('1% changed');
    cycle('nothing changed');
    writeFileSync(input, again.join('\n'));
    cycle('another 1% changed');
  }
  // A sync that runs on (no --once) keeps each build's prepared records in memory: its first cycle reads the
  // record cache as a --once cycle does, the later ones take the unchanged records from memory. Each cycle
  // changes another 1% (the earlier changes kept); the input is rewritten while the sync waits for its interval.
  const INTERVAL = Number(process.env.BENCH_INTERVAL ?? (COUNT >= 500000 ? 60 : 20));
  writeSyncConfig(join(OUT, 'sync.toml'), { state, url: w.url, input, interval: `${INTERVAL}s` });
  let current = again;
  const change = (k) => {
    const minute = String(14 + k).padStart(2, '0');
    current = current.map((l, i) => (i % 100 === 20 + 10 * k ? l.replace(/"modified":"[^"]*"/, `"modified":"2025-12-31T${minute}:00:00Z"`) : l));
    writeFileSync(input, current.join('\n'));
  };
  change(0);
  const running = startRunningSync(CLI, join(OUT, 'sync.toml'));
  try {
    const labels = ['first cycle (from the record cache)', 'second cycle (kept in memory)', 'third cycle (kept in memory)'];
    for (const [k, label] of labels.entries()) {
      const r = await running.cycle();
      if (r.failed || !r.line.includes('published')) throw new Error(`running sync, ${label}: ${r.line}`);
      console.log(`[bench_sync] running sync, another 1% changed, ${label}: ${r.secs.toFixed(1)} s; ${r.line}`);
      for (const l of r.timings) console.log(`    ${l}`);
      if (k + 1 < labels.length) change(k + 1);
    }
  } finally {
    await running.stop();
  }
} finally {
  await w.stop();
}
