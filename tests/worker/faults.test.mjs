// Storage faults through the worker in workerd: R2 is damaged through Miniflare's own API (a missing or
// corrupted segment, a truncated manifest, a pointer to a snapshot that does not exist, a missing index, a
// corrupted id shard) and a store that answers too late (a wrapped R2 binding that waits). Each read that meets one is a 503 TAXII error with
// Retry-After (never objects, never a 500), the worker logs what failed with console.error, and a good publish
// afterwards serves again. Each fault gets its own snapshot, so the worker's blob cache cannot hide it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker, startSlowStoreWorker, putSnapshot, buildSnapshot, ipIndicators, get, publish } from '../harness.mjs';

const T21 = 'application/taxii+json;version=2.1';
const T20 = 'application/vnd.oasis.taxii+json; version=2.0';
const S20 = 'application/vnd.oasis.stix+json; version=2.0';
const SNAPSHOT_HEADER = 'x-taxii-edge-snapshot';

let w;
let bucket;
let built = 0;

before(async () => {
  // Faults are written into R2 behind the worker's back: it reads the pointer on every request (no memo).
  w = await startWorker({ vars: { POINTER_TTL_MS: '0' } });
  bucket = await w.mf.getR2Bucket('SNAPSHOTS');
});
after(() => w?.stop());

/** Builds and publishes a new snapshot (new objects, so new blobs); returns its keys. */
function fresh() {
  built += 1;
  const dir = buildSnapshot({ collections: { Feed: '' }, indicators: ipIndicators(30, { start: built * 1000 }) });
  publish(w.url, dir);
  const blob = (key) => JSON.parse(readFileSync(join(dir, 'blobs', key), 'utf8'));
  const root = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
  const manifest = blob(root.manifest);
  const c = manifest.collections[0];
  const index = blob(c.index);
  const first = index.streams.all.segments[0];
  return { dir, id: root.snapshot, manifest: root.manifest, collection: c.id, index: c.index, segment: first.key, shards: index.id_shards };
}

async function damage(key) {
  const obj = await bucket.get(key);
  assert.ok(obj, `${key} is in R2`);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  bytes[bytes.length - 2] ^= 0x20;
  await bucket.put(key, bytes);
}

async function truncate(key) {
  const obj = await bucket.get(key);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  await bucket.put(key, bytes.slice(0, Math.floor(bytes.length / 2)));
}

/** A 503 TAXII error with Retry-After, in the version asked for, carrying no objects. */
function assertUnavailable(r, accept, what) {
  assert.equal(r.status, 503, r.text);
  assert.equal(r.headers.get('content-type'), accept === T20 || accept === S20 ? T20 : T21);
  assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
  assert.equal(r.json.http_status, '503');
  assert.equal(r.json.objects, undefined);
  assert.equal(r.json.type, undefined);
  assert.ok(r.json.description.includes(what), `${what} in ${r.json.description}`);
}

