// The benchmark suite (`npm run bench`): build scale, native rendering, the worker in workerd at 10k/100k/1M
// objects, a full export with taxii2-client against taxii-edge and medallion 3.0.0, and load with wrk.
// Figures go to bench/out/results.json and a summary on stdout; docs/BENCHMARKS.md explains them.
//
//   node scripts/bench.mjs                 # every stage (several minutes; needs ~15 GB of disk in bench/out)
//   node scripts/bench.mjs render worker   # only some stages: build render worker export load wrangler
//   BENCH_SIZES=10000,100000 node scripts/bench.mjs worker
//
// Uses the release CLI (target/release/taxii-edge or $CARGO_TARGET_DIR), the built worker (build/), Miniflare
// on 127.0.0.1 ports 8795-8798, medallion on 8799, wrk when installed (else a node load loop).

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { ROOT, ADMIN_TOKEN, startWorker } from '../tests/harness.mjs';

const OUT = join(ROOT, 'bench', 'out');
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');
const CLI = join(TARGET, 'release', 'taxii-edge');
const NOW = '2026-01-01T00:00:00Z';
const NOW_US = Date.UTC(2026, 0, 1) * 1000;
const V21 = 'application/taxii+json;version=2.1';
const PY = join(OUT, 'venv-medallion', 'bin', 'python');
const stages = process.argv.slice(2);
const want = (s) => stages.length === 0 || stages.includes(s);
const sizes = (process.env.BENCH_SIZES || '10000,100000,1000000').split(',').map(Number);
const results = existsSync(join(OUT, 'results.json')) ? JSON.parse(readFileSync(join(OUT, 'results.json'), 'utf8')) : {};
mkdirSync(OUT, { recursive: true });

const log = (...a) => console.log('[bench]', ...a);
function save() {
  results.machine = machine();
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
}
function machine() {
  const git = (a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1];
  return { date: new Date().toISOString(), commit: git(['rev-parse', '--short', 'HEAD']), cpu, cores: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm).length };
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout?.slice(-4000)}\n${r.stderr?.slice(-4000)}`);
  return r;
}
/** Runs under /usr/bin/time -v: returns wall seconds, peak RSS MB, user/sys seconds, and the output. */
function timed(cmd, args, env = {}) {
  const r = run('/usr/bin/time', ['-v', cmd, ...args], { env: { ...process.env, ...env } });
  const f = (re) => r.stderr.match(re)?.[1];
  const [m, s] = f(/Elapsed \(wall clock\) time.*: (.*)/).split(':').slice(-2);
  return {
    wall_s: Number(m) * 60 + Number(s),
    peak_rss_mb: Math.round(Number(f(/Maximum resident set size \(kbytes\): (\d+)/)) / 1024),
    user_s: Number(f(/User time \(seconds\): ([\d.]+)/)),
    sys_s: Number(f(/System time \(seconds\): ([\d.]+)/)),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}
function dirBlobs(dir) {
  const out = new Map();
  const root = join(dir, 'blobs');
  for (const kind of readdirSync(root)) for (const f of readdirSync(join(root, kind))) out.set(`${kind}/${f}`, statSync(join(root, kind, f)).size);
  return out;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const stats = (xs) => ({ n: xs.length, p50_ms: +pct(xs, 50).toFixed(2), p99_ms: +pct(xs, 99).toFixed(2), max_ms: +Math.max(...xs).toFixed(2) });

/** `n` IP indicators as JSON lines (the harness's ipIndicators shape), streamed; `changed` bumps every 100th. */
async function writeIps(file, n, { changed = false } = {}) {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
    const m = changed && i % 100 === 0 ? new Date(Date.UTC(2025, 11, 1) + i).toISOString() : t;
    const line = `{"value":"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}","indicator_type":"IP","score":${i % 4},"timestamp":"${t}","modified":"${m}"}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function buildIps(name, input, previous) {
  const config = join(OUT, 'ip-collection.json');
  writeFileSync(config, JSON.stringify({ IPs: 'type:IP' }));
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  const args = ['build', '--config', config, '--input', input, '--out', dir, '--now', NOW];
  if (previous) args.push('--previous', previous);
  const t = timed(CLI, args);
  const collection = t.stdout.match(/^([0-9a-f-]{36})\s+IPs/m)[1];
  return { dir, collection, build: { wall_s: t.wall_s, peak_rss_mb: t.peak_rss_mb } };
}

