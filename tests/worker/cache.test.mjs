// The edge response cache (Workers Cache API, caches.default) through the real worker in workerd: hits give the
// same bytes and ETag, entries never cross viewers, credentials are checked before the cache, a publish moves
// first pages to new entries while old `next` pages stay, If-None-Match and HEAD are answered from an entry, and
// signed-in responses stay `private, no-store` toward the client while the edge keeps them under the view's key.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startWorker, buildSnapshot, publish, putSnapshot, get, cli, tempDir, ipIndicators, addUser } from '../harness.mjs';

const V20 = 'application/vnd.oasis.taxii+json; version=2.0';
const STIX20 = 'application/vnd.oasis.stix+json; version=2.0';
const MISSING = 'indicator--00000000-0000-4000-8000-000000000000';

let w;
const ids = {}; // title → collection id
const pw = {};
const b64 = (s) => Buffer.from(s).toString('base64');
const basic = (u, p) => `Basic ${b64(`${u}:${p}`)}`;
const cache = (r) => r.headers.get('x-taxii-edge-cache');
/** The parts named in a response's Server-Timing header, each with a duration in milliseconds. */
const timingParts = (r) =>
  (r.headers.get('server-timing') ?? '').split(', ').map((p) => {
    const m = p.match(/^([a-z]+);dur=(\d+(?:\.\d+)?)$/);
    assert.ok(m, `a Server-Timing part "${p}" in "${r.headers.get('server-timing')}"`);
    return m[1];
  });

function indicators(n, start = 0) {
  const out = ipIndicators(n, { start });
  for (let i = start; i < start + n; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
    out.push({ value: `d${i}.example`, indicator_type: 'Domain', score: 3, modified: t });
    out.push({ value: `https://u${i}.example/x`, indicator_type: 'URL', score: 3, modified: t });
  }
  return out;
}

const COLLECTIONS = { 'Public IPs': 'type:IP', 'Partner Domains': 'type:Domain', 'Internal URLs': 'type:URL' };

