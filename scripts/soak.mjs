// The soak (`npm run soak`, not part of `npm test`): the real worker in workerd (Miniflare) on 127.0.0.1 under
// concurrent readers over every endpoint, TAXII 2.1 and 2.0 (pages by next, added_after, by id, manifest, versions,
// match[type], Range), while a new snapshot is built and published with the real CLI every ~30 s. Every object
// read is checked against the snapshot the response names (X-TAXII-Edge-Snapshot): the expected objects of every
// built snapshot are read from its segments on disk and kept in memory. Fails on any 5xx, any wrong, missing or
// duplicated object, or a page walk that is not the whole collection; prints latency percentiles per endpoint.
//
//   npm run soak                                   # 5 minutes, 8 readers
//   SOAK_MINUTES=1 SOAK_READERS=4 node scripts/soak.mjs
//   SOAK_PORT=8840 SOAK_PUBLISH_S=30 SOAK_IPS=3000 SOAK_DOMAINS=400
//   SOAK_SABOTAGE=1 SOAK_MINUTES=0.3 node scripts/soak.mjs   # checks the checker: expects one object wrong, must fail
//
// Needs the built worker (npm run build) and the debug CLI (target/debug/taxii-edge, built with it). Writes the
// figures to bench/out/soak.json.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, CLI, ADMIN_TOKEN, startWorker, tempDir } from '../tests/harness.mjs';

const MINUTES = Number(process.env.SOAK_MINUTES || 5);
const READERS = Number(process.env.SOAK_READERS || 8);
const PUBLISH_S = Number(process.env.SOAK_PUBLISH_S || 30);
const PORT = Number(process.env.SOAK_PORT || 8840);
const IPS = Number(process.env.SOAK_IPS || 3000);
const DOMAINS = Number(process.env.SOAK_DOMAINS || 400);
const SABOTAGE = process.env.SOAK_SABOTAGE === '1';
const T21 = 'application/taxii+json;version=2.1';
const T20 = 'application/vnd.oasis.taxii+json; version=2.0';
const S20 = 'application/vnd.oasis.stix+json; version=2.0';
const SNAPSHOT = 'x-taxii-edge-snapshot';
const log = (...a) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------------------------------------------------------
// Snapshots: built with the CLI, their expected objects read back from the segments they hold.

/** snapshot id → { collections: Map(collection id → expected) } */
const expected = new Map();
let latest; // the newest snapshot id registered
const work = tempDir('taxii-edge-soak-');

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

/** Generation g's indicators: a window of IPs that moves by 50 each time, some of them modified, and domains. */
function indicators(g) {
  const out = [];
  for (let i = g * 50; i < g * 50 + IPS; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
    const m = i % 97 === g % 97 ? new Date(Date.UTC(2025, 6, 1) + g * 60000 + i).toISOString() : t;
    out.push({ value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, indicator_type: 'IP', score: i % 4, timestamp: t, modified: m });
  }
  for (let i = 0; i < DOMAINS; i++) {
    const t = new Date(Date.UTC(2025, 1, 1) + i * 1000).toISOString();
    const m = i % 41 === g % 41 ? new Date(Date.UTC(2025, 7, 1) + g * 60000 + i).toISOString() : t;
    out.push({ value: `d${i}.soak.example`, indicator_type: 'Domain', score: 3, timestamp: t, modified: m });
  }
  return out;
}

const micros = (d) => `${new Date(Math.floor(d / 1000)).toISOString().slice(0, 19)}.${String(d % 1e6).padStart(6, '0')}Z`;

/** Reads a snapshot directory: per collection, its records in date_added order with their 2.1 and 2.0 bodies. */
function readSnapshot(dir) {
  const blob = (key) => readFileSync(join(dir, 'blobs', key));
  const root = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
  const manifest = JSON.parse(blob(root.manifest));
  const collections = new Map();
  for (const c of manifest.collections) {
    const index = JSON.parse(blob(c.index));
    const records = [];
    for (const seg of index.streams.all?.segments ?? []) {
      const bytes = blob(seg.key);
      const nl = bytes.indexOf(10);
      const metas = JSON.parse(bytes.subarray(0, nl));
      const bodies = bytes.subarray(nl + 1);
      for (const m of metas) {
        records.push({
          d: m.d, v: m.v, id: m.id, t: m.t, id20: m.id20 ?? m.id, t20: m.t20 ?? m.t,
          body21: canonical(bodies.subarray(m.o[0], m.o[0] + m.o[1])),
          body20: canonical(bodies.subarray(m.o[2], m.o[2] + m.o[3])),
        });
      }
    }
    if (SABOTAGE && records.length) records[Math.floor(records.length / 2)].body21 = '{"sabotaged":true}';
    const by21 = new Map(records.map((r) => [r.id, r]));
    const by20 = new Map(records.map((r) => [r.id20, r]));
    collections.set(c.id, { id: c.id, title: c.title, records, by21, by20 });
  }
  return { id: root.snapshot, collections };
}

