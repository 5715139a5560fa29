// A poller whose clock keeps milliseconds (JavaScript `Date`, Java `Instant.toEpochMilli` in many SIEM schedulers):
// it pages with added_after = the last page's X-TAXII-Date-Added-Last cut to milliseconds, as
// `new Date(header).toISOString()` does. With several objects in one millisecond it would read the same page forever;
// date_added values are whole, distinct milliseconds, so the cut is exact: it ends, with every object once.
// The poller in two shapes: the cursor moved on every page (pages end when one comes back empty), or pages followed
// by `next` within a run (the run's own added_after repeated, as taxii2-client and OpenCTI's ingester send it) and
// the cursor kept for the next run. It speaks TAXII 2.1 only (no 2.0 Range paging), so it is run over 2.1 only.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startWorker, buildSnapshot, ipIndicators, get, publish, ADMIN_TOKEN, ROOT } from '../harness.mjs';

const COLLECTIONS = { 'All IPs': 'type:IP' };
const MAX_REQUESTS = 50;
let w;
let demo;
after(() => w?.stop());
after(() => demo?.stop());

/**
 * Reads everything after `after` (a JS ISO string, or undefined for all); gives up after MAX_REQUESTS. With `next`,
 * one run: pages followed by `next` (with the run's added_after) until `more` is false; without, the cursor moves
 * on every page until a page comes back empty. Either way the returned `after` is the last header cut to ms.
 */
async function poll(objectsUrl, after, { next = false } = {}) {
  const seen = [];
  const query = (since) => (since ? `${objectsUrl}?limit=100&added_after=${since}` : `${objectsUrl}?limit=100`);
  const start = after;
  let url = query(after);
  for (let requests = 0; ; requests++) {
    assert.ok(requests < MAX_REQUESTS, `still polling after ${MAX_REQUESTS} requests: the millisecond cursor does not move`);
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    const objects = r.json.objects ?? [];
    if (objects.length === 0) return { seen, after };
    seen.push(...objects.map((o) => o.id));
    after = new Date(r.headers.get('x-taxii-date-added-last')).toISOString();
    if (!next) url = query(after);
    else if (r.json.more) url = `${query(start)}&next=${encodeURIComponent(r.json.next)}`;
    else return { seen, after };
  }
}

test('a millisecond cursor ends, misses nothing and sees nothing twice, across publishes', async () => {
  const args = (url) => ['--previous-url', url, '--token', ADMIN_TOKEN];
  w = await startWorker();
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(600), now: '2026-01-01T00:00:00Z', args: args(w.url) }));
  const cols = (await get(`${w.url}/threatintel/collections/`)).json.collections;
  const objects = `${w.url}/threatintel/collections/${cols[0].id}/objects/`;
  const manifest = objects.replace(/objects\/$/, 'manifest/');
  const first = await poll(objects);
  assert.equal(first.seen.length, 600);
  assert.equal(new Set(first.seen).size, 600, 'each object once');

  const dates1 = new Map((await get(`${manifest}?limit=1000`)).json.objects.map((m) => [m.id, m.date_added]));
  for (const d of dates1.values()) assert.match(d, /\.\d{3}000Z$/, 'date_added is a whole millisecond');
  assert.equal(new Set(dates1.values()).size, 600, 'date_added is unique');
  assert.ok([...dates1.values()].every((d) => d <= '2026-01-01T00:00:00.000000Z'), 'a first build is dated up to its build time');

  // A second publish soon after, with more new objects than milliseconds elapsed since the first.
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(1300), now: '2026-01-01T00:00:00.200Z', args: args(w.url) }));
  const second = await poll(objects, first.after);
  assert.equal(second.seen.length, 700, 'exactly the new objects');
  assert.ok(second.seen.every((id) => !dates1.has(id)));
  const all = [];
  for (let url = `${manifest}?limit=1000`; ; ) {
    const r = await get(url);
    all.push(...r.json.objects);
    if (!r.json.more) break;
    url = `${manifest}?next=${encodeURIComponent(r.json.next)}`;
  }
  const newest1 = [...dates1.values()].sort().at(-1);
  for (const m of all) {
    assert.match(m.date_added, /\.\d{3}000Z$/);
    if (dates1.has(m.id)) assert.equal(m.date_added, dates1.get(m.id), 'an object keeps its date_added');
    else assert.ok(m.date_added > newest1, 'a new object comes after every earlier one');
  }
  assert.equal(new Set(all.map((m) => m.date_added)).size, 1300);
});

/** Every object id of a collection, by plain `next` paging. */
async function listing(objectsUrl) {
  const ids = [];
  for (let url = `${objectsUrl}?limit=500`; ; ) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    ids.push(...(r.json.objects ?? []).map((o) => o.id));
    if (!r.json.more) return ids;
    url = `${objectsUrl}?limit=500&next=${encodeURIComponent(r.json.next)}`;
  }
}

// The demo feed as `npm start` serves it: every collection (the Sentinel and XSOAR ones included), two runs in a row
// in both shapes: the first gets every object of the collection once, the second (from the first's cursor) nothing.
test('a millisecond cursor over every collection of the demo feed, twice in a row (2.1)', async () => {
  demo = await startWorker({ snapshot: join(ROOT, 'demo', 'snapshot') });
  const cols = (await get(`${demo.url}/threatintel/collections/`)).json.collections;
  assert.ok(cols.length >= 9, 'the demo has its nine collections');
  for (const c of cols) {
    const objects = `${demo.url}/threatintel/collections/${c.id}/objects/`;
    const all = await listing(objects);
    assert.ok(all.length > 0, c.title);
    for (const next of [false, true]) {
      const label = `${c.title}, ${next ? 'pages by next' : 'cursor on every page'}`;
      const first = await poll(objects, undefined, { next });
      assert.equal(new Set(first.seen).size, first.seen.length, `${label}: an object came twice`);
      assert.deepEqual([...first.seen].sort(), [...all].sort(), `${label}: objects missed or extra`);
      const second = await poll(objects, first.after, { next });
      assert.deepEqual(second.seen, [], `${label}: the second run got objects again`);
    }
  }
});