before(async () => {
  const snapshot = buildSnapshot({ collections: COLLECTIONS, indicators: indicators(30) });
  const root = JSON.parse(readFileSync(join(snapshot, 'snapshot.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(snapshot, 'blobs', root.manifest), 'utf8'));
  for (const c of manifest.collections) ids[c.title] = c.id;
  const file = join(tempDir('taxii-edge-users-'), 'users.json');
  pw.partner = addUser(file, 'partner', 'Partner Domains');
  pw.partner2 = addUser(file, 'partner2', 'Partner Domains');
  pw.analyst = addUser(file, 'analyst', '*');
  w = await startWorker({
    snapshot,
    vars: { PUBLIC_COLLECTIONS: 'Public IPs' },
    secrets: { TAXII_USERS: readFileSync(file, 'utf8').trim() },
  });
});
after(() => w?.stop());

const objects = (title, q = '') => `${w.url}/threatintel/collections/${ids[title]}/objects/${q}`;

test('a second identical request is a HIT with the same bytes and ETag', async () => {
  const url = objects('Public IPs', '?limit=7');
  const a = await get(url);
  assert.equal(a.status, 200, a.text);
  assert.equal(cache(a), 'MISS');
  const b = await get(url);
  assert.equal(b.status, 200);
  assert.equal(cache(b), 'HIT');
  assert.equal(b.text, a.text);
  assert.equal(b.headers.get('etag'), a.headers.get('etag'));
  assert.equal(b.headers.get('content-type'), a.headers.get('content-type'));
  assert.equal(b.headers.get('cache-control'), 'public, max-age=60');
  assert.equal(b.headers.get('vary'), 'Accept, Authorization');
  assert.equal(b.headers.get('x-taxii-edge-status'), null, 'the internal status header stays inside');
  // Where the time went: a MISS rendered the page, a HIT only looked it up (never the MISS's timing, kept).
  assert.deepEqual(timingParts(a), ['prepare', 'cache', 'respond']);
  assert.deepEqual(timingParts(b), ['prepare', 'cache']);
  // Another negotiated version is another entry.
  const v20 = await get(url.replace('?limit=7', ''), { accept: V20 });
  assert.equal(v20.status, 200);
  assert.equal(cache(v20), 'MISS');
  assert.match(v20.headers.get('content-type'), /stix\+json; ?version=2\.0/);
});

test('If-None-Match and HEAD are answered from the entry', async () => {
  const url = objects('Public IPs', '?limit=3');
  const a = await get(url);
  const etag = a.headers.get('etag');
  const nm = await get(url, { 'if-none-match': etag });
  assert.equal(nm.status, 304);
  assert.equal(cache(nm), 'HIT');
  assert.equal(nm.text, '');
  assert.equal(nm.headers.get('etag'), etag);
  const other = await get(url, { 'if-none-match': '"not-it"' });
  assert.equal(other.status, 200);
  assert.equal(cache(other), 'HIT');
  assert.equal(other.text, a.text);
  const head = await fetch(url, { method: 'HEAD', headers: { accept: 'application/taxii+json;version=2.1' } });
  assert.equal(head.status, 200);
  assert.equal(cache(head), 'HIT');
  assert.equal(head.headers.get('etag'), etag);
  assert.equal((await head.text()).length, 0);
  // A 304 on a miss still fills the entry.
  const fresh = objects('Public IPs', '?limit=4');
  const first = await get(fresh, { 'if-none-match': '*' });
  assert.equal(first.status, 304);
  assert.equal(cache(first), 'MISS');
  const then = await get(fresh);
  assert.equal(then.status, 200);
  assert.equal(cache(then), 'HIT');
  assert.equal(JSON.parse(then.text).objects.length, 4);
});

test('viewers never get each other\'s entries; users with the same view share', async () => {
  const list = `${w.url}/threatintel/collections/`;
  const anon = await get(list);
  assert.equal(anon.status, 200, anon.text);
  assert.deepEqual(anon.json.collections.map((c) => c.title), ['Public IPs']);
  const analyst = await get(list, { authorization: basic('analyst', pw.analyst) });
  assert.equal(analyst.status, 200);
  assert.equal(cache(analyst), 'MISS', 'the anonymous entry is not the analyst\'s');
  assert.deepEqual(analyst.json.collections.map((c) => c.title).sort(), ['Internal URLs', 'Partner Domains', 'Public IPs']);
  const partner = await get(list, { authorization: basic('partner', pw.partner) });
  assert.equal(cache(partner), 'MISS');
  assert.deepEqual(partner.json.collections.map((c) => c.title).sort(), ['Partner Domains', 'Public IPs']);
  const partner2 = await get(list, { authorization: basic('partner2', pw.partner2) });
  assert.equal(cache(partner2), 'HIT', 'the same view shares the entry');
  assert.equal(partner2.text, partner.text);
  const anonAgain = await get(list);
  assert.equal(cache(anonAgain), 'HIT');
  assert.deepEqual(anonAgain.json.collections.map((c) => c.title), ['Public IPs']);

  // A collection the analyst read (and the edge kept) stays closed to the anonymous caller and to a partner.
  const internal = objects('Internal URLs');
  const a1 = await get(internal, { authorization: basic('analyst', pw.analyst) });
  assert.equal(a1.status, 200);
  const a2 = await get(internal, { authorization: basic('analyst', pw.analyst) });
  assert.equal(cache(a2), 'HIT');
  assert.equal((await get(internal)).status, 401);
  const p = await get(internal, { authorization: basic('partner', pw.partner) });
  assert.equal(p.status, 404);
  assert.doesNotMatch(p.text, /u1\.example/);
});

test('a wrong password is refused even when the URL is cached', async () => {
  const url = objects('Partner Domains');
  const ok = await get(url, { authorization: basic('partner', pw.partner) });
  assert.equal(ok.status, 200);
  const hit = await get(url, { authorization: basic('partner', pw.partner) });
  assert.equal(cache(hit), 'HIT');
  const wrong = await get(url, { authorization: basic('partner', `${pw.partner}x`) });
  assert.equal(wrong.status, 401);
  assert.equal(cache(wrong), null, 'refused before the cache');
  assert.deepEqual(timingParts(wrong), ['prepare'], 'refused before the cache and the store');
  assert.doesNotMatch(wrong.text, /d1\.example/);
  const none = await get(url);
  assert.equal(none.status, 401);
  const unknown = await get(url, { authorization: basic('nobody', pw.partner) });
  assert.equal(unknown.status, 401);
});

test('signed-in responses are private toward the client but kept at the edge under the view', async () => {
  const url = objects('Partner Domains', '?limit=5');
  const a = await get(url, { authorization: basic('partner', pw.partner) });
  assert.equal(cache(a), 'MISS');
  assert.equal(a.headers.get('cache-control'), 'private, no-store');
  const b = await get(url, { authorization: basic('partner', pw.partner) });
  assert.equal(cache(b), 'HIT');
  assert.equal(b.headers.get('cache-control'), 'private, no-store');
  assert.equal(b.text, a.text);
  // The anonymous caller reads public content with a public Cache-Control, hit or miss.
  const pub = await get(objects('Public IPs', '?limit=5'));
  assert.equal(pub.headers.get('cache-control'), 'public, max-age=60');
  // A signed-in caller on the same public URL has its own view: its own entry, and private.
  const signed = await get(objects('Public IPs', '?limit=5'), { authorization: basic('analyst', pw.analyst) });
  assert.equal(cache(signed), 'MISS');
  assert.equal(signed.headers.get('cache-control'), 'private, no-store');
  assert.equal(signed.text, pub.text);
});

test('TAXII 404s and 2.0 ranges (206) are kept with their status', async () => {
  const url = `${objects('Public IPs')}${MISSING}/`;
  const a = await get(url);
  assert.equal(a.status, 404, a.text);
  const b = await get(url);
  assert.equal(b.status, 404);
  assert.equal(cache(b), 'HIT');
  assert.equal(b.text, a.text);
  const r1 = await get(objects('Public IPs'), { accept: V20, range: 'items 0-4' });
  assert.equal(r1.status, 206, r1.text);
  const r2 = await get(objects('Public IPs'), { accept: V20, range: 'items 0-4' });
  assert.equal(r2.status, 206);
  assert.equal(cache(r2), 'HIT');
  assert.equal(r2.headers.get('content-range'), r1.headers.get('content-range'));
  assert.equal(r2.text, r1.text);
  assert.ok(r2.headers.get('content-type').startsWith(STIX20.split(';')[0]));
  const r3 = await get(objects('Public IPs'), { accept: V20, range: 'items 5-9' });
  assert.equal(cache(r3), 'MISS', 'another range is another entry');
  assert.notEqual(r3.text, r1.text);
  // Errors that are not facts of the snapshot are never kept.
  const bad = await get(objects('Public IPs', '?limit=abc'));
  assert.equal(bad.status, 400);
  const bad2 = await get(objects('Public IPs', '?limit=abc'));
  assert.equal(cache(bad2), 'MISS');
});

test('after a publish the first page is new, while an old next page is still served', async () => {
  const first = objects('Public IPs', '?limit=10');
  const p1 = await get(first);
  assert.equal(p1.status, 200);
  assert.ok(p1.json.next, 'paged');
  const nextUrl = objects('Public IPs', `?limit=10&next=${encodeURIComponent(p1.json.next)}`);
  const n1 = await get(nextUrl);
  assert.equal(n1.status, 200);
  assert.equal(n1.headers.get('cache-control'), 'public, max-age=86400');
  const n2 = await get(nextUrl);
  assert.equal(cache(n2), 'HIT');
  assert.equal((await get(first)).headers.get('x-taxii-edge-cache'), 'HIT');

  // Publish 20 more objects.
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: indicators(50), now: '2026-01-02T00:00:00Z' }));
  const p2 = await get(first);
  assert.equal(p2.status, 200);
  assert.equal(cache(p2), 'MISS', 'the new snapshot is a new key');
  const all = await get(objects('Public IPs', '?limit=1000'));
  assert.equal(all.json.objects.length, 50, 'the new objects are served');
  assert.ok(all.json.objects.some((o) => o.value === '10.0.0.45'));
  const n3 = await get(nextUrl);
  assert.equal(n3.status, 200);
  assert.equal(cache(n3), 'HIT', 'a page reached by next is immutable');
  assert.equal(n3.text, n1.text);
});

