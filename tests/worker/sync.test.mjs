// `taxii-edge sync` (issue 20) against real parts: the worker in workerd, medallion 3.0.0 as the upstream TAXII 2.1
// server (objects added between cycles; a downstream added_after poller must see each new one exactly once), files
// over a local HTTP server, and an XSOAR API stand-in written from the documented contract (demisto-py's
// IndicatorFilter {query, size, searchAfter} → {iocs, total, searchAfter}; XSOAR 6: `Authorization: <key>` at
// /indicators/search; XSOAR 8 / XSIAM: /xsoar/public/v1/indicators/search with `Authorization` and
// `x-xdr-auth-id`). Faults: a source down mid-cycle, bad credentials, a shrunken source, a worker that refuses the
// switch, a publish that wins the switch meanwhile (two syncs at once), a sync killed at random points.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { startWorker, ipIndicators, get, tempDir, buildSnapshot, CLI, ROOT, ADMIN_TOKEN, formatTwoWorkerProxy } from '../harness.mjs';

const MEDALLION = join(ROOT, '.venv', 'bin', 'medallion');
const XSOAR_KEY = 'xsoar-test-key';
const XSOAR_KEY_ID = '42';
const TAXII_USER = 'sync-user';
const TAXII_PASSWORD = 'sync-password';
const COLLECTION_ID = '365fed99-08fa-fdcd-a1b3-fb247eb41d01';

let w;
let files; // the local HTTP server: files and the XSOAR stand-in
let medallion;
const served = new Map(); // path → body
const xsoar = { indicators: [], failOnPage: null, requests: [] };

/** A free port. */
async function freePort() {
  const net = await import('node:net');
  return new Promise((res) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** The XSOAR stand-in: POST /indicators/search (6) or /xsoar/public/v1/indicators/search (8), searchAfter paging. */
function searchIndicators(req, body, res) {
  const v8 = req.url.startsWith('/xsoar/public/v1/');
  const json = (status, value) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (req.headers.authorization !== XSOAR_KEY || (v8 && req.headers['x-xdr-auth-id'] !== XSOAR_KEY_ID)) {
    return json(401, { error: 'unauthorized' });
  }
  let filter;
  try {
    filter = JSON.parse(body);
  } catch {
    return json(400, { error: 'bad json' });
  }
  if (typeof filter.query !== 'string' || !(filter.size > 0 && filter.size <= 1000)) {
    return json(400, { error: 'size must be 1..1000' });
  }
  xsoar.requests.push({ v8, filter });
  if (xsoar.failOnPage && xsoar.requests.length >= xsoar.failOnPage) return json(500, { error: 'internal error' });
  const sorted = [...xsoar.indicators].sort((a, b) => (a.id < b.id ? -1 : 1));
  const after = filter.searchAfter?.[0];
  const rest = after ? sorted.filter((i) => i.id > after) : sorted;
  const iocs = rest.slice(0, filter.size);
    json(200, { iocs, total: sorted.length, searchAfter: iocs.length ? [iocs[iocs.length - 1].id] : null });
}

before(async () => {
  w = await startWorker();
  const port = await freePort();
  files = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url.endsWith('/indicators/search')) return searchIndicators(req, body, res);
      const file = served.get(req.url);
      if (file === undefined) {
        res.writeHead(404);
        return res.end('no such file');
      }
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(file);
    });
  });
  await new Promise((r) => files.listen(port, '127.0.0.1', r));
  files.url = `http://127.0.0.1:${port}`;
  medallion = await startMedallion();
});

after(async () => {
  await w?.stop();
  files?.close();
  medallion?.kill();
});

/** medallion 3.0.0 with one API root and one writable collection, basic auth. */
async function startMedallion() {
  if (!existsSync(MEDALLION)) throw new Error(`${MEDALLION} is missing: .venv/bin/pip install medallion==3.0.0`);
  const dir = tempDir('medallion-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const data = {
    '/discovery': { title: 'upstream', default: `${base}/api1/`, api_roots: [`${base}/api1/`] },
    api1: {
      information: { title: 'api1', versions: ['application/taxii+json;version=2.1'], max_content_length: 10485760 },
      status: [],
      collections: [
        {
          id: COLLECTION_ID,
          title: 'Partner indicators',
          can_read: true,
          can_write: true,
          media_types: ['application/stix+json;version=2.1'],
          objects: [],
          manifest: [],
        },
      ],
    },
  };
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
  const config = {
    backend: { module: 'medallion.backends.memory_backend', module_class: 'MemoryBackend', filename: join(dir, 'data.json') },
    users: { [TAXII_USER]: TAXII_PASSWORD },
    taxii: { max_page_size: 100 },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const proc = spawn(MEDALLION, ['--host', '127.0.0.1', '--port', String(port), join(dir, 'config.json')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/taxii2/`, { headers: auth(), signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `${base}/taxii2/`, base, kill: () => proc.kill() };
}

function auth() {
  return {
    authorization: `Basic ${Buffer.from(`${TAXII_USER}:${TAXII_PASSWORD}`).toString('base64')}`,
    accept: 'application/taxii+json;version=2.1',
  };
}

/** STIX indicators for medallion, ids derived from n. */
function stixIndicators(from, n) {
  const out = [];
  for (let i = from; i < from + n; i++) {
    const hex = i.toString(16).padStart(12, '0');
    out.push({
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--6b5a1c2e-0000-4000-8000-${hex}`,
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      name: `partner ${i}`,
      pattern: `[domain-name:value = 'partner-${i}.example']`,
      pattern_type: 'stix',
      valid_from: '2026-01-01T00:00:00Z',
    });
  }
  return out;
}