/** Miniflare running the built worker (the tests' harness), its R2 persisted in `state` so a restart finds the
 * published snapshot. */
function miniflare(state, port) {
  return startWorker({ persist: state, port });
}

function publish(url, dir) {
  const t0 = performance.now();
  const r = run(CLI, ['publish', dir, '--url', url, '--token', ADMIN_TOKEN]);
  // "N of M blobs uploaded (12.3 MiB)": the CLI prints bytes for people (bytes, KiB, MiB, GiB).
  const m = r.stdout.match(/(\d+) of (\d+) blobs uploaded \(([\d.]+) (bytes|KiB|MiB|GiB)\)/);
  if (!m) throw new Error(`publish printed no upload summary:\n${r.stdout}`);
  const unit = { bytes: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[4]];
  return { seconds: (performance.now() - t0) / 1000, uploaded: +m[1], blobs: +m[2], bytes: Math.round(+m[3] * unit) };
}

async function fetchPage(url, headers = {}) {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { accept: V21, ...headers } });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200 && res.status !== 304) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, res, body };
}

async function series(n, f) {
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await f(i));
  return xs;
}

// ---------------------------------------------------------------------------------------------------------------

async function stageBuild() {
  log('build: 1,000,000 generated indicators into 10 collections');
  const gen = join(OUT, 'gen-1m.jsonl');
  const g = timed(CLI, ['generate', '--count', '1000000', '--seed', '1', '--format', 'jsonl', '--now', NOW, '--out', gen]);
  const snap = join(OUT, 'snap-1m');
  rmSync(snap, { recursive: true, force: true });
  const config = join(ROOT, 'bench', 'collections-10.json');
  const b = timed(CLI, ['build', '--config', config, '--input', gen, '--out', snap, '--now', NOW, '--skip-bad'], { TAXII_EDGE_TIMINGS: '1' });
  const counts = [...b.stdout.matchAll(/^[0-9a-f-]{36}\s+(.+?)\s+(\d+)\s/gm)].map((m) => ({ name: m[1].trim(), objects: +m[2] }));
  const profile = b.stderr.split('\n').filter((l) => l.startsWith('[timing]'));
  const skipped = +b.stdout.match(/(\d+) skipped/)[1];
  // 1% changed: every 100th indicator gets a later `modified` (a new object version), rebuilt with --previous.
  const gen2 = join(OUT, 'gen-1m-changed.jsonl');
  const lines = readFileSync(gen, 'utf8').split('\n');
  let changed = 0;
  for (let i = 0; i < lines.length; i += 100) {
    if (!lines[i]) continue;
    lines[i] = lines[i].replace(/"modified":"[^"]*"/, '"modified":"2025-12-31T12:00:00Z"');
    changed++;
  }
  writeFileSync(gen2, lines.join('\n'));
  const snap2 = join(OUT, 'snap-1m-changed');
  rmSync(snap2, { recursive: true, force: true });
  const b2 = timed(CLI, ['build', '--config', config, '--input', gen2, '--out', snap2, '--now', '2026-01-02T00:00:00Z', '--skip-bad', '--previous', snap]);
  const before = dirBlobs(snap);
  const after = dirBlobs(snap2);
  let newBlobs = 0;
  let newBytes = 0;
  let total = 0;
  for (const [k, size] of after) {
    total += size;
    if (!before.has(k)) (newBlobs++, (newBytes += size));
  }
  results.build = {
    indicators: 1_000_000,
    generate: { wall_s: g.wall_s, peak_rss_mb: g.peak_rss_mb },
    build: { wall_s: b.wall_s, peak_rss_mb: b.peak_rss_mb, user_s: b.user_s, sys_s: b.sys_s, skipped_unmapped: skipped },
    collections: counts,
    profile,
    snapshot_bytes: total,
    rebuild_1pct: {
      changed_indicators: changed,
      wall_s: b2.wall_s,
      peak_rss_mb: b2.peak_rss_mb,
      blobs: after.size,
      new_blobs: newBlobs,
      new_bytes: newBytes,
      total_bytes: total,
      upload_ratio: +(newBytes / total).toFixed(4),
    },
  };
  save();
  log('build:', JSON.stringify({ ...results.build, profile: undefined }));
  // The big snapshots are not needed again.
  rmSync(snap2, { recursive: true, force: true });
  rmSync(gen2, { force: true });
}