test('discovery and the API root are kept too, but not the status page', async () => {
  const d1 = await get(`${w.url}/taxii2/`);
  const d2 = await get(`${w.url}/taxii2/`);
  assert.equal(d2.status, 200);
  assert.equal(cache(d2), 'HIT');
  assert.equal(d2.text, d1.text);
  assert.equal(d2.headers.get('cache-control'), 'public, max-age=300');
  const s = await get(`${w.url}/api/status`);
  assert.equal(s.headers.get('cache-control'), 'no-store');
  assert.deepEqual(timingParts(s), ['prepare', 'respond']);
  assert.equal(cache(await get(`${w.url}/api/status`)), null);
});

test('wrangler dev (local mode) has the edge cache too', async () => {
  const snapshot = buildSnapshot({ collections: { 'Public IPs': 'type:IP' }, indicators: ipIndicators(12) });
  const wd = await startWorker({ snapshot, wrangler: true });
  try {
    const list = await get(`${wd.url}/threatintel/collections/`);
    assert.equal(list.status, 200, list.text);
    const url = `${wd.url}/threatintel/collections/${list.json.collections[0].id}/objects/?limit=5`;
    const a = await get(url);
    assert.equal(cache(a), 'MISS');
    let b = await get(url);
    // wrangler's proxy may return before the worker's waitUntil put lands: one retry.
    if (cache(b) !== 'HIT') {
      await new Promise((r) => setTimeout(r, 200));
      b = await get(url);
    }
    assert.equal(cache(b), 'HIT');
    assert.equal(b.text, a.text);
  } finally {
    await wd.stop();
  }
});

