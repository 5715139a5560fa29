// OpenCTI's taxii2 connector, scripted: two runs in a row over several collections, TAXII 2.1 and 2.0, with a publish
// between them. Every object must arrive, none twice, and no request may fail.
//
// It follows OpenCTI-Platform/connectors external-import/taxii2/src/connector/ (taxii2client underneath):
// - connector.py, Connector.process_message: one `Taxii2` instance lives as long as the connector; each run sets
//   `filters["limit"]` (2.1, when enable_url_query_limit) and `filters["added_after"]` to the previous run's start
//   (`last_run`, whole seconds, "%Y-%m-%dT%H:%M:%S.%fZ") or, on the first run, now − initial_history; then
//   `_collect_intelligence` polls each configured collection ("root.*": `Taxii2.poll_entire_root`, in the order of
//   the collections endpoint), and any HTTP error discards the objects of that configured entry.
// - client_taxii.py, Taxii2.poll: `get_objects(**self.filters)`; over 2.1, while `more` is true: pop `added_after`
//   and send `next` (never cleared: it stays in `self.filters` for the next collection and the next run); over 2.0
//   (chosen from the bundle's `spec_version`), `get_manifest(id=<last object>)` and `added_after` = its first
//   record's date_added, until `len(response["objects"]) == 0` (read unconditionally: a bundle without `objects`
//   raises KeyError). Over 2.0 that `added_after` also stays for the next collection: one collection's last
//   date_added becomes the next one's `added_after`, which no server can serve without loss once two publishes
//   fall between runs (docs/PROTOCOL.md; the test "one connector for two collections" shows it), so the other 2.0
//   runs here use one connector (one `Taxii2`) per collection, as a 2.0 user must.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startWorker, buildSnapshot, ipIndicators, get, publish, ADMIN_TOKEN, ROOT } from '../harness.mjs';

const T21 = 'application/taxii+json;version=2.1';
const S20 = 'application/vnd.oasis.stix+json; version=2.0';
const T20 = 'application/vnd.oasis.taxii+json; version=2.0';
const COLLECTIONS = { 'Web IPs': 'type:IP and score:>=2', 'All IPs': 'type:IP', Domains: 'type:Domain' };

function domains(n, { start = 0 } = {}) {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    const t = new Date(Date.UTC(2025, 1, 1) + i * 1000).toISOString();
    return { value: `host${i}.example.com`, indicator_type: 'Domain', score: 3, timestamp: t, modified: t };
  });
}

let w;
let root;

/** Publishes a build over what the worker serves (date_added kept across publishes). */
function release(indicators, now) {
  const args = ['--previous-url', w.url, '--token', ADMIN_TOKEN];
  publish(w.url, buildSnapshot({ collections: COLLECTIONS, indicators, now, args }));
}

/** taxii2client's request: query parameters in the order of the filters dict, raise_for_status on errors. */
async function taxiiGet(url, params, accept) {
  const q = Object.entries(params).map(([k, v]) => `${k === 'id' ? 'match[id]' : k}=${encodeURIComponent(v)}`);
  const r = await get(q.length ? `${url}?${q.join('&')}` : url, { accept });
  if (r.status >= 400) throw new Error(`HTTPError ${r.status}: ${r.text}`);
  return r;
}

/** Taxii2.poll: one collection with the connector's shared filters; returns the objects it would send. */
async function poll(collection, filters, version) {
  const objectsUrl = `${root}collections/${collection.id}/objects/`;
  const objects = [];
  const accept = version === '2.1' ? T21 : S20;
  let response = (await taxiiGet(objectsUrl, filters, accept)).json;
  if (!(response.objects && response.objects.length > 0)) return objects;
  const spec = response.spec_version ?? response.objects[0].spec_version ?? '2.0';
  if (spec === '2.0') {
    for (;;) {
      objects.push(...response.objects);
      const last = response.objects[response.objects.length - 1];
      const manifestUrl = `${root}collections/${collection.id}/manifest/`;
      const manifest = (await taxiiGet(manifestUrl, { id: last.id }, T20)).json;
      if (!(manifest.objects && manifest.objects.length > 0)) break;
      filters.added_after = manifest.objects[0].date_added;
      response = (await taxiiGet(objectsUrl, filters, accept)).json;
      if (!('objects' in response)) throw new Error("KeyError: 'objects'");
      if (response.objects.length === 0) break;
    }
  } else {
    for (;;) {
      objects.push(...(response.objects ?? []));
      if (response.more !== true) break;
      if ('next' in response) {
        delete filters.added_after;
        filters.next = response.next;
        response = (await taxiiGet(objectsUrl, filters, accept)).json;
      }
    }
  }
  return objects;
}

/**
 * Connector.process_message for a "threatintel.*" configuration: one run at `clock` (ms). Returns the objects
 * delivered per collection title, or throws as the run would log its error.
 */