const canonical = (bytes) => JSON.stringify(JSON.parse(bytes));

let generation = 0;
let publishing = 0; // builds or publishes under way
let previousDir;
const publishes = [];

async function buildAndPublish(url) {
  const g = generation++;
  const dir = join(work, `g${g}`);
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'indicators.jsonl');
  writeFileSync(input, indicators(g).map((i) => JSON.stringify(i)).join('\n'));
  const config = join(dir, 'collections.json');
  writeFileSync(config, JSON.stringify({ 'Soak all': '', 'Soak domains': 'type:Domain' }));
  const out = join(dir, 'snapshot');
  const t0 = Date.now();
  publishing += 1;
  let snap;
  let t1;
  try {
    await run(CLI, ['build', '--config', config, '--input', input, '--out', out, '--producer', '',
      ...(previousDir ? ['--previous', previousDir] : [])]);
    snap = readSnapshot(out);
    expected.set(snap.id, snap); // known before it can be served
    t1 = Date.now();
    await run(CLI, ['publish', out, '--url', url, '--token', ADMIN_TOKEN]);
  } finally {
    publishing -= 1;
  }
  const t2 = Date.now();
  latest = snap.id;
  if (previousDir) rmSync(join(previousDir, '..', 'indicators.jsonl'), { force: true });
  previousDir = out;
  publishes.push({ generation: g, snapshot: snap.id, build_ms: t1 - t0, publish_ms: t2 - t1 });
  log(`published generation ${g}: snapshot ${snap.id.slice(0, 8)} (build ${t1 - t0} ms, publish ${t2 - t1} ms)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Readers.

const latency = new Map(); // endpoint → [ms]
const quiet = []; // every request's ms, while no build or publish ran
const duringPublish = []; // … while one did (at its start or end)
const counts = { requests: 0, objects_checked: 0, walks: 0, walks_complete: 0, walks_across_snapshots: 0, status: {} };
const failures = []; // wrong objects and 5xx
const fail = (what) => {
  failures.push(what);
  if (failures.length <= 30) console.error('[soak] FAIL', what);
};

async function request(endpoint, url, headers) {
  const t = performance.now();
  const busy = publishing > 0;
  let res;
  let text;
  try {
    res = await fetch(url, { headers });
    text = await res.text();
  } catch (e) {
    fail(`${endpoint} ${url}: request failed: ${e.message}`);
    return null;
  }
  const ms = performance.now() - t;
  if (!latency.has(endpoint)) latency.set(endpoint, []);
  latency.get(endpoint).push(ms);
  (busy || publishing > 0 ? duringPublish : quiet).push(ms);
  counts.requests += 1;
  counts.status[res.status] = (counts.status[res.status] ?? 0) + 1;
  if (res.status >= 500) fail(`${endpoint} ${url}: ${res.status} ${text.slice(0, 300)}`);
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  const snapshot = res.headers.get(SNAPSHOT);
  return { status: res.status, headers: res.headers, json, text, snapshot, exp: snapshot ? expected.get(snapshot) : undefined };
}

/** The response names a snapshot this soak built; returns the expected collection. */
function claimed(endpoint, r, collection) {
  if (!r.snapshot) return fail(`${endpoint}: no ${SNAPSHOT} header (status ${r.status})`);
  if (!r.exp) return fail(`${endpoint}: names snapshot ${r.snapshot}, which was never built`);
  const c = r.exp.collections.get(collection);
  if (!c) return fail(`${endpoint}: snapshot ${r.snapshot} has no collection ${collection}`);
  return c;
}

function checkObject21(endpoint, c, o) {
  counts.objects_checked += 1;
  const rec = c.by21.get(o.id);
  if (!rec) return fail(`${endpoint}: object ${o.id} is not in snapshot collection ${c.title}`);
  if (JSON.stringify(o) !== rec.body21) fail(`${endpoint}: object ${o.id} differs from the snapshot's`);
  return rec;
}