test('without a Cache API (a workers.dev hostname) every request is a correct MISS', async () => {
  const snapshot = buildSnapshot({ collections: { 'Public IPs': 'type:IP' }, indicators: ipIndicators(12) });
  const w0 = await startWorker({ snapshot, cache: false });
  try {
    const list = await get(`${w0.url}/threatintel/collections/`);
    const url = `${w0.url}/threatintel/collections/${list.json.collections[0].id}/objects/?limit=5`;
    const a = await get(url);
    const b = await get(url);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual([cache(a), cache(b)], ['MISS', 'MISS']);
    assert.equal(b.text, a.text);
    const nm = await get(url, { 'if-none-match': a.headers.get('etag') });
    assert.equal(nm.status, 304);
  } finally {
    await w0.stop();
  }
});

test('an isolate reuses the pointer it read for POINTER_TTL_MS; a switch through the admin API is seen at once', async () => {
  const TTL = 1500;
  const own = await startWorker({ vars: { POINTER_TTL_MS: String(TTL) } });
  try {
    const snap = (start) => buildSnapshot({ collections: { Feed: '' }, indicators: ipIndicators(5, { start }) });
    const a = snap(100);
    const b = snap(200);
    const c = snap(300);
    const id = (dir) => JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')).snapshot;
    publish(own.url, a);
    const t0 = Date.now(); // the isolate's memo of the pointer is from now or later
    const cols = await get(`${own.url}/threatintel/collections/`);
    const first = `${own.url}/threatintel/collections/${cols.json.collections[0].id}/objects/`;
    const served = async () => (await get(first)).headers.get('x-taxii-edge-snapshot');
    assert.equal(await served(), id(a));
    // b is made current behind the worker's back (straight into R2): within the TTL the isolate still serves a.
    await putSnapshot(await own.mf.getR2Bucket('SNAPSHOTS'), b);
    const asked = Date.now();
    const stale = await served();
    // (On a machine so slow that the TTL ran out meanwhile, either is right.)
    if (asked - t0 < TTL - 100) assert.equal(stale, id(a), 'the memo, within the TTL');
    else assert.ok([id(a), id(b)].includes(stale));
    await new Promise((r) => setTimeout(r, TTL + 100));
    assert.equal(await served(), id(b), 'one TTL later the isolate reads the pointer again');
    // A publish through the admin API switches in this isolate, which forgets its memo.
    publish(own.url, c);
    assert.equal(await served(), id(c));
  } finally {
    await own.stop();
  }
});

test('a page whose next is not followed is current content: a publish later it is answered afresh', async () => {
  const p = await get(objects('Public IPs', '?limit=5'));
  const url = objects('Public IPs', `?limit=1000&added_after=2000-01-01T00:00:00Z&next=${encodeURIComponent(p.json.next)}`);
  const before = await get(url);
  assert.equal(before.status, 200);
  assert.match(before.headers.get('x-taxii-edge-next-ignored'), /^other-filters/);
  assert.equal(before.headers.get('cache-control'), 'public, max-age=60', 'not the immutable age of a next page');
  assert.equal(cache(await get(url)), 'HIT');
  const n = before.json.objects.length;
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: indicators(n + 7), now: '2026-01-05T00:00:00Z' }));
  const later = await get(url);
  assert.equal(cache(later), 'MISS', 'keyed by the current snapshot, not the token');
  assert.equal(later.json.objects.length, n + 7);
});