async function run(connector, clock, version, only) {
  const { filters, state } = connector;
  if (version === '2.1') filters.limit = 100;
  filters.added_after =
    state.last_run !== undefined
      ? new Date(state.last_run * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
      : new Date(clock - 24 * 3600 * 1000 * 400).toISOString(); // initial_history: 400 days
  const accept = version === '2.1' ? T21 : T20;
  const cols = (await taxiiGet(`${root}collections/`, {}, accept)).json.collections;
  const delivered = {};
  for (const c of cols.filter((c) => !only || c.title === only)) delivered[c.title] = await poll(c, filters, version);
  state.last_run = Math.floor(clock / 1000);
  return delivered;
}

/** Checks a run delivered exactly `expected` (title → ids), each once. */
function exactly(delivered, expected, label) {
  for (const [title, ids] of Object.entries(expected)) {
    const got = (delivered[title] ?? []).map((o) => o.id);
    assert.equal(new Set(got).size, got.length, `${label}, ${title}: an object came twice`);
    assert.deepEqual([...got].sort(), [...ids].sort(), `${label}, ${title}: objects missed or extra`);
  }
}

/** Every id of every collection, over `version`, read by plain paging. */
async function served(version) {
  const out = {};
  const cols = (await get(`${root}collections/`)).json.collections;
  for (const c of cols) {
    const url = `${root}collections/${c.id}/objects/`;
    if (version === '2.0') {
      const r = await get(url, { accept: S20 });
      assert.equal(r.status, 200, 'fits one page');
      out[c.title] = r.json.objects.map((o) => o.id);
      continue;
    }
    out[c.title] = [];
    for (let next = ''; ; ) {
      const r = await get(next ? `${url}?next=${encodeURIComponent(next)}` : url);
      out[c.title].push(...(r.json.objects ?? []).map((o) => o.id));
      if (!r.json.more) break;
      next = r.json.next;
    }
  }
  return out;
}

const minus = (now, before) =>
  Object.fromEntries(Object.entries(now).map(([t, ids]) => [t, ids.filter((id) => !(before[t] ?? []).includes(id))]));

afterEach(() => w?.stop());

for (const version of ['2.1', '2.0']) {
  test(`OpenCTI taxii2 connector over ${version}: two runs, several collections, a publish between`, async () => {
    w = await startWorker();
    root = `${w.url}/threatintel/`;
    const first = ipIndicators(260).concat(domains(130));
    release(first, '2026-01-01T00:00:00Z');
    const before1 = await served(version);
    assert.ok(Object.values(before1).every((ids) => ids.length > 100), 'every collection needs several pages');
    const clock1 = Date.parse('2026-01-01T01:00:00Z');
    const titles = Object.keys(before1);
    // 2.1: one connector for every collection; 2.0: one per collection (see the header).
    const connectors = version === '2.1' ? [[undefined, newConnector()]] : titles.map((t) => [t, newConnector()]);
    const run1 = {};
    for (const [only, c] of connectors) Object.assign(run1, await run(c, clock1, version, only));
    exactly(run1, before1, 'run 1');

    release(first.concat(ipIndicators(140, { start: 260 }), domains(20, { start: 130 })), '2026-01-01T02:00:00Z');
    const before2 = await served(version);
    const fresh = minus(before2, before1);
    assert.ok(Object.values(fresh).every((ids) => ids.length > 0), 'every collection has new objects');
    const run2 = {};
    for (const [only, c] of connectors) Object.assign(run2, await run(c, clock1 + 2 * 3600 * 1000, version, only));
    exactly(run2, fresh, 'run 2');
    // A third run with nothing new: an empty page, read without error.
    const run3 = {};
    for (const [only, c] of connectors) Object.assign(run3, await run(c, clock1 + 3 * 3600 * 1000, version, only));
    exactly(run3, Object.fromEntries(titles.map((t) => [t, []])), 'run 3');
  });
}

function newConnector() {
  return { filters: {}, state: {} };
}

// Why a 2.0 user needs one connector per collection (docs/PROTOCOL.md, "OpenCTI's connector over TAXII 2.0"):
// collections C1, C2 read in that order by one connector, two publishes between two runs (the first adds to C2,
// the second to C1). C2's records of the first publish were added before C1's of the second, so C1's paging
// leaves an `added_after` past all of them: the run loses them, and so does every later run (its `added_after`
// is the previous run's start). One connector per collection, over the same publishes, gets everything, and so
// does one connector over 2.1 (the connector's default, `taxii2.v21`), which pages with `next`.
test('OpenCTI taxii2 connector over 2.0, one connector for two collections: two publishes between runs lose records', async () => {
  w = await startWorker();
  root = `${w.url}/threatintel/`;
  const cols = { C1: 'type:Domain', C2: 'type:IP' };
  const args = () => ['--previous-url', w.url, '--token', ADMIN_TOKEN];
  const releaseTo = (indicators, now) =>
    publish(w.url, buildSnapshot({ collections: cols, indicators, now, args: args() }));
  const dateAdded = async (title) => {
    const c = (await get(`${root}collections/`, { accept: T20 })).json.collections.find((x) => x.title === title);
    const r = await get(`${root}collections/${c.id}/manifest/`, { accept: T20 });
    return Object.fromEntries((r.json.objects ?? []).map((e) => [e.id, e.date_added]));
  };
  const one = newConnector();
  const each = { C1: newConnector(), C2: newConnector() };
  const one21 = newConnector();
  const runAll = async (clock) => {
    const perCollection = {};
    for (const [t, c] of Object.entries(each)) Object.assign(perCollection, await run(c, clock, '2.0', t));
    const over21 = await run(one21, clock, '2.1');
    return { shared: await run(one, clock, '2.0'), perCollection, over21 };
  };
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const hour = 3600 * 1000;

  const d0 = domains(30);
  releaseTo(d0, '2026-01-01T00:00:00Z');
  const served0 = await served('2.0');
  const served21 = [await served('2.1')];
  assert.deepEqual(Object.keys(served0), ['C1', 'C2'], 'the connector reads C1, then C2');
  let r = await runAll(t0 + hour);
  exactly(r.shared, served0, 'run 1, one connector');
  exactly(r.perCollection, served0, 'run 1, a connector per collection');
  exactly(r.over21, served21[0], 'run 1, one connector over 2.1');

  // Two publishes before the next run: the first adds to C2 only, the second to C1 only.
  const i1 = ipIndicators(40);
  releaseTo(d0.concat(i1), '2026-01-01T02:00:00Z');
  const served1 = await served('2.0');
  const d2 = domains(20, { start: 30 });
  releaseTo(d0.concat(i1, d2), '2026-01-01T03:00:00Z');
  const served2 = await served('2.0');
  served21.push(await served('2.1'));
  const c2FromFirst = minus(served1, served0).C2;
  const c1FromSecond = minus(served2, served1).C1;
  assert.ok(c2FromFirst.length >= 40 && c1FromSecond.length >= 20, 'each publish adds to its collection');
  const [added1, added2] = [await dateAdded('C1'), await dateAdded('C2')];
  const newestC2 = c2FromFirst.map((id) => added2[id]).sort().at(-1);
  const oldestC1 = c1FromSecond.map((id) => added1[id]).sort()[0];
  assert.ok(newestC2 < oldestC1, `C2's records of the first publish (to ${newestC2}) predate C1's of the second (from ${oldestC1})`);

  r = await runAll(t0 + 4 * hour);
  exactly(r.perCollection, minus(served2, served0), 'run 2, a connector per collection: everything new');
  exactly(r.over21, minus(served21[1], served21[0]), 'run 2, one connector over 2.1: everything new');
  // One connector: C1 complete, then C2 asked with C1's newest date_added as `added_after`: nothing.
  const newestC1 = Object.values(added1).sort().at(-1);
  assert.equal(one.filters.added_after, newestC1, "C2 was asked with C1's newest date_added");
  exactly(r.shared, { C1: c1FromSecond, C2: [] }, 'run 2, one connector: C2 of the first publish lost');
  r = await runAll(t0 + 5 * hour);
  const nothing = { C1: [], C2: [] };
  exactly(r.perCollection, nothing, 'run 3, a connector per collection');
  exactly(r.shared, nothing, 'run 3, one connector: the lost records never come');
  exactly(r.over21, nothing, 'run 3, one connector over 2.1');
});

// The demo feed as `npm start` serves it: every collection (the Sentinel and XSOAR ones included), two runs in a
// row with nothing published between: the first delivers each collection's every object once, the second nothing.
for (const version of ['2.1', '2.0']) {
  test(`OpenCTI taxii2 connector over ${version}: every collection of the demo feed, twice in a row`, async () => {
    w = await startWorker({ snapshot: join(ROOT, 'demo', 'snapshot') });
    root = `${w.url}/threatintel/`;
    const all = await served(version);
    assert.ok(Object.keys(all).length >= 9, 'the demo has its nine collections');
    const titles = Object.keys(all);
    const connectors = version === '2.1' ? [[undefined, newConnector()]] : titles.map((t) => [t, newConnector()]);
    const clock = Date.parse('2026-11-02T00:00:00Z');
    const run1 = {};
    for (const [only, c] of connectors) Object.assign(run1, await run(c, clock, version, only));
    exactly(run1, all, 'run 1');
    const run2 = {};
    for (const [only, c] of connectors) Object.assign(run2, await run(c, clock + 3600 * 1000, version, only));
    exactly(run2, Object.fromEntries(titles.map((t) => [t, []])), 'run 2');
  });
}