function checkObject20(endpoint, c, o) {
  counts.objects_checked += 1;
  const rec = c.by20.get(o.id);
  if (!rec) return fail(`${endpoint}: 2.0 object ${o.id} is not in snapshot collection ${c.title}`);
  if (JSON.stringify(o) !== rec.body20) fail(`${endpoint}: 2.0 object ${o.id} differs from the snapshot's`);
  return rec;
}

const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const rand = (n) => Math.floor(Math.random() * n);

function current() {
  const snap = expected.get(latest);
  return { snap, c: pick([...snap.collections.values()]) };
}

const scenarios = {
  /** A whole collection by next, over 2.1: every page from one snapshot, no duplicates, nothing missing. */
  async 'objects 2.1 (walk by next)'(base) {
    const { c: start } = current();
    const limit = pick([100, 250, 500, 1000]);
    let url = `${base}/threatintel/collections/${start.id}/objects/?limit=${limit}`;
    const seen = new Set();
    const snapshots = new Set();
    let last = -1;
    let c;
    for (;;) {
      const r = await request('objects 2.1 (walk by next)', url, { accept: T21 });
      if (!r || r.status !== 200) return r && r.status < 500 && fail(`walk: status ${r.status} ${r.text.slice(0, 200)}`);
      c = claimed('walk', r, start.id);
      if (!c) return;
      snapshots.add(r.snapshot);
      for (const o of r.json.objects ?? []) {
        const rec = checkObject21('walk', c, o);
        if (!rec) continue;
        if (seen.has(o.id)) fail(`walk: ${o.id} twice`);
        if (rec.d <= last) fail(`walk: date_added not ascending at ${o.id}`);
        last = rec.d;
        seen.add(o.id);
      }
      if (!r.json.more) break;
      url = `${base}/threatintel/collections/${start.id}/objects/?next=${encodeURIComponent(r.json.next)}`;
    }
    counts.walks += 1;
    if (snapshots.size > 1) {
      counts.walks_across_snapshots += 1; // a pruned snapshot: the walk went on in the current one
      return;
    }
    if (seen.size !== c.records.length) fail(`walk of ${c.title}: ${seen.size} objects, the snapshot has ${c.records.length}`);
    else counts.walks_complete += 1;
  },

  /** A manifest page after a random added_after, over 2.1. */
  async 'manifest 2.1'(base) {
    const { c: now } = current();
    const after = now.records.length ? now.records[rand(now.records.length)].d : 0;
    const r = await request('manifest 2.1', `${base}/threatintel/collections/${now.id}/manifest/?limit=200&added_after=${micros(after)}`, { accept: T21 });
    if (!r || r.status !== 200) return r && r.status < 500 && fail(`manifest: status ${r.status}`);
    const c = claimed('manifest', r, now.id);
    if (!c) return;
    for (const e of r.json.objects ?? []) {
      counts.objects_checked += 1;
      const rec = c.by21.get(e.id);
      if (!rec) { fail(`manifest: ${e.id} not in the snapshot`); continue; }
      if (e.version !== micros(rec.v) || e.date_added !== micros(rec.d)) fail(`manifest: ${e.id} version or date_added differs`);
      if (rec.d <= after) fail(`manifest: ${e.id} added before added_after`);
    }
  },

  /** One object by id over 2.1, and its versions. */
  async 'object 2.1'(base) {
    const { c: now } = current();
    if (!now.records.length) return;
    const rec0 = pick(now.records);
    const r = await request('object 2.1', `${base}/threatintel/collections/${now.id}/objects/${rec0.id}/`, { accept: T21 });
    if (!r) return;
    const c = claimed('object', r, now.id);
    if (!c) return;
    if (r.status === 404) {
      if (c.by21.has(rec0.id)) fail(`object: 404 for ${rec0.id}, which snapshot ${r.snapshot} holds`);
      return;
    }
    if (r.status !== 200 || r.json.objects?.length !== 1) return fail(`object: status ${r.status} ${r.text.slice(0, 200)}`);
    checkObject21('object', c, r.json.objects[0]);
    const v = await request('versions 2.1', `${base}/threatintel/collections/${now.id}/objects/${rec0.id}/versions/`, { accept: T21 });
    if (!v || v.status !== 200) return v && v.status !== 404 && fail(`versions: status ${v.status}`);
    const cv = claimed('versions', v, now.id);
    const rec = cv?.by21.get(rec0.id);
    if (cv && !rec) return fail(`versions: 200 for ${rec0.id}, not in ${v.snapshot}`);
    if (rec && JSON.stringify(v.json.versions) !== JSON.stringify([micros(rec.v)])) fail(`versions of ${rec0.id} differ`);
  },

  /** match[type] over 2.1. */
  async 'objects 2.1 match[type]'(base) {
    const { c: now } = current();
    const type = pick(['domain-name', 'ipv4-addr']);
    const r = await request('objects 2.1 match[type]', `${base}/threatintel/collections/${now.id}/objects/?match[type]=${type}&limit=300`, { accept: T21 });
    if (!r || r.status !== 200) return r && r.status < 500 && fail(`match[type]: status ${r.status}`);
    const c = claimed('match[type]', r, now.id);
    if (!c) return;
    for (const o of r.json.objects ?? []) {
      if (o.type !== type) fail(`match[type]=${type}: got a ${o.type}`);
      checkObject21('match[type]', c, o);
    }
  },

  /** A Range of the 2.0 bundle: exactly those items of the snapshot, in order. */
  async 'objects 2.0 (Range)'(base) {
    const { c: now } = current();
    const a = rand(Math.max(1, now.records.length + 20));
    const b = a + 1 + rand(300);
    const r = await request('objects 2.0 (Range)', `${base}/threatintel/collections/${now.id}/objects/`, { accept: S20, range: `items=${a}-${b}` });
    if (!r) return;
    const c = claimed('2.0 Range', r, now.id);
    if (!c) return;
    const n = c.records.length;
    if (r.status === 416) {
      if (a < n) fail(`2.0 Range ${a}-${b}: 416 but the snapshot has ${n}`);
      return;
    }
    if (r.status !== 206) return fail(`2.0 Range ${a}-${b}: status ${r.status} (snapshot has ${n}) ${r.text.slice(0, 200)}`);
    const want = c.records.slice(a, Math.min(b + 1, n));
    const got = r.json.objects ?? [];
    if (r.headers.get('content-range') !== `items ${a}-${a + got.length - 1}/${n}`) fail(`2.0 Range: Content-Range ${r.headers.get('content-range')} for ${a}-${b} of ${n}`);
    if (got.length !== want.length) fail(`2.0 Range ${a}-${b}: ${got.length} objects, expected ${want.length}`);
    got.forEach((o, i) => {
      const rec = checkObject20('2.0 Range', c, o);
      if (rec && want[i] && rec.id20 !== want[i].id20) fail(`2.0 Range ${a}-${b}: item ${a + i} is ${o.id}, expected ${want[i].id20}`);
    });
  },

  /** The 2.0 manifest's first items and one object as a 2.0 bundle. */
  async 'manifest 2.0'(base) {
    const { c: now } = current();
    const r = await request('manifest 2.0', `${base}/threatintel/collections/${now.id}/manifest/`, { accept: T20, range: 'items=0-99' });
    if (!r || (r.status !== 206 && r.status !== 200)) return r && r.status < 500 && r.status !== 416 && fail(`2.0 manifest: status ${r.status}`);
    const c = claimed('2.0 manifest', r, now.id);
    if (!c) return;
    for (const e of r.json.objects ?? []) {
      counts.objects_checked += 1;
      const rec = c.by20.get(e.id);
      if (!rec) { fail(`2.0 manifest: ${e.id} not in the snapshot`); continue; }
      if (JSON.stringify(e.versions) !== JSON.stringify([micros(rec.v)])) fail(`2.0 manifest: versions of ${e.id} differ`);
    }
    if (!now.records.length) return;
    const rec0 = pick(now.records);
    const o = await request('object 2.0', `${base}/threatintel/collections/${now.id}/objects/${rec0.id20}/`, { accept: S20 });
    if (!o) return;
    const co = claimed('object 2.0', o, now.id);
    if (!co) return;
    if (o.status === 404) {
      if (co.by20.has(rec0.id20)) fail(`object 2.0: 404 for ${rec0.id20}, which snapshot ${o.snapshot} holds`);
      return;
    }
    if (o.status !== 200 || o.json.type !== 'bundle' || o.json.objects?.length !== 1) return fail(`object 2.0: status ${o.status}`);
    checkObject20('object 2.0', co, o.json.objects[0]);
  },

  /** The descriptive resources. */
  async 'discovery, api root, collections'(base) {
    for (const [path, accept] of [['/taxii2/', T21], ['/taxii/', T20], ['/threatintel/', T21], ['/threatintel/collections/', pick([T21, T20])]]) {
      const r = await request(path === '/threatintel/collections/' ? 'collections' : 'discovery and api root', `${base}${path}`, { accept });
      if (r && r.status !== 200) fail(`${path}: status ${r.status}`);
      if (r && path === '/threatintel/collections/') {
        if (!r.exp) fail(`collections: names snapshot ${r.snapshot}, never built`);
        else if (r.json.collections?.length !== r.exp.collections.size) fail('collections: a different number of collections than the snapshot');
      }
    }
  },
};

