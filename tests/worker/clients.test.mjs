// The paging behaviours of real TAXII clients, each against a 10,000-object collection through the worker:
// every object must arrive exactly once (duplicates are allowed only where the client itself truncates).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, buildSnapshot, ipIndicators, get } from '../harness.mjs';

const N = 10000;
let w;
let objects;

before(async () => {
  const snapshot = buildSnapshot({ collections: { 'Big feed': 'type:IP' }, indicators: ipIndicators(N) });
  w = await startWorker({ snapshot });
  const cols = await get(`${w.url}/threatintel/collections/`);
  objects = `${w.url}/threatintel/collections/${cols.json.collections[0].id}/objects/`;
});
after(() => w?.stop());

function collect(seen, body, { allowDuplicates = false } = {}) {
  for (const o of body.objects ?? []) {
    if (seen.has(o.id) && !allowDuplicates) assert.fail(`${o.id} came twice`);
    seen.add(o.id);
  }
}

test('taxii2-client style: next plus every original filter repeated', async () => {
  const seen = new Set();
  let url = `${objects}?limit=1000&added_after=2000-01-01T00:00:00Z`;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 100, 'paging must end');
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    collect(seen, r.json);
    if (!r.json.more) break;
    url = `${objects}?limit=1000&added_after=2000-01-01T00:00:00Z&next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen.size, N);
});

test("Microsoft Sentinel's troubleshooting request: Accept with a space, then next", async () => {
  const seen = new Set();
  let url = objects;
  for (;;) {
    const r = await get(url, { accept: 'application/taxii+json; version=2.1' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/taxii+json;version=2.1');
    collect(seen, r.json);
    if (!r.json.more) break;
    url = `${objects}?next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen.size, N);
});

test("OpenCTI's ingester: next plus added_after, then the last header truncated to milliseconds", async () => {
  const seen = new Set();
  const first = '2000-01-01T00:00:00.000Z';
  let url = `${objects}?added_after=${first}&limit=700`;
  let lastHeader;
  for (;;) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    collect(seen, r.json);
    lastHeader = r.headers.get('x-taxii-date-added-last') ?? lastHeader;
    if (!(r.json.more && r.json.next)) break;
    url = `${objects}?added_after=${first}&limit=700&next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen.size, N);
  // The next run starts from the header cut to milliseconds: duplicates are possible, gaps never.
  const truncated = lastHeader.slice(0, 23) + 'Z';
  const again = await get(`${objects}?added_after=${truncated}`);
  for (const o of again.json.objects ?? []) assert.ok(seen.has(o.id), 'nothing new appears');
});

test("Elastic ti_custom: added_after without a fraction, then next only, Content-Type on GET", async () => {
  const seen = new Set();
  const headers = { 'content-type': 'application/taxii+json;version=2.1' };
  let url = `${objects}?added_after=2000-01-01T00:00:00Z`;
  for (;;) {
    const r = await get(url, headers);
    assert.equal(r.status, 200, r.text);
    collect(seen, r.json);
    if (!r.json.next) break;
    url = `${objects}?next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen.size, N);
});

test('a header-cursor poller: added_after = the previous X-TAXII-Date-Added-Last, no next', async () => {
  const seen = new Set();
  let after = '';
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 100, 'paging must end');
    const r = await get(after ? `${objects}?limit=900&added_after=${after}` : `${objects}?limit=900`);
    if (!r.json.objects.length) break;
    collect(seen, r.json);
    after = r.headers.get('x-taxii-date-added-last');
    assert.match(after, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
  assert.equal(seen.size, N);
});

test('taxii2-client v20 style: Range items=a-b, then the spelling without "="', async () => {
  const seen = new Set();
  const accept = 'application/vnd.oasis.stix+json; version=2.0';
  for (let start = 0; ; start += 1000) {
    const range = start % 2000 === 0 ? `items=${start}-${start + 999}` : `items ${start}-${start + 999}`;
    const r = await get(objects, { accept, range });
    if (r.status === 416) {
      assert.equal(r.headers.get('content-range'), `items */${N}`);
      break;
    }
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `items ${start}-${Math.min(start + 999, N - 1)}/${N}`);
    collect(seen, r.json);
  }
  assert.equal(seen.size, N);
});

test('a next of other filters or another collection is not followed; an altered one is a 400 naming next', async () => {
  const r = await get(`${objects}?limit=10`);
  const next = r.json.next;
  // Other filters: answered from the request's own, from their start, and the response says so.
  const other = await get(`${objects}?limit=10&match[type]=ipv4-addr&added_after=2025-01-01T00:00:00Z&next=${encodeURIComponent(next)}`);
  assert.equal(other.status, 200, other.text);
  assert.match(other.headers.get('x-taxii-edge-next-ignored'), /^other-filters/);
  const fresh = await get(`${objects}?limit=10&match[type]=ipv4-addr&added_after=2025-01-01T00:00:00Z`);
  assert.equal(other.text, fresh.text);
  // Its own filters repeated: followed.
  const followed = await get(`${objects}?limit=10&next=${encodeURIComponent(next)}`);
  assert.equal(followed.headers.get('x-taxii-edge-next-ignored'), null);
  assert.notEqual(followed.json.objects[0].id, r.json.objects[0].id);
  const altered = next.slice(0, -2) + (next.endsWith('AA') ? 'BB' : 'AA');
  const bad = await get(`${objects}?added_after=2025-01-01T00:00:00Z&next=${encodeURIComponent(altered)}`);
  assert.equal(bad.status, 400, 'a forged token is refused even with filters of its own');
  assert.equal(bad.json.details.parameter, 'next');
});
