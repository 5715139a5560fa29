// The walking skeleton through the real worker in workerd: publish a snapshot with the CLI, read it over HTTP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, buildSnapshot, ipIndicators, get, publish, cli, ADMIN_TOKEN } from '../harness.mjs';

const V21 = 'application/taxii+json;version=2.1';
let w;
let snapshot;

before(async () => {
  snapshot = buildSnapshot({
    collections: { 'All IPs': 'type:IP', Everything: { query: '', description: 'Every indicator' } },
    indicators: ipIndicators(2500),
    args: ['--customer-string', 'test'],
  });
  w = await startWorker({ snapshot });
});
after(() => w?.stop());

test('discovery, API root and collections answer in TAXII 2.1', async () => {
  const d = await get(`${w.url}/taxii2/`);
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('content-type'), V21);
  assert.deepEqual(d.json.api_roots, [`${w.url}/threatintel/`]);
  const root = await get(d.json.default);
  assert.deepEqual(root.json.versions, [V21]);
  const cols = await get(`${w.url}/threatintel/collections/`);
  assert.deepEqual(cols.json.collections.map((c) => c.title), ['All IPs', 'Everything']);
});

test('objects page by next with every object exactly once, ascending by date_added', async () => {
  const cols = await get(`${w.url}/threatintel/collections/`);
  const id = cols.json.collections[0].id;
  const seen = new Set();
  let url = `${w.url}/threatintel/collections/${id}/objects/?limit=1000`;
  let lastHeader = '';
  for (;;) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.headers.get('x-taxii-date-added-first') > lastHeader);
    lastHeader = r.headers.get('x-taxii-date-added-last');
    for (const o of r.json.objects) {
      assert.equal(o.spec_version, '2.1');
      assert.ok(!seen.has(o.id), `duplicate ${o.id}`);
      seen.add(o.id);
    }
    if (!r.json.more) break;
    assert.ok(r.json.next, 'more: true always comes with next');
    url = `${w.url}/threatintel/collections/${id}/objects/?limit=1000&next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen.size, 2500);
});

test('manifest records match the objects', async () => {
  const cols = await get(`${w.url}/threatintel/collections/`);
  const id = cols.json.collections[1].id;
  const m = await get(`${w.url}/threatintel/collections/${id}/manifest/?limit=5`);
  const o = await get(`${w.url}/threatintel/collections/${id}/objects/?limit=5`);
  assert.deepEqual(m.json.objects.map((r) => r.id), o.json.objects.map((r) => r.id));
  assert.equal(m.json.objects[0].media_type, 'application/stix+json;version=2.1');
  assert.equal(m.json.more, true);
});

test('errors are TAXII error resources, never HTML or 500', async () => {
  for (const [path, status] of [
    ['/nope', 404],
    ['/threatintel/collections/unknown/objects/', 404],
    ['/threatintel/status/123/', 404],
  ]) {
    const r = await get(`${w.url}${path}`);
    assert.equal(r.status, status, path);
    assert.equal(r.json.http_status, String(status));
    assert.equal(r.headers.get('content-type'), V21);
  }
  const r = await get(`${w.url}/taxii2/`, { accept: 'text/html' });
  assert.equal(r.status, 406);
});

test('the admin path refuses a wrong token and an unknown blob key', async () => {
  const bad = await fetch(`${w.url}/admin/current`, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(bad.status, 401);
  const put = await fetch(`${w.url}/admin/blobs/segment/00000000000000000000000000000000`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: 'not what the name says',
  });
  assert.equal(put.status, 400);
});

test('publishing again uploads nothing and a new snapshot switches atomically', async () => {
  const again = publish(w.url, snapshot);
  assert.match(again.stdout, /0 of \d+ blobs uploaded/);
  const bigger = buildSnapshot({ collections: { 'All IPs': 'type:IP' }, indicators: ipIndicators(10) });
  publish(w.url, bigger);
  const cols = await get(`${w.url}/threatintel/collections/`);
  assert.deepEqual(cols.json.collections.map((c) => c.title), ['All IPs']);
  // Back to the first snapshot for the tests below: it was current before, so only as a rollback.
  cli(['publish', snapshot, '--url', w.url, '--token', ADMIN_TOKEN, '--rollback']);
});

test('the CLI reports a bad publish token clearly', () => {
  const r = cli(['publish', snapshot, '--url', w.url, '--token', 'wrong'], { allowFail: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refused the admin token/);
});