/** Waits until the worker's console has logged a line with every one of `parts`. */
async function assertLogged(...parts) {
  const until = Date.now() + 3000;
  for (;;) {
    const line = w.logs().split('\n').find((l) => parts.every((p) => l.includes(p)));
    if (line) return line;
    if (Date.now() > until) assert.fail(`no log line with ${parts.join(' and ')}; the worker logged:\n${w.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const objects = (s) => `${w.url}/threatintel/collections/${s.collection}/objects/`;

/** After a fault, a good publish serves again. */
async function recovers() {
  const good = fresh();
  const r = await get(objects(good));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.objects.length, 30);
  assert.equal(r.headers.get(SNAPSHOT_HEADER), good.id);
}

test('a missing segment', async () => {
  const s = fresh();
  await bucket.delete(s.segment);
  for (const accept of [T21, S20]) assertUnavailable(await get(objects(s), { accept }), accept, `${s.segment} is missing`);
  const log = await assertLogged('GET', s.segment, 'is missing');
  assert.match(log, /the snapshot is damaged/);
  // Descriptive resources that need no segment are still served.
  assert.equal((await get(`${w.url}/threatintel/collections/`)).status, 200);
  await recovers();
});

test('a corrupted segment (its bytes no longer match its hash)', async () => {
  const s = fresh();
  await damage(s.segment);
  for (const accept of [T21, S20]) assertUnavailable(await get(objects(s), { accept }), accept, `${s.segment} does not match its hash`);
  const manifest = await get(`${w.url}/threatintel/collections/${s.collection}/manifest/`);
  assertUnavailable(manifest, T21, 'does not match its hash');
  await assertLogged(s.segment, 'does not match its hash');
  await recovers();
});

test('a truncated manifest', async () => {
  const s = fresh();
  await truncate(s.manifest);
  for (const [path, accept] of [['/threatintel/collections/', T21], ['/threatintel/collections/', T20], [`/threatintel/collections/${s.collection}/objects/`, S20]]) {
    const r = await get(`${w.url}${path}`, { accept });
    assertUnavailable(r, accept, `${s.manifest} does not match its hash`);
    assert.equal(r.headers.get(SNAPSHOT_HEADER), s.id, 'names the snapshot it tried to read');
  }
  await assertLogged(s.manifest, 'does not match its hash');
  // The console's status endpoint says so too (JSON, 503).
  const status = await get(`${w.url}/api/status`);
  assert.equal(status.status, 503);
  assert.match(status.json.error, /does not match its hash/);
  await recovers();
});

test('a pointer to a snapshot that does not exist', async () => {
  fresh();
  const ghost = 'fedcba9876543210fedcba9876543210';
  await bucket.put('current', JSON.stringify({ snapshot: ghost, manifest: `manifest/${ghost}`, published: '2026-01-01T00:00:00Z' }));
  for (const accept of [T21, T20]) assertUnavailable(await get(`${w.url}/threatintel/collections/`, { accept }), accept, `manifest/${ghost} is missing`);
  await assertLogged(`manifest/${ghost}`, 'is missing');
  await recovers();
});

test('a pointer that is not JSON', async () => {
  fresh();
  await bucket.put('current', '{"snapshot": "trunc');
  assertUnavailable(await get(`${w.url}/threatintel/collections/`), T21, 'the current pointer is not valid');
  await assertLogged('the current pointer is not valid');
  await recovers();
});

test('a missing collection index', async () => {
  const s = fresh();
  await bucket.delete(s.index);
  for (const accept of [T21, S20]) assertUnavailable(await get(objects(s), { accept }), accept, `${s.index} is missing`);
  assertUnavailable(await get(`${w.url}/threatintel/collections/${s.collection}/manifest/`), T21, 'is missing');
  await assertLogged(s.index, 'is missing');
  await recovers();
});

test('a corrupted id shard: lookups by id fail, pages do not', async () => {
  const s = fresh();
  for (const shard of s.shards) await damage(shard);
  const page = await get(`${objects(s)}?limit=3`);
  assert.equal(page.status, 200, page.text);
  const id = page.json.objects[0].id;
  for (const [url, accept] of [[`${objects(s)}${id}/`, T21], [`${objects(s)}${id}/`, S20], [`${objects(s)}?match[id]=${id}`, T21], [`${objects(s)}${id}/versions/`, T21]]) {
    assertUnavailable(await get(url, { accept }), accept, 'does not match its hash');
  }
  await assertLogged('ids/', 'does not match its hash');
  await recovers();
});

test('storage that answers too late: a 503 at the deadline (STORE_TIMEOUT_MS), logged', async () => {
  // Every R2 read takes 1.5 s; the worker gives up after 150 ms. The deadline's logic with a store that never
  // answers is tested natively in tests/faults.rs.
  const slow = await startSlowStoreWorker({ delayMs: 1500, vars: { STORE_TIMEOUT_MS: '150', POINTER_TTL_MS: '0' } });
  try {
    const dir = buildSnapshot({ collections: { Feed: '' }, indicators: ipIndicators(5) });
    await putSnapshot(await slow.bucket(), dir);
    for (const [path, accept] of [['/threatintel/collections/', T21], ['/threatintel/collections/', T20], ['/threatintel/', T21]]) {
      const t = Date.now();
      const r = await get(`${slow.url}${path}`, { accept });
      if (path === '/threatintel/') {
        assert.equal(r.status, 200, 'the API root reads no snapshot');
        continue;
      }
      const ms = Date.now() - t;
      assertUnavailable(r, accept, 'reading current took longer than 150 ms (STORE_TIMEOUT_MS)');
      assert.ok(ms < 1400, `answered at the deadline, not when the store did: ${ms} ms`);
    }
    const until = Date.now() + 3000;
    while (!/took longer than 150 ms/.test(slow.logs()) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    assert.match(slow.logs(), /taxii-edge: GET \/threatintel\/collections\/: the snapshot store failed: reading current took longer than 150 ms/);
  } finally {
    await slow.stop();
  }
});

test('storage that is slow but within the deadline serves whole pages', async () => {
  const slow = await startSlowStoreWorker({ delayMs: 40, vars: { STORE_TIMEOUT_MS: '3000', POINTER_TTL_MS: '0' } });
  try {
    const dir = buildSnapshot({ collections: { Feed: '' }, indicators: ipIndicators(25) });
    const id = await putSnapshot(await slow.bucket(), dir);
    const c = (await get(`${slow.url}/threatintel/collections/`)).json.collections[0].id;
    const r = await get(`${slow.url}/threatintel/collections/${c}/objects/`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.objects.length, 25);
    assert.equal(r.headers.get(SNAPSHOT_HEADER), id);
  } finally {
    await slow.stop();
  }
});

test('no fault is ever a 500 or a page of someone else’s objects', async () => {
  // Every fault above left its snapshot damaged in R2; pages of the current snapshot are still whole.
  const s = fresh();
  const r = await get(`${objects(s)}?limit=1000`);
  assert.equal(r.status, 200);
  const values = r.json.objects.map((o) => o.value).sort();
  const want = ipIndicators(30, { start: built * 1000 }).map((i) => i.value).sort();
  assert.deepEqual(values, want);
});
