// The prune benchmark (issue 20, "cost that follows the change"; not a timed test): a sync keeps a feed current
// with a cycle every few minutes, and each cycle prunes; every snapshot replaced within the retention window
// (24 h by default) is retained, so after a day of 5-minute cycles a prune walks up to a hundred retained
// snapshots. This runs CYCLES sync cycles over COUNT synthetic indicators in the 10 collections of
// bench/collections-10.json, each changing a different 1% of them (the earlier changes kept), against a worker
// in Miniflare, and prints each cycle's time and prune time beside the number of snapshots it retained: neither
// should grow from cycle to cycle.
// Usage: node scripts/bench_prune.mjs [COUNT] [CYCLES]   (default 100000 and 20; uses the release CLI)
// Each cycle's output, with its phase timings, is kept in bench/out/prune-COUNT/cycle-N.log.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSyncConfig, syncOnce } from './sync_bench_kit.mjs';
import { ROOT, ADMIN_TOKEN, startWorker, rawRequest } from '../tests/harness.mjs';

const COUNT = Number(process.argv[2] ?? 100000);
const CYCLES = Number(process.argv[3] ?? 20);
// BENCH_CLI: another build of the CLI to compare with (e.g. one built from an earlier commit).
const CLI = process.env.BENCH_CLI ?? join(ROOT, 'target', 'release', 'taxii-edge');
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
writeSyncConfig(join(OUT, 'sync.toml'), { state: join(OUT, 'state'), url: w.url, input });

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
      // A different 1% each cycle gets a later `modified`; the earlier changes stay.
      const modified = new Date(Date.UTC(2026, 0, 2) + c * 60000).toISOString().replace('.000Z', 'Z');
      for (let i = c % 100; i < lines.length; i += 100) lines[i] = lines[i].replace(/"modified":"[^"]*"/, `"modified":"${modified}"`);
      writeFileSync(input, lines.join('\n'));
    }
    const r = syncOnce(CLI, join(OUT, 'sync.toml'));
    const secs = r.secs;
    if (r.status !== 0) throw new Error(`cycle ${c}: ${r.stderr}`);
    writeFileSync(join(OUT, `cycle-${c}.log`), r.stdout + r.stderr);
    const prune = /\[timing\] sync prune: ([0-9.]+) s/.exec(r.stderr);
    console.log(`| ${c} | ${await retained()} | ${secs.toFixed(1)} | ${prune ? prune[1] : '-'} |`);
  }
} finally {
  await w.stop();
}