async function addToMedallion(objects) {
  const r = await fetch(`${medallion.base}/api1/collections/${COLLECTION_ID}/objects/`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/taxii+json;version=2.1' },
    body: JSON.stringify({ objects }),
  });
  assert.equal(r.status, 202, await r.text());
}

/** A sync configuration in a fresh directory; returns its path. */
function syncConfig({ url = w.url, sources, state, extra = '', keep = '1h' }) {
  const dir = tempDir('sync-');
  writeFileSync(join(dir, 'collections.json'), JSON.stringify({ All: '', Bad: 'score:Bad' }));
  const text = [
    'interval = "1s"',
    'collections = "collections.json"',
    state ? `state = ${JSON.stringify(state)}` : '',
    extra,
    '[publish]',
    `url = ${JSON.stringify(url)}`,
    'token_env = "SYNC_TEST_TOKEN"',
    `keep = "${keep}"`,
    '[build]',
    'as_indicator = ["ipv4-addr"]',
    'producer = ""',
    ...sources,
  ].join('\n');
  writeFileSync(join(dir, 'sync.toml'), text);
  return join(dir, 'sync.toml');
}

const ENV = {
  ...process.env,
  SYNC_TEST_TOKEN: ADMIN_TOKEN,
  XSOAR_API_KEY: XSOAR_KEY,
  XSOAR_API_KEY_ID: XSOAR_KEY_ID,
  PARTNER_USER: TAXII_USER,
  PARTNER_PASSWORD: TAXII_PASSWORD,
};

