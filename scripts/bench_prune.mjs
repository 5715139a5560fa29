// The prune benchmark (issue 20, "cost that follows the change"; not a timed test): a sync keeps a feed current
// with a cycle every few minutes, and each cycle prunes; every snapshot replaced within the retention window
// (24 h by default) is retained, so after a day of 5-minute cycles a prune walks up to a hundred retained
// snapshots. This runs CYCLES sync cycles over COUNT synthetic indicators in the 10 collections of
// bench/collections-10.json, each changing a different 1% of them, against a worker in Miniflare, and prints
// each cycle's prune time beside the number of snapshots it retained.
// Usage: node scripts/bench_prune.mjs [COUNT] [CYCLES]   (default 100000 and 20; uses the release CLI)
// Each cycle's output, with its phase timings, is kept in bench/out/prune-COUNT/cycle-N.log.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ADMIN_TOKEN, startWorker, rawRequest } from '../tests/harness.mjs';

const COUNT = Number(process.argv[2] ?? 100000);
const CYCLES = Number(process.argv[3] ?? 20);
const CLI = join(ROOT, 'target', 'release', 'taxii-edge');
const OUT = join(process.env.BENCH_OUT ?? join(ROOT, 'bench', 'out'), `prune-${COUNT}`);
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release --bin taxii-edge`);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const gen = join(OUT, 'gen.jsonl');
const g = spawnSync(CLI, ['generate', '--count', String(COUNT), '--seed', '1', '--format', 'jsonl', '--now', '2026-01-01T00:00:00Z', '--out', gen]);
if (g.status !== 0) throw new Error(String(g.stderr));
const lines = readFileSync(gen, 'utf8').split('\n');
const input = join(OUT, 'feed.jsonl');
writeFileSync(input, lines.join('\n'));
writeFileSync(join(OUT, 'collections.json'), readFileSync(join(ROOT, 'bench', 'collections-10.json')));

const w = await startWorker({ persist: join(OUT, 'r2') });
writeFileSync(
  join(OUT, 'sync.toml'),
  [
    'collections = "collections.json"',
    `state = ${JSON.stringify(join(OUT, 'state'))}`,
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

async function retained() {
  let r;
  // Miniflare now and then drops a connection: ask again.
  for (let attempt = 0; attempt < 3 && !(r?.status > 0); attempt++) {
    r = await rawRequest(w.url, { path: '/admin/current', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  }
  if (r.status !== 200) throw new Error(`/admin/current: ${r.status} ${r.error ?? r.text}`);
  return 1 + (r.json.history ?? []).length;
}

try {
  console.log(`[bench_prune] ${COUNT} indicators, 10 collections, ${CYCLES} cycles, worker in Miniflare at ${w.url}`);
  console.log('| cycle | snapshots retained | cycle (s) | prune (s) |');
  console.log('|---:|---:|---:|---:|');
  for (let c = 0; c <= CYCLES; c++) {
    if (c > 0) {
      // A different 1% each cycle, each with a later `modified`.
      const modified = new Date(Date.UTC(2026, 0, 2) + c * 60000).toISOString().replace('.000Z', 'Z');
      const changed = lines.map((l, i) => (i % 100 === c % 100 ? l.replace(/"modified":"[^"]*"/, `"modified":"${modified}"`) : l));
      writeFileSync(input, changed.join('\n'));
    }
    const t = process.hrtime.bigint();
    const r = spawnSync(CLI, ['sync', '--config', join(OUT, 'sync.toml'), '--once'], {
      env: { ...process.env, BENCH_TOKEN: ADMIN_TOKEN, TAXII_EDGE_TIMINGS: '1' },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.status !== 0) throw new Error(`cycle ${c}: ${r.stderr}`);
    writeFileSync(join(OUT, `cycle-${c}.log`), r.stdout + r.stderr);
    const prune = /\[timing\] sync prune: ([0-9.]+) s/.exec(r.stderr);
    console.log(`| ${c} | ${await retained()} | ${secs.toFixed(1)} | ${prune ? prune[1] : '-'} |`);
  }
} finally {
  await w.stop();
}