function stageRender() {
  log('render: decode + envelope vs serde_json (release example)');
  run('cargo', ['build', '--quiet', '--release', '-p', 'edge-feed', '--example', 'bench_render']);
  const r = run(join(TARGET, 'release', 'examples', 'bench_render'), ['20000', '300']);
  console.log(r.stdout);
  results.render = JSON.parse(r.stdout.match(/^BENCH_RENDER (.*)$/m)[1]);
  save();
}

/** workerd's resident memory (MB) for the Miniflare instances this process started: the isolate's memory plus the
 * runtime's own, a proxy for what the isolate uses. */
function workerdRssMb() {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,rss=,comm='], { encoding: 'utf8' });
  const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
  const mine = new Set([String(process.pid)]);
  // Descendants of this process (Miniflare may start workerd through a helper).
  for (let changed = true; changed; ) {
    changed = false;
    for (const [pid, ppid] of rows) if (mine.has(ppid) && !mine.has(pid)) (mine.add(pid), (changed = true));
  }
  const kb = rows.filter(([pid, , , comm]) => pid !== String(process.pid) && mine.has(pid) && /workerd/.test(comm ?? '')).reduce((a, r) => a + Number(r[2]), 0);
  return Math.round(kb / 1024);
}

/** A series of page requests that also counts how many the edge cache answered, and where the worker says the
 * time went: the mean of each part of its Server-Timing header (whole milliseconds per request, so the mean). */
async function pageSeries(n, url, headers = {}) {
  let hits = 0;
  const parts = {};
  const xs = await series(n, async (i) => {
    const p = await fetchPage(typeof url === 'function' ? url(i) : url, headers);
    if (p.res.headers.get('x-taxii-edge-cache') === 'HIT') hits++;
    for (const [, part, ms] of (p.res.headers.get('server-timing') ?? '').matchAll(/([a-z]+);dur=([\d.]+)/g)) {
      parts[part] = (parts[part] ?? 0) + Number(ms);
    }
    return p.ms;
  });
  const timing = Object.fromEntries(Object.entries(parts).map(([part, ms]) => [part, +(ms / n).toFixed(2)]));
  return { ...stats(xs), edge_hits: hits, server_timing_mean_ms: timing };
}