/** Runs `sync` in the background (so the servers in this process keep answering): the process and its end. */
function syncProc(config, args = ['--once'], env = ENV) {
  const p = spawn(CLI, ['sync', '--config', config, ...args], { env, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  p.stdoutText = () => stdout;
  p.stderrText = () => stderr;
  const done = new Promise((resolve) => p.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { proc: p, done };
}

/** Runs `sync` to its end. */
const sync = (config, args, env) => syncProc(config, args, env).done;

async function pointer(url = w.url) {
  const r = await fetch(`${url}/admin/current`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return r.status === 200 ? r.json() : null;
}

/** Every object of the collection titled `title`, following next; the last X-TAXII-Date-Added-Last. */
async function poll(title, addedAfter, url = w.url) {
  const cols = await get(`${url}/threatintel/collections/`);
  assert.equal(cols.status, 200, cols.text);
  const col = cols.json.collections.find((c) => c.title === title);
  const base = `${url}/threatintel/collections/${col.id}/objects/`;
  let next = addedAfter ? `${base}?added_after=${addedAfter}` : base;
  const objects = [];
  let last = addedAfter;
  for (;;) {
    const r = await get(next);
    assert.equal(r.status, 200, r.text);
    objects.push(...(r.json.objects ?? []));
    last = r.headers.get('x-taxii-date-added-last') ?? last;
    if (!r.json.more) return { objects, last };
    next = `${base}?next=${encodeURIComponent(r.json.next)}${addedAfter ? `&added_after=${addedAfter}` : ''}`;
  }
}

const CSV_HEADER = 'value,type,score,modified';
const csvRows = (from, n) =>
  Array.from({ length: n }, (_, k) => `host-${from + k}.example.org,Domain,3,2026-01-01T00:00:00Z`);

function xsoarIndicators(from, n) {
  return ipIndicators(n, { start: from }).map((i, k) => ({ ...i, id: `x${String(from + k).padStart(6, '0')}` }));
}

const sources = () => [
  '[[source]]',
  'type = "xsoar"',
  'name = "tip"',
  `url = ${JSON.stringify(files.url)}`,
  'api_key_env = "XSOAR_API_KEY"',
  '[[source]]',
  'type = "taxii"',
  'name = "partner"',
  `url = ${JSON.stringify(medallion.url)}`,
  'collection = "Partner indicators"',
  'user_env = "PARTNER_USER"',
  'password_env = "PARTNER_PASSWORD"',
  '[[source]]',
  'type = "url"',
  'name = "csv"',
  `url = ${JSON.stringify(`${files.url}/feed/ioc.csv`)}`,
];

test('sync pulls XSOAR, a TAXII collection and a file; publishes only what changed; a poller sees each new object once', async () => {
  xsoar.indicators = xsoarIndicators(0, 2500); // three searchAfter pages of 1000
  served.set('/feed/ioc.csv', [CSV_HEADER, ...csvRows(0, 30)].join('\n'));
  await addToMedallion(stixIndicators(0, 250)); // three pages of medallion's 100
  const config = syncConfig({ sources: sources() });

  const first = await sync(config);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /source tip: 2500 records/);
  assert.match(first.stdout, /source partner: 250 records/);
  assert.match(first.stdout, /source csv: 30 records/);
  assert.match(first.stdout, /sync: published [0-9a-f]{32}/);
  assert.deepEqual(xsoar.requests.map((r) => r.filter.searchAfter ?? null).length, 3);
  const p1 = await pointer();
  assert.deepEqual(p1.sources.map((s) => [s.name, s.records]), [['tip', 2500], ['partner', 250], ['csv', 30]]);
  const all1 = await poll('All');
  assert.equal(all1.objects.length, 2500 + 250 + 30, 'every record of every source, once');
  const ids1 = new Set(all1.objects.map((o) => o.id));
  assert.ok(ids1.has('indicator--6b5a1c2e-0000-4000-8000-000000000000'), 'the TAXII objects are served as they are');

  // Nothing changed upstream: nothing uploaded, the pointer untouched.
  const again = await sync(config);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /nothing changed/);
  assert.doesNotMatch(again.stdout, /indicators read/, 'the same inputs as the last cycle: nothing built');
  assert.deepEqual(await pointer(), p1);
  assert.equal(xsoar.requests.filter((r) => r.filter.searchAfter).length, 4, 'XSOAR was asked again, from the start');

  // New objects in every source: the poller sees each exactly once.
  await addToMedallion(stixIndicators(250, 3));
  xsoar.indicators.push(...xsoarIndicators(900000, 2));
  served.set('/feed/ioc.csv', [CSV_HEADER, ...csvRows(0, 31)].join('\n'));
  const third = await sync(config);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stdout, /source partner: 253 records/);
  // The XSOAR records (JSON lines) the last build rendered come from the record cache: only the 2 new ones render.
  assert.match(third.stdout, /record cache .*: 2500 records reused, 2 read and rendered/);
  const fresh = await poll('All', all1.last);
  const freshIds = fresh.objects.map((o) => o.id);
  assert.equal(new Set(freshIds).size, freshIds.length, 'nothing twice');
  for (const id of freshIds) assert.ok(!ids1.has(id), `${id} was already served`);
  const newTaxii = freshIds.filter((id) => id.startsWith('indicator--6b5a1c2e'));
  assert.equal(newTaxii.length, 3);
  assert.ok(fresh.objects.some((o) => JSON.stringify(o).includes('host-30.example.org')));
  assert.ok(freshIds.length >= 6, `${freshIds.length} new objects`);
  const later = await poll('All', fresh.last);
  assert.equal(later.objects.length, 0, 'and nothing more');

  // The TAXII source asked medallion only for what was added after the last cycle (its state is kept).
  const state = JSON.parse(readFileSync(join(config, '..', '.taxii-edge-sync', 'sources', 'partner', 'taxii.json'), 'utf8'));
  assert.match(state.added_after, /^\d{4}-/);

  // Someone else publishes over the synced feed: the same inputs are built again (on that snapshot) and published.
  const rival = buildSnapshot({ collections: { All: '' }, indicators: ipIndicators(3, { start: 50000 }) });
  assert.equal(spawnSync(CLI, ['publish', rival, '--url', w.url, '--token', ADMIN_TOKEN, '--no-prune']).status, 0);
  const restore = await sync(config);
  assert.equal(restore.status, 0, restore.stderr);
  assert.match(restore.stdout, /indicators read/);
  assert.match(restore.stdout, /record cache .*: 2502 records reused, 0 read and rendered/);
  assert.match(restore.stdout, /sync: published/);
  assert.equal((await poll('All')).objects.length, 2500 + 2 + 253 + 31);

  // The freshness shows in taxii-edge info.
  const info = spawnSync(CLI, ['info', '--url', w.url], { encoding: 'utf8' });
  assert.match(info.stdout, /^source tip: +2502 records, synced /m);
});

test('a failing source publishes nothing: down mid-cycle, bad credentials, a shrunken file; exit codes', async () => {
  const config = syncConfig({ sources: sources() });
  assert.equal((await sync(config)).status, 0);
  const before = await pointer();

  // XSOAR fails on its second page.
  xsoar.requests = [];
  xsoar.failOnPage = 2;
  served.set('/feed/ioc.csv', [CSV_HEADER, ...csvRows(0, 32)].join('\n'));
  const down = await sync(config);
  xsoar.failOnPage = null;
  assert.equal(down.status, 1);
  assert.match(down.stderr, /source tip: XSOAR .* answered 500/);
  assert.match(down.stderr, /keeps serving its last good snapshot/);
  assert.deepEqual(await pointer(), before);

  // Wrong key.
  const wrong = await sync(config, ['--once'], { ...ENV, XSOAR_API_KEY: 'nope' });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /answered 401: check the credentials/);
  assert.deepEqual(await pointer(), before);

  // The medallion collection is not there: an error, not an empty feed.
  const gone = syncConfig({ sources: sources().map((l) => l.replace('Partner indicators', 'Vanished')) });
  const vanished = await sync(gone);
  assert.equal(vanished.status, 1);
  assert.match(vanished.stderr, /no collection "Vanished"/);

  // The file lost most of its rows: refused unless --allow-shrink.
  served.set('/feed/ioc.csv', [CSV_HEADER, ...csvRows(0, 5)].join('\n'));
  const shrank = await sync(config);
  assert.equal(shrank.status, 1);
  assert.match(shrank.stderr, /source csv shrank from 32 to 5 records|source csv shrank from \d+ to 5 records/);
  assert.deepEqual(await pointer(), before);
  const allowed = await sync(config, ['--once', '--allow-shrink']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.notDeepEqual((await pointer()).snapshot, before.snapshot);

  // Bad configuration: exit 2.
  const noToken = await sync(config, ['--once'], { ...ENV, SYNC_TEST_TOKEN: '' });
  assert.equal(noToken.status, 2);
  assert.match(noToken.stderr, /SYNC_TEST_TOKEN .* is not set/);
  const badToml = join(tempDir('sync-bad-'), 'sync.toml');
  writeFileSync(badToml, 'interval = "soon"\ncollections = "c.json"\n[publish]\nurl = "http://x"\n[[source]]\ntype = "url"\nurl = "a.csv"\n');
  assert.equal((await sync(badToml)).status, 2);
});

test('XSOAR 8 / XSIAM: the public API path and both headers', async () => {
  xsoar.indicators = xsoarIndicators(0, 1200);
  xsoar.requests = [];
  const own = await startWorker();
  try {
    const cfg = syncConfig({
      url: own.url,
      sources: ['[[source]]', 'type = "xsoar"', `url = ${JSON.stringify(files.url)}`, 'api_key_env = "XSOAR_API_KEY"', 'auth_id_env = "XSOAR_API_KEY_ID"', 'query = "type:IP"'],
    });
    const r = await sync(cfg);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(xsoar.requests.length === 2 && xsoar.requests.every((q) => q.v8 && q.filter.query === 'type:IP'));
    const wrongId = await sync(cfg, ['--once'], { ...ENV, XSOAR_API_KEY_ID: '7' });
    assert.equal(wrongId.status, 1);
    assert.match(wrongId.stderr, /401/);
  } finally {
    await own.stop();
  }
});

/** Another publisher: `n` IPs from `start` built on the worker's snapshot and published to it. */
function publishRival(url, n, start) {
  const rival = buildSnapshot({
    collections: { All: '', Bad: 'score:Bad' },
    indicators: ipIndicators(n, { start }),
    args: ['--previous-url', url, '--token', ADMIN_TOKEN, '--as-indicator', 'ipv4-addr', '--producer', ''],
  });
  const p = spawnSync(CLI, ['publish', rival, '--url', url, '--token', ADMIN_TOKEN, '--no-prune'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
}

test('a worker that refuses the switch, and a publish that wins it meanwhile (two syncs at once)', async () => {
  const own = await startWorker();
  served.set('/feed/two.csv', [CSV_HEADER, ...csvRows(5000, 20)].join('\n'));
  const src = ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/two.csv`)}`];
  // A proxy in front of the worker: `mode` decides what happens to PUT /admin/current.
  let mode = 'refuse';
  const port = await freePort();
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'PUT' && req.url === '/admin/current') {
        if (mode === 'refuse') {
          res.writeHead(503, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: 'the store failed: test' }));
        }
        if (mode === 'race') {
          // Another sync publishes first (a different build on the same snapshot), then this switch goes on.
          mode = 'pass';
          publishRival(own.url, 7, 70000);
        }
      }
      const r = await fetch(`${own.url}${req.url}`, { method: req.method, headers: req.headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body });
      const headers = Object.fromEntries([...r.headers].filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding'].includes(k)));
      res.writeHead(r.status, headers);
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
  try {
    const config = syncConfig({ url: `http://127.0.0.1:${port}`, sources: src });
    const refused = await sync(config);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /switching to the new snapshot failed \(503\)/);
    assert.equal(await pointer(own.url), null, 'nothing published');

    mode = 'race';
    const raced = await sync(config);
    assert.equal(raced.status, 0, raced.stderr);
    assert.match(raced.stderr, /another publish made [0-9a-f]{32} current first: building again on it/);
    const all = await poll('All', undefined, own.url);
    // The sync's second build was on the rival's snapshot: both feeds' objects are there.
    assert.equal(all.objects.filter((o) => JSON.stringify(o).includes('host-50')).length >= 1, true);
    const p = await pointer(own.url);
    assert.equal(p.history.length, 1, 'the rival was replaced by the rebuilt sync');

    // Two syncs on one state directory: the second is refused while the first runs.
    const a = syncProc(config, []);
    await new Promise((r) => setTimeout(r, 300));
    const b = await sync(config);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /another sync \(pid \d+\) is using/);
    a.proc.kill('SIGTERM');
    const ended = await a.done;
    assert.equal(ended.status, 0, ended.stderr);
    assert.match(ended.stdout, /sync: stopped/);
  } finally {
    proxy.close();
    await own.stop();
  }
});