// Weights: the expensive walk less often than the cheap reads.
const plan = [
  ...Array(2).fill('objects 2.1 (walk by next)'),
  ...Array(3).fill('manifest 2.1'),
  ...Array(4).fill('object 2.1'),
  ...Array(2).fill('objects 2.1 match[type]'),
  ...Array(3).fill('objects 2.0 (Range)'),
  ...Array(2).fill('manifest 2.0'),
  ...Array(2).fill('discovery, api root, collections'),
];

async function reader(base, until) {
  while (Date.now() < until) {
    const name = pick(plan);
    try {
      await scenarios[name](base);
    } catch (e) {
      fail(`${name}: the check threw: ${e.stack}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main() {
  const started = new Date();
  log(`worker on 127.0.0.1:${PORT}; ${READERS} readers for ${MINUTES} min; a publish every ${PUBLISH_S} s; ${IPS} IPs + ${DOMAINS} domains`);
  const w = await startWorker({ port: PORT });
  try {
    await buildAndPublish(w.url);
    const until = Date.now() + MINUTES * 60000;
    let publishChain = Promise.resolve();
    const timer = setInterval(() => {
      if (Date.now() + 5000 > until) return;
      publishChain = publishChain.then(() => buildAndPublish(w.url)).catch((e) => fail(`publish failed: ${e.message}`));
    }, PUBLISH_S * 1000);
    const progress = setInterval(() => log(`${counts.requests} requests, ${counts.objects_checked} objects checked, ${failures.length} failures`), 30000);
    await Promise.all(Array.from({ length: READERS }, () => reader(w.url, until)));
    clearInterval(timer);
    clearInterval(progress);
    await publishChain;
  } finally {
    await w.stop();
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const endpoints = {};
  for (const [name, xs] of [...latency.entries()].sort()) {
    xs.sort((a, b) => a - b);
    endpoints[name] = { n: xs.length, p50_ms: +pct(xs, 50).toFixed(1), p90_ms: +pct(xs, 90).toFixed(1), p99_ms: +pct(xs, 99).toFixed(1), max_ms: +xs[xs.length - 1].toFixed(1) };
  }
  const summary = (xs) => {
    xs.sort((a, b) => a - b);
    return xs.length ? { n: xs.length, p50_ms: +pct(xs, 50).toFixed(1), p99_ms: +pct(xs, 99).toFixed(1), max_ms: +xs[xs.length - 1].toFixed(1) } : { n: 0 };
  };
  const result = {
    date: started.toISOString(),
    minutes: MINUTES,
    readers: READERS,
    collection_sizes: Object.fromEntries([...expected.get(latest).collections.values()].map((c) => [c.title, c.records.length])),
    publishes: publishes.length,
    publish_ms: publishes.map((p) => p.publish_ms),
    requests: counts.requests,
    requests_per_s: +(counts.requests / seconds).toFixed(1),
    status: counts.status,
    objects_checked: counts.objects_checked,
    walks: counts.walks,
    walks_complete: counts.walks_complete,
    walks_across_snapshots: counts.walks_across_snapshots,
    failures: failures.length,
    first_failures: failures.slice(0, 20),
    endpoints,
    all_requests_while_no_publish_ran: summary(quiet),
    all_requests_while_a_build_or_publish_ran: summary(duringPublish),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadavg: loadavg().map((x) => +x.toFixed(2)) },
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
  };
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'soak.json'), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
  rmSync(work, { recursive: true, force: true });
  if (failures.length) {
    console.error(`[soak] ${failures.length} failures`);
    process.exit(1);
  }
  log('no 5xx, no wrong object');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