async function stageWorker() {
  results.worker = results.worker || {};
  for (const [k, n] of sizes.entries()) {
    log(`worker: ${n} objects`);
    const input = join(OUT, `ips-${n}.jsonl`);
    await writeIps(input, n);
    const built = buildIps(`snap-ip-${n}`, input);
    const state = join(OUT, `r2-${n}`);
    rmSync(state, { recursive: true, force: true });
    const port = 8795 + (k % 3);
    let w = await miniflare(state, port);
    const pub = publish(w.url, built.dir);
    const r = { objects: n, build: built.build, publish: pub };
    if (n >= 100000) {
      // Re-publish after 1% of the indicators changed (rebuilt with --previous): what the upload costs.
      const input2 = join(OUT, `ips-${n}-changed.jsonl`);
      await writeIps(input2, n, { changed: true });
      const b2 = buildIps(`snap-ip-${n}-changed`, input2, built.dir);
      const pub2 = publish(w.url, b2.dir);
      const total = [...dirBlobs(b2.dir).values()].reduce((a, b) => a + b, 0);
      r.republish_1pct = { ...pub2, total_bytes: total, byte_ratio: +(pub2.bytes / total).toFixed(4) };
      rmSync(input2, { force: true });
      rmSync(b2.dir, { recursive: true, force: true });
    }
    const base = `${w.url}/threatintel/collections/${built.collection}/objects/?limit=1000`;
    // The first build's records are one millisecond apart and end at its build time (crates/feed/src/build/dates.rs):
    // record k of n was added at NOW - (n - 1 - k) ms.
    const seek = (frac) => {
      const us = NOW_US - (n - 1 - Math.floor(frac * n)) * 1000;
      const iso = new Date(Math.floor(us / 1000)).toISOString().replace('Z', '') + String(us % 1000).padStart(3, '0') + 'Z';
      return `${base}&added_after=${encodeURIComponent(iso)}`;
    };
    // Cold: the first request after a (re)start of workerd, five restarts (the edge cache starts empty too).
    const cold = [];
    for (let i = 0; i < 5; i++) {
      await w.stop();
      w = await miniflare(state, port);
      cold.push((await fetchPage(base)).ms);
    }
    const rssIdle = workerdRssMb();
    // A deep page: follow `next` to the middle of the collection (every page a first visit: edge MISS).
    const pages = Math.ceil(n / 1000);
    let next;
    let url = base;
    const walk0 = performance.now();
    for (let p = 0; p < Math.floor(pages / 2); p++) {
      const { body } = await fetchPage(url);
      next = JSON.parse(body).next;
      url = `${base}&next=${encodeURIComponent(next)}`;
    }
    const walkMs = performance.now() - walk0;
    const deepUrl = url;
    // With the edge cache (Workers Cache API): repeated URLs are HITs; a new URL is a MISS (rendered and put).
    await fetchPage(deepUrl);
    const cached = {
      first_page_hit: await pageSeries(200, base),
      deep_page_hit: await pageSeries(200, deepUrl),
      if_none_match_304_hit: await pageSeries(200, base, { 'if-none-match': (await fetchPage(base)).res.headers.get('etag') }),
      // An ignored parameter makes each URL new: the isolate is warm, the edge cache misses and stores.
      first_page_miss: await pageSeries(200, (i) => `${base}&bench=${i}`),
      // For attribution: discovery reads nothing from R2 (a HIT); /api/status reads the pointer and the manifest
      // from the isolate (never cached).
      discovery_hit: await pageSeries(200, `${w.url}/taxii2/`),
      status_no_cache: await pageSeries(200, `${w.url}/api/status`),
    };
    const rssCached = workerdRssMb();
    // Without the edge cache (Miniflare's Cache API off, as on a workers.dev hostname): the isolate's own caches only.
    await w.stop();
    w = await startWorker({ persist: state, port, cache: false });
    await fetchPage(base);
    const seekUrl = seek(0.75);
    const seekRes = await fetchPage(seekUrl);
    const seekCount = JSON.parse(seekRes.body).objects.length;
    const uncachedEdge = {
      first_page: await pageSeries(200, base),
      deep_page: { ...(await pageSeries(200, deepUrl)), page: Math.floor(pages / 2) + 1 },
      added_after_seek: { ...(await pageSeries(200, seekUrl)), objects: seekCount },
      if_none_match_304: await pageSeries(200, base, { 'if-none-match': (await fetchPage(base)).res.headers.get('etag') }),
    };
    // Segments not in the isolate's cache: each request seeks to a different segment (more than it keeps).
    const segs = Math.max(1, Math.floor(n / 1000) - 1);
    uncachedEdge.segment_uncached = await pageSeries(Math.min(100, segs), (i) => seek(((i * 37) % segs) / (n / 1000)));
    const rssNoCache = workerdRssMb();
    // Every body is read: an unread one keeps its socket, and undici ends it with an error minutes later (in the
    // middle of the next size's build).
    const wasmMemory = async () => {
      // Only the admin token (or a signed-in user) is told the isolate's memory.
      const res = await fetch(`${w.url}/admin/current`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await res.arrayBuffer();
      return Math.round(Number(res.headers.get('x-taxii-edge-wasm-memory')) / 1048576);
    };
    r.latency = {
      cold_first_page: stats(cold),
      walk_next_ms_per_page: +(walkMs / Math.max(1, Math.floor(pages / 2))).toFixed(2),
      with_edge_cache: cached,
      without_edge_cache: uncachedEdge,
      page_bytes: Buffer.byteLength((await fetchPage(base)).body),
    };
    r.workerd_rss_mb = { after_cold_start: rssIdle, after_cached_series: rssCached, after_uncached_segments: rssNoCache };
    // The isolate's own wasm memory after every series above (a high-water mark): the part that grows with data.
    r.wasm_memory_mb = await wasmMemory();
    results.worker[n] = r;
    save();
    log(`worker ${n}:`, JSON.stringify(r));
    if (n === 100000 && want('load')) {
      results.load = { without_edge_cache: await stageLoad(w.url, base, deepUrl) };
      await w.stop();
      w = await startWorker({ persist: state, port, cache: true });
      await fetchPage(base);
      await fetchPage(deepUrl);
      results.load.with_edge_cache = await stageLoad(w.url, base, deepUrl);
      save();
    }
    await w.stop();
    rmSync(state, { recursive: true, force: true });
    rmSync(built.dir, { recursive: true, force: true });
    rmSync(input, { force: true });
  }
}

async function stageLoad(url, base, deepUrl) {
  const have = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  const targets = { discovery: `${url}/taxii2/`, first_page_1000: base, deep_page_1000: deepUrl };
  const out = {};
  for (const [name, target] of Object.entries(targets)) {
    if (have.error) {
      out[name] = await nodeLoad(target, 8, 10000);
    } else {
      const r = run('wrk', ['-t2', '-c16', '-d10s', '--latency', '-H', `Accept: ${V21}`, target]);
      const rps = +r.stdout.match(/Requests\/sec:\s*([\d.]+)/)[1];
      const non2xx = +(r.stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
      const sockErr = r.stdout.match(/Socket errors: (.*)/)?.[1] ?? 'none';
      const p50 = r.stdout.match(/^\s+50%\s+(\S+)/m)?.[1];
      const p99 = r.stdout.match(/^\s+99%\s+(\S+)/m)?.[1];
      const total = +r.stdout.match(/(\d+) requests in/)[1];
      out[name] = { tool: 'wrk -t2 -c16 -d10s', requests: total, rps, non2xx, socket_errors: sockErr, p50, p99 };
    }
    log('load', name, JSON.stringify(out[name]));
  }
  return out;
}

/** A bounded load loop when wrk is missing: `conc` workers, `total` requests. */
async function nodeLoad(url, conc, total) {
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (done < total) {
        done++;
        const res = await fetch(url, { headers: { accept: V21 } }).catch(() => null);
        if (!res || res.status !== 200) errors++;
        await res?.arrayBuffer();
      }
    }),
  );
  return { tool: `node fetch x${conc}`, requests: total, rps: +(total / ((performance.now() - t0) / 1000)).toFixed(0), errors };
}