test('a sync killed at random points leaves the feed whole; the next cycle finishes the job', async () => {
  const own = await startWorker();
  try {
    served.set('/feed/kill.csv', [CSV_HEADER, ...csvRows(10000, 400)].join('\n'));
    const config = syncConfig({
      url: own.url,
      sources: ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/kill.csv`)}`],
    });
    assert.equal((await sync(config)).status, 0);
    const whole = async () => {
      const all = await poll('All', undefined, own.url);
      const n = all.objects.length;
      return n;
    };
    const counts = new Set([await whole()]);
    for (let round = 0; round < 5; round++) {
      served.set('/feed/kill.csv', [CSV_HEADER, ...csvRows(10000, 400 + (round + 1) * 50)].join('\n'));
      const s = syncProc(config);
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 700)));
      s.proc.kill('SIGKILL');
      await s.done;
      counts.add(await whole());
    }
    const final = await sync(config);
    assert.equal(final.status, 0, final.stderr);
    assert.equal(await whole(), 650, 'the last file, whole');
    for (const n of counts) assert.ok(n >= 400 && n <= 650 && (n - 400) % 50 === 0, `a whole snapshot: ${n}`);
  } finally {
    await own.stop();
  }
});

test('a TAXII 2.0 upstream (another taxii-edge, paged with Range), pulled incrementally', async () => {
  const up = await startWorker({ vars: { MAX_PAGE_SIZE: '100', DEFAULT_PAGE_SIZE: '100' } });
  const own = await startWorker();
  try {
    const collections = { Upstream: '' };
    const publishUp = (n, now) => {
      const dir = buildSnapshot({
        collections,
        indicators: ipIndicators(n, { start: 30000 }),
        now,
        args: ['--previous-url', up.url, '--token', ADMIN_TOKEN, '--as-indicator', 'ipv4-addr', '--producer', ''],
      });
      const p = spawnSync(CLI, ['publish', dir, '--url', up.url, '--token', ADMIN_TOKEN], { encoding: 'utf8' });
      assert.equal(p.status, 0, p.stderr);
    };
    publishUp(250, '2026-04-01T00:00:00Z');
    const config = syncConfig({
      url: own.url,
      sources: ['[[source]]', 'type = "taxii"', 'name = "up20"', `url = ${JSON.stringify(`${up.url}/taxii/`)}`, 'collection = "Upstream"'],
    });
    const first = await sync(config);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /source up20: 250 records/);
    publishUp(260, '2026-04-02T00:00:00Z');
    const second = await sync(config);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /source up20: 260 records/);
    const all = await poll('All', undefined, own.url);
    assert.equal(all.objects.length, 260);
  } finally {
    await up.stop();
    await own.stop();
  }
});

