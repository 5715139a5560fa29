// The sync benchmark (issue 20, "cost that follows the change"; not a timed test): N synthetic indicators in the
// 10 collections of bench/collections-10.json, synced once into a worker in Miniflare, then every 100th indicator
// changed (a later `modified`) and synced again: the wall time of that cycle (pull, build on the worker's
// snapshot, upload, switch, prune) and its phases (TAXII_EDGE_TIMINGS), the blobs and bytes it uploaded; then a
// cycle where nothing changed.
// Usage: node scripts/bench_sync.mjs [COUNT]   (default 100000; uses the release CLI: cargo build --release)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ADMIN_TOKEN, startWorker } from '../tests/harness.mjs';

const COUNT = Number(process.argv[2] ?? 100000);
const CLI = join(ROOT, 'target', 'release', 'taxii-edge');
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

const w = await startWorker();
const state = join(OUT, `state-${Date.now()}`);
writeFileSync(
  join(OUT, 'sync.toml'),
  [
    'collections = "collections.json"',
    `state = ${JSON.stringify(state)}`,
    '[publish]',
    `url = "${w.url}"`,
    'token_env = "BENCH_TOKEN"',
    '[build]',
    'skip_bad = true',
    '[[source]]',
    'type = "url"',
    'name = "bench"',
    `url = ${JSON.stringify(input)}`,
  ].join('\n'),
);

function cycle(label) {
  const t = process.hrtime.bigint();
  const r = spawnSync(CLI, ['sync', '--config', join(OUT, 'sync.toml'), '--once'], {
    env: { ...process.env, BENCH_TOKEN: ADMIN_TOKEN, TAXII_EDGE_TIMINGS: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
  const summary = r.stdout.split('\n').filter((l) => l.startsWith('sync: ') && !l.includes('source'));
  const timings = r.stderr.split('\n').filter((l) => l.startsWith('[timing]'));
  console.log(`[bench_sync] ${label}: ${secs.toFixed(1)} s wall; ${summary.join(' / ')}`);
  for (const l of timings) console.log(`    ${l}`);
  return secs;
}

try {
  console.log(`[bench_sync] ${COUNT} indicators, 10 collections, worker in Miniflare at ${w.url}`);
  cycle('first sync (everything uploaded)');
  // Every 100th indicator gets a later `modified`: 1% changed.
  const lines = readFileSync(gen, 'utf8').split('\n');
  const changed = lines.map((l, i) => (i % 100 === 0 ? l.replace(/"modified":"[^"]*"/, '"modified":"2025-12-31T12:00:00Z"') : l));
  writeFileSync(input, changed.join('\n'));
  cycle('1% changed');
  cycle('nothing changed');
} finally {
  await w.stop();
}
