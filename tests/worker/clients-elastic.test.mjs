// Elastic's Custom Threat Intelligence integration (ti_custom), scripted: polls with its cursor through a first
// load, an interval with nothing new, and a publish. No poll may fail, every object must arrive once, and the
// cursor must stay where it was when nothing is new.
//
// It follows elastic/integrations packages/ti_custom/data_stream/indicator/agent/stream/cel.yml.hbs (the CEL
// program of its TAXII mode): the request is `state.next_url` while `want_more`, else `<url>/?added_after=<cursor
// .last_timestamp, or now − initial_interval in RFC 3339>&limit=<limit>`, with Accept and Content-Type headers; a 200
// or 206 is read as `body.objects.map(…)` (a body without `objects` fails the evaluation: "no such key: objects");
// `want_more` is a non-empty `body.next`, `next_url` is `<url>/?next=<next>&limit=<limit>`, and the cursor is
// replaced by `{last_timestamp: X-TAXII-Date-Added-Last}`: when the header is absent the cursor is lost and the next
// interval starts again from now − initial_interval.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startWorker, buildSnapshot, ipIndicators, get, publish, ADMIN_TOKEN, ROOT } from '../harness.mjs';

const T21 = 'application/taxii+json;version=2.1';
const COLLECTIONS = { 'All IPs': 'type:IP' };
let w;
after(() => w?.stop());

/** The URL with the query the CEL program builds (`format_query` sorts the keys, as Go's url.Values does). */
function withQuery(url, params) {
  const q = Object.keys(params).sort().map((k) => `${k}=${encodeURIComponent(params[k])}`);
  return `${url.replace(/\/+$/, '')}/?${q.join('&')}`;
}

/** One interval: the program evaluated until `want_more` is false. Returns the events; throws on a failed poll. */
async function interval(state, now) {
  const events = [];
  for (let evaluations = 0; ; evaluations++) {
    assert.ok(evaluations < 1000, 'an interval must end');
    const url = state.want_more
      ? state.next_url
      : withQuery(state.url, {
          added_after: state.cursor?.last_timestamp ?? new Date(now - state.initial_interval_ms).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          limit: String(state.limit),
        });
    const r = await get(url, { accept: T21, 'content-type': T21 });
    if (r.status !== 200 && r.status !== 206) throw new Error(`GET: ${r.status} ${r.text}`);
    if (!Array.isArray(r.json.objects)) throw new Error('failed eval: no such key: objects');
    events.push(...r.json.objects);
    const next = r.json.next;
    state.want_more = typeof next === 'string' && next !== '';
    state.next_url = state.want_more ? withQuery(state.url, { next, limit: String(state.limit) }) : state.url;
    const last = r.headers.get('x-taxii-date-added-last');
    state.cursor = last === null ? {} : { last_timestamp: last };
    if (!state.want_more) return events;
  }
}

test('Elastic ti_custom: first load, an empty interval that keeps the cursor, then only what is new', async () => {
  const args = (url) => ['--previous-url', url, '--token', ADMIN_TOKEN];
  w = await startWorker();
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(350), now: '2026-01-01T00:00:00Z', args: args(w.url) }));
  const cols = (await get(`${w.url}/threatintel/collections/`)).json.collections;
  const url = `${w.url}/threatintel/collections/${cols[0].id}/objects/`;
  const state = { url, initial_interval_ms: 30 * 24 * 3600 * 1000, limit: 100, want_more: false };
  const clock = Date.parse('2026-01-02T00:00:00Z');

  const load = await interval(state, clock);
  assert.equal(load.length, 350);
  assert.equal(new Set(load.map((o) => o.id)).size, 350, 'each object once');
  const cursor = state.cursor.last_timestamp;
  assert.ok(cursor, 'the last page names its last date_added');

  // Nothing new: an empty page that the program reads, and the cursor where it was.
  const idle = await interval(state, clock + 3600 * 1000);
  assert.deepEqual(idle, []);
  assert.equal(state.cursor.last_timestamp, cursor, 'an empty page keeps the cursor');

  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(400), now: '2026-01-01T05:00:00Z', args: args(w.url) }));
  const fresh = await interval(state, clock + 2 * 3600 * 1000);
  const seen = new Set(load.map((o) => o.id));
  assert.equal(fresh.length, 50, 'only the new objects');
  assert.ok(fresh.every((o) => !seen.has(o.id)), 'nothing delivered twice');
  const again = await interval(state, clock + 3 * 3600 * 1000);
  assert.deepEqual(again, []);
});

test('Elastic ti_custom: every collection of the demo feed, a first load and then an interval with nothing new', async () => {
  await w?.stop();
  w = await startWorker({ snapshot: join(ROOT, 'demo', 'snapshot') });
  const cols = (await get(`${w.url}/threatintel/collections/`)).json.collections;
  assert.ok(cols.length >= 9, 'the demo has its nine collections');
  const clock = Date.parse('2026-11-02T00:00:00Z');
  for (const c of cols) {
    const url = `${w.url}/threatintel/collections/${c.id}/objects/`;
    let expected = 0;
    for (let next = ''; ; ) {
      const r = await get(next ? `${url}?next=${encodeURIComponent(next)}` : url, { accept: T21 });
      expected += r.json.objects.length;
      if (!r.json.more) break;
      next = r.json.next;
    }
    const state = { url, initial_interval_ms: 30 * 24 * 3600 * 1000, limit: 100, want_more: false };
    const load = await interval(state, clock);
    assert.equal(load.length, expected, `${c.title}: every object`);
    assert.equal(new Set(load.map((o) => o.id)).size, expected, `${c.title}: each object once`);
    const cursor = state.cursor.last_timestamp;
    assert.deepEqual(await interval(state, clock + 3600 * 1000), [], `${c.title}: nothing new`);
    assert.equal(state.cursor.last_timestamp, cursor, `${c.title}: the cursor stays`);
  }
});