test('a cycle builds on its own last build: the previous snapshot is not read from the worker again', async () => {
  // Before, every cycle read the manifest, the indexes and every id shard of the worker's snapshot over the admin
  // API (`build --previous-url`); this test failed then. The build says how many blobs of the previous snapshot it
  // read from the worker (TAXII_EDGE_TIMINGS); the proxy counts every blob read (prune reads manifests and indexes).
  const own = await startWorker();
  const reads = { blobs: 0, asked: 0, puts: 0 };
  const proxy = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method === 'GET' && req.url.startsWith('/admin/blobs/')) reads.blobs++;
    if (req.method === 'PUT' && req.url.startsWith('/admin/blobs/')) reads.puts++;
    if (req.method === 'POST' && req.url === '/admin/missing') reads.asked += JSON.parse(Buffer.concat(chunks)).length;
    const r = await fetch(`${own.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' }, body: ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks) });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const viaProxy = `http://127.0.0.1:${proxy.address().port}`;
  let rows = csvRows(0, 6000);
  const setRows = () => served.set('/feed/own.csv', [CSV_HEADER, ...rows].join('\n'));
  const change = (day) => {
    rows = rows.map((r, i) => (i % 100 === day ? r.replace(/,[^,]*$/, `,2026-01-${String(day + 1).padStart(2, '0')}T00:00:00Z`) : r));
    setRows();
  };
  const config = syncConfig({ url: viaProxy, sources: ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/own.csv`)}`] });
  /** One cycle: how many blobs its build read from the worker, and how many objects a poller sees as new after it. */
  let last;
  const cycle = async () => {
    reads.asked = 0;
    reads.blobs = 0;
    reads.puts = 0;
    const r = await sync(config, ['--once'], { ...ENV, TAXII_EDGE_TIMINGS: '1' });
    assert.equal(r.status, 0, r.stderr);
    if (/nothing changed/.test(r.stdout)) return { unchanged: true, built: /indicators read/.test(r.stdout), puts: reads.puts };
    const m = r.stderr.match(/blobs of the previous snapshot read from the worker: (\d+)/);
    assert.ok(m, r.stderr);
    const polled = await poll('All', last, own.url);
    last = polled.last;
    const uploaded = Number(r.stdout.match(/\((\d+) blobs uploaded/)[1]);
    const asked = r.stderr.match(/publish: ask about (\d+) of (\d+) blobs \((\d+) in all\)/);
    const early = Number(r.stderr.match(/; (\d+) blobs, \d+ MB uploaded as they were written/)[1]);
    const late = Number(r.stderr.match(/publish: upload (\d+) blobs/)[1]);
    assert.equal(uploaded, early + late, r.stdout);
    assert.equal(reads.puts, uploaded, 'every upload is counted once');
    return { read: Number(m[1]), polled: polled.objects.length, uploaded, early, late, asked: reads.asked, askedBefore: Number(asked[1]), wrote: Number(asked[2]), blobs: Number(asked[3]), got: reads.blobs };
  };
  try {
    setRows();
    assert.equal((await cycle()).polled, 6000);
    // Each change: every 100th row gets a later `modified` (60 rows).
    change(1);
    const second = await cycle();
    assert.equal(second.polled, 60);
    change(2);
    const third = await cycle();
    assert.equal(third.polled, 60);
    assert.equal(third.read, 0, 'the third cycle builds on the second\'s directory');
    // Nor does its prune read the retained snapshots' manifests and indexes again (before, it read all three
    // snapshots' every cycle, and more as the history grew): the one blob read is the current manifest, which
    // the cycle compares with its build's.
    assert.equal(third.got, 1, JSON.stringify(third));
    // The blobs the build wrote are uploaded while it writes the rest (sync/early_upload.rs), all but the
    // manifest, which only the publish uploads: before, the upload began when the build had ended.
    assert.equal(third.early, third.wrote - 1, JSON.stringify(third));
    assert.equal(third.late, 1, JSON.stringify(third));
    // The worker is asked only about the blobs the build wrote: each once as it is written (the manifest, which
    // is not, by the publish before the switch), once more after the switch, and about those the publish
    // uploaded once more before it: the rest are the replaced snapshot's. Before, every blob was asked about
    // twice, and the early upload's blobs were asked about again by the publish.
    assert.ok(third.wrote < third.blobs / 2, JSON.stringify(third));
    assert.equal(third.asked, 2 * third.wrote + third.late, JSON.stringify(third));
    assert.equal(third.askedBefore, 1, 'only the manifest is asked about again before the switch');

    // Another publisher in between: the cycle falls back to reading the worker's snapshot, and builds on it.
    publishRival(own.url, 5, 90000);
    last = (await poll('All', last, own.url)).last;
    change(3);
    const fourth = await cycle();
    assert.ok(fourth.read > 2, `after another publisher, the cycle reads the worker's snapshot (${fourth.read} blobs)`);
    assert.ok(reads.blobs >= fourth.read, 'through the admin API');
    const all = await poll('All', undefined, own.url);
    assert.equal(all.objects.length, 6000, 'the sync replaced the rival snapshot with its own sources');
    change(4);
    const fifth = await cycle();
    assert.equal(fifth.polled, 60);
    change(5);
    const sixth = await cycle();
    assert.equal(sixth.polled, 60);
    assert.equal(sixth.read, 0, JSON.stringify({ fifth, sixth }));
    assert.equal(sixth.got, 1, JSON.stringify(sixth));
    // Inputs that differ in bytes but not in what they serve: the build runs, equals the worker's snapshot, and
    // nothing is uploaded, not even while it built (its index blobs are the worker's already; its manifest is
    // left to a publish that does not happen).
    served.set('/feed/own.csv', [CSV_HEADER, ...rows].join('\n') + '\n\n');
    const same = await cycle();
    assert.deepEqual(same, { unchanged: true, built: true, puts: 0 });
  } finally {
    proxy.close();
    await own.stop();
  }
});