async function stageExport() {
  log('export: taxii2-client, taxii-edge vs medallion 3.0.0');
  if (!existsSync(PY)) {
    run('python3', ['-m', 'venv', join(OUT, 'venv-medallion')]);
    run(join(OUT, 'venv-medallion', 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', 'medallion==3.0.0', 'taxii2-client==2.3.0']);
  }
  const py = (args, opts) => JSON.parse(run(PY, [join(ROOT, 'scripts', 'bench_export.py'), ...args], opts).stdout.trim().split('\n').pop());
  results.export = {};
  const medSizes = (process.env.BENCH_MEDALLION_SIZES || '1000,4000').split(',').map(Number);
  for (const n of [...medSizes, 100000]) {
    const input = join(OUT, `ips-x${n}.jsonl`);
    await writeIps(input, n);
    const built = buildIps(`snap-x${n}`, input);
    let w = await miniflare(join(OUT, `r2-x${n}`), 8798);
    publish(w.url, built.dir);
    let colUrl = `${w.url}/threatintel/collections/${built.collection}/`;
    const median = (f) => [f(), f(), f()].sort((a, b) => a.seconds - b.seconds)[1];
    // With the edge cache: the first export renders every page (MISS), the next ones are answered from the cache.
    const firstExport = py(['export', colUrl]);
    const cachedExport = median(() => py(['export', colUrl]));
    // Without it (the Cache API off): every page rendered by a warm isolate.
    await w.stop();
    w = await startWorker({ persist: join(OUT, `r2-x${n}`), port: 8798, cache: false });
    colUrl = `${w.url}/threatintel/collections/${built.collection}/`;
    py(['export', colUrl]); // warm-up (the isolate's metadata)
    const ours = median(() => py(['export', colUrl]));
    const r = { objects: n, taxii_edge: ours, taxii_edge_first_export_edge_miss: firstExport, taxii_edge_edge_cached: cachedExport };
    if (medSizes.includes(n)) {
      const data = join(OUT, `medallion-${n}.json`);
      const config = join(OUT, `medallion-${n}-config.json`);
      py(['medallion-data', colUrl, data, config, '8799']);
      const med = spawn(join(OUT, 'venv-medallion', 'bin', 'medallion'), ['--port', '8799', config], { stdio: 'ignore', detached: true });
      try {
        for (let i = 0; i < 100; i++) {
          const ok = await fetch('http://127.0.0.1:8799/taxii2/', { headers: { accept: V21, authorization: 'Basic ' + Buffer.from('bench:bench').toString('base64') } }).then(async (x) => (await x.arrayBuffer(), x.ok), () => false);
          if (ok) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        const m = py(['export', `http://127.0.0.1:8799/api1/collections/${built.collection}/`, '--user', 'bench', '--password', 'bench'], { timeout: 900000 });
        r.medallion = m;
        r.ratio = +(m.seconds / ours.seconds).toFixed(0);
        r.ratio_edge_cached = +(m.seconds / cachedExport.seconds).toFixed(0);
      } finally {
        try { process.kill(-med.pid, 'SIGTERM'); } catch {}
      }
    }
    results.export[n] = r;
    save();
    log('export', JSON.stringify(r));
    await w.stop();
    rmSync(join(OUT, `r2-x${n}`), { recursive: true, force: true });
    rmSync(built.dir, { recursive: true, force: true });
    rmSync(input, { force: true });
  }
}

async function stageWrangler() {
  log('wrangler dev: 100,000 objects, warm first page');
  const input = join(OUT, 'ips-w100000.jsonl');
  await writeIps(input, 100000);
  const built = buildIps('snap-w100000', input);
  const w = await startWorker({ wrangler: true });
  try {
    const pub = publish(w.url, built.dir);
    const base = `${w.url}/threatintel/collections/${built.collection}/objects/?limit=1000`;
    const cold = (await fetchPage(base)).ms;
    // wrangler dev's proxy now and then closes a connection: count those and go on.
    let errors = 0;
    const warm = (await series(200, async () => (await fetchPage(base).catch(() => (errors++, null)))?.ms)).filter((x) => x !== undefined);
    results.wrangler = { objects: 100000, publish: pub, first_request_ms: +cold.toFixed(2), warm_first_page: stats(warm), connection_errors: errors };
    save();
    log('wrangler', JSON.stringify(results.wrangler));
  } finally {
    await w.stop();
    rmSync(built.dir, { recursive: true, force: true });
    rmSync(input, { force: true });
  }
}

if (!existsSync(CLI)) run('cargo', ['build', '--quiet', '--release', '--bin', 'taxii-edge']);
if (!existsSync(join(ROOT, 'build', 'index.js'))) run('bash', ['scripts/build-worker.sh']);
if (want('build')) await stageBuild();
if (want('render')) stageRender();
if (want('worker') || want('load')) await stageWorker();
if (want('export')) await stageExport();
if (want('wrangler')) await stageWrangler();
log(`results in ${join(OUT, 'results.json')}`);