test('a sync that runs on takes unchanged records from memory and publishes what a --once sync publishes', async () => {
  // Without --once, the sync keeps each build's prepared records in memory (edge_feed::build::Warm): the next
  // build takes the records of unchanged lines from there instead of reading and decoding their record cache
  // entries, and reads and renders only the changed lines. Its feed must be the one a --once sync builds.
  const own = await startWorker();
  const other = await startWorker();
  let lines = ipIndicators(3000, { start: 40000 }).map((i) => JSON.stringify(i));
  const setLines = () => served.set('/feed/running.jsonl', lines.join('\n'));
  const src = ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/running.jsonl`)}`];
  setLines();
  const running = syncProc(syncConfig({ url: own.url, sources: src }), [], { ...ENV, TAXII_EDGE_TIMINGS: '1' });
  /** Waits until the running sync has published `n` snapshots; its output. */
  const published = async (n) => {
    for (let t = 0; t < 600; t++) {
      if ([...running.proc.stdoutText().matchAll(/^sync: published /gm)].length >= n) return running.proc.stdoutText();
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the running sync did not publish ${n} snapshots: ${running.proc.stdoutText()}`);
  };
  try {
    await published(1);
    let last = (await poll('All', undefined, own.url)).last;
    for (const [k, modified] of ['2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'].entries()) {
      // Every 100th line changed (30 of 3000).
      lines = lines.map((l, i) => (i % 100 === 10 * k ? l.replace(/"modified":"[^"]*"/, `"modified":"${modified}"`) : l));
      setLines();
      const out = await published(k + 2);
      const reports = out.match(/^record cache .*$/gm);
      assert.match(reports.at(-1), /: 2970 records reused \(2970 of them kept in memory\), 30 read and rendered$/, out);
      // Nor is the snapshot it published last read back: the build kept it as the next build reads it.
      const kept = running.proc.stderrText().match(/previous snapshot's indexes and id shards: kept in memory/g) ?? [];
      assert.equal(kept.length, k + 1, running.proc.stderrText());
      const polled = await poll('All', last, own.url);
      assert.equal(polled.objects.length, 30, 'a poller sees each changed object once');
      last = polled.last;
    }
    // The same lines through a --once sync (its own state, so its record cache is cold) into another worker.
    const once = await sync(syncConfig({ url: other.url, sources: src }), ['--once']);
    assert.equal(once.status, 0, once.stderr);
    const byId = (objects) => JSON.stringify([...objects].sort((a, b) => (a.id < b.id ? -1 : 1)));
    for (const title of ['All', 'Bad']) {
      const a = await poll(title, undefined, own.url);
      const b = await poll(title, undefined, other.url);
      assert.equal(a.objects.length, title === 'All' ? 3000 : 750);
      assert.equal(byId(a.objects), byId(b.objects), `${title}: the same objects`);
    }
  } finally {
    running.proc.kill('SIGTERM');
    await running.done;
    await own.stop();
    await other.stop();
  }
});

test('a sync to a worker from before format 3 uploads nothing, not even while it builds', async () => {
  // The build's blobs are uploaded as it writes them (crates/cli/src/sync/early_upload.rs). A worker older than
  // the CLI would be sent a whole snapshot it cannot serve before the publish finds it too old. Such a worker
  // answers `POST /admin/missing` with `{"missing": [...]}` alone (wire.rs before format 3), as this proxy to the
  // real worker does; it counts the uploads and switches that reach it.
  const own = await startWorker();
  const proxy = await formatTwoWorkerProxy(own.url);
  try {
    served.set('/feed/old-worker.csv', [CSV_HEADER, ...csvRows(0, 3000)].join('\n'));
    const src = ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/old-worker.csv`)}`];
    const r = await sync(syncConfig({ url: proxy.url, sources: src }), ['--once']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /the worker reads formats \[2\] only: deploy the worker of this taxii-edge version first/);
    assert.deepEqual(proxy.seen, { uploads: 0, switches: 0 });
    assert.equal(await pointer(own.url), null, 'nothing is published');
  } finally {
    proxy.close();
    await own.stop();
  }
});

test('a cycle prunes by counting what the retained snapshots reach: the store is listed only without a ledger', async () => {
  // Before, every cycle's prune listed every blob on the worker (ten thousand at a million indicators, more each
  // cycle as the history grew) and read what every retained snapshot reaches. Now the sync keeps a count per
  // blob of the retained snapshots that reach it (<state>/ledger, crates/cli/src/sync/ledger.rs): a cycle adds
  // the snapshots that joined, takes out those that left, and deletes what no longer has a count.
  const own = await startWorker();
  let lists = 0;
  const proxy = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method === 'GET' && /^\/admin\/blobs(\?|$)/.test(req.url)) lists++;
    const r = await fetch(`${own.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' }, body: ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks) });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const state = tempDir('sync-ledger-');
  let rows = csvRows(0, 3000);
  const change = (day) => {
    rows = rows.map((r, i) => (i % 100 === day ? r.replace(/,[^,]*$/, `,2026-01-${String(day + 1).padStart(2, '0')}T00:00:00Z`) : r));
    served.set('/feed/ledger.csv', [CSV_HEADER, ...rows].join('\n'));
  };
  const KEEP = 5;
  const config = syncConfig({ url: `http://127.0.0.1:${proxy.address().port}`, state, keep: `${KEEP}s`, sources: ['[[source]]', 'type = "url"', `url = ${JSON.stringify(`${files.url}/feed/ledger.csv`)}`] });
  const cycle = async () => {
    lists = 0;
    const r = await sync(config, ['--once'], { ...ENV, TAXII_EDGE_TIMINGS: '1' });
    assert.equal(r.status, 0, r.stderr);
    // The worker refuses to delete what a retained snapshot reaches: a refusal here would be a count gone wrong.
    const m = r.stderr.match(/sync prune \((\d+) blobs listed, (\d+) deleted, (\d+) refused\)/);
    assert.ok(m, r.stderr);
    assert.equal(Number(m[3]), 0, `the prune asked to delete blobs a retained snapshot reaches: ${m[0]}`);
    assert.equal(Number(m[2]), Number(r.stdout.match(/, (\d+) pruned\)/)[1]));
    return { deleted: Number(m[2]), lists };
  };
  /** Every blob each retained snapshot reaches (as the sync keeps them in <state>/reached) is on the worker. */
  const retainedWhole = async () => {
    const dir = join(state, 'reached');
    const keys = new Set(readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n')));
    const all = [...keys];
    for (let i = 0; i < all.length; i += 500) {
      const r = await fetch(`${own.url}/admin/missing`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(all.slice(i, i + 500)) });
      assert.equal(r.status, 200);
      assert.deepEqual((await r.json()).missing, [], 'a retained snapshot lost a blob');
    }
    return { snapshots: readdirSync(dir).length, keys: all.length };
  };
  /** What a full prune would delete now (a dry run that lists the store), and whether it found a snapshot unreadable. */
  const fullPruneWould = () => {
    const r = spawnSync(CLI, ['prune', '--url', own.url, '--token', ADMIN_TOKEN, '--keep', `${KEEP}s`, '--dry-run'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /cannot be read/);
    return Number(r.stdout.match(/(\d+) would be deleted/)[1]);
  };
  try {
    change(0);
    const first = await cycle();
    assert.ok(first.lists > 0, 'without a ledger the prune lists the store, and starts one');
    assert.ok(existsSync(join(state, 'ledger')));
    change(1);
    const second = await cycle();
    assert.deepEqual(second, { deleted: 0, lists: 0 }, 'the first snapshot is retained: nothing to delete');
    // The first snapshot ages out of the window while the second, which shares most of its blobs, stays in it:
    // another publisher replaces the second after the wait, with a snapshot that shares nothing with either.
    await new Promise((r) => setTimeout(r, (KEEP + 1) * 1000));
    publishRival(own.url, 5, 90000);
    change(2);
    const third = await cycle();
    assert.equal(third.lists, 0, 'a counted prune does not list the store');
    assert.ok(third.deleted > 0, `the first snapshot left, and what only it reached went: ${JSON.stringify(third)}`);
    const whole = await retainedWhole();
    assert.ok(whole.snapshots === 3 && whole.keys > 10, `the second, the rival's and the third are whole: ${JSON.stringify(whole)}`);
    assert.equal(fullPruneWould(), 0, 'the counted prune deleted all a full prune would');
    assert.equal((await poll('All', undefined, own.url)).objects.length, 3000, 'the feed is whole');
    // Then the second and the rival's leave too: what only they reached goes (the rival's was counted, read from
    // the worker once).
    await new Promise((r) => setTimeout(r, (KEEP + 1) * 1000));
    change(3);
    const fourth = await cycle();
    assert.ok(fourth.deleted > 0 && fourth.lists === 0, JSON.stringify(fourth));
    assert.equal(fullPruneWould(), 0, 'what only the second and the rival reached went with them');
    await retainedWhole();
    // A damaged ledger is no risk: the next prune lists the store and counts again.
    writeFileSync(join(state, 'ledger'), '{"full":');
    change(4);
    const fifth = await cycle();
    assert.ok(fifth.lists > 0, JSON.stringify(fifth));
    await retainedWhole();
    change(5);
    assert.equal((await cycle()).lists, 0, 'counted again after the full prune');
    await retainedWhole();
  } finally {
    proxy.close();
    await own.stop();
  }
});
