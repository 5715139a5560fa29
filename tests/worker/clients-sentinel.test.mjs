// Microsoft Sentinel's "Threat Intelligence – TAXII" data connector, scripted (it is closed source), over every
// collection of the demo feed, two polls in a row, TAXII 2.1 and 2.0.
//
// It follows Sentinel's documented behaviour (/work/shared/reference/clients-and-peers.md, "Microsoft Sentinel";
// Microsoft Learn, "Connect Microsoft Sentinel to STIX/TAXII threat intelligence feeds" and its troubleshooting
// request, which tests/worker/clients.test.mjs replays on a large collection):
// - configured with an API root URL and a collection id; it checks the collection first (a bad one shows "TAXII API
//   root URL or collection id is not valid");
// - TAXII 2.1: `Accept: application/taxii+json; version=2.1` (with the space), pages followed by `next` while `more`
//   (it sends no `limit`: each demo collection fits one page of the server's default size, so `next` is followed on
//   the 10,000-object collection of tests/worker/clients.test.mjs, not here);
//   TAXII 2.0: `Accept: application/vnd.oasis.taxii+json; version=2.0`, pages by `Range: items a-b` until the
//   Content-Range reaches its total (or a 416 says there is nothing);
// - "Import indicators": "All available" on the first poll (no added_after), then each poll asks for what was
//   added after the last one. How Sentinel keeps that cursor is not documented: this poller keeps the newest
//   date_added it received (the X-TAXII-Date-Added-Last of its last page), which any gap or repeat would show;
// - it ingests `indicator` objects (their patterns) and nothing else.
// The console predicts what Sentinel imports from /api/status's per-type counts (www/console.js, OUTLOOK.sentinel:
// "N indicator objects over 2.1", and over 2.0 indicators plus observables); the last test checks that prediction.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startWorker, get, ROOT } from '../harness.mjs';

const ACCEPT = { '2.1': 'application/taxii+json; version=2.1', '2.0': 'application/vnd.oasis.taxii+json; version=2.0' };
const PAGE = 100;
const MAX_REQUESTS = 50;
// The STIX 2.1 observable (SCO) types the demo serves; over 2.0 each is an indicator.
const SCO_TYPES = new Set(['ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'email-addr', 'file', 'windows-registry-key',
  'user-account', 'autonomous-system', 'software', 'x509-certificate', 'mutex']);

let w;
let root;
let status;
before(async () => {
  w = await startWorker({ snapshot: join(ROOT, 'demo', 'snapshot') });
  root = `${w.url}/threatintel/`;
  status = (await get(`${w.url}/api/status`)).json;
});
after(() => w?.stop());

/** One Sentinel connector: an API root and a collection id; poll() is one scheduled poll. */
function sentinel(collectionId, version) {
  const accept = ACCEPT[version];
  let cursor;
  const objectsUrl = `${root}collections/${collectionId}/objects/`;
  const since = () => (cursor ? `added_after=${cursor}` : '');

  async function pages21(take) {
    let url = `${objectsUrl}?${since()}`;
    for (let requests = 0; requests < MAX_REQUESTS; requests++) {
      const r = await get(url, { accept });
      assert.equal(r.status, 200, r.text);
      take(r);
      if (!r.json.more) return;
      url = `${objectsUrl}?next=${encodeURIComponent(r.json.next)}`;
    }
    assert.fail(`still paging after ${MAX_REQUESTS} requests`);
  }

  async function pages20(take) {
    for (let start = 0, requests = 0; requests < MAX_REQUESTS; start += PAGE, requests++) {
      const r = await get(`${objectsUrl}?${since()}`, { accept, range: `items ${start}-${start + PAGE - 1}` });
      if (r.status === 416) {
        assert.match(r.headers.get('content-range') ?? '', /^items \*\/\d+$/, 'a 416 says how many items there are');
        return;
      }
      assert.ok(r.status === 200 || r.status === 206, `${r.status} ${r.text}`);
      take(r);
      const range = /^items (\d+)-(\d+)\/(\d+)$/.exec(r.headers.get('content-range') ?? '');
      if (r.status === 200 || !range || Number(range[2]) + 1 >= Number(range[3])) return;
    }
    assert.fail(`still paging after ${MAX_REQUESTS} requests`);
  }

  return {
    async poll() {
      const check = await get(`${root}collections/${collectionId}/`, { accept });
      assert.equal(check.status, 200, 'TAXII API root URL or collection id is not valid');
      const imported = [];
      let last;
      const take = (r) => {
        imported.push(...(r.json.objects ?? []).filter((o) => o.type === 'indicator'));
        last = r.headers.get('x-taxii-date-added-last') ?? last;
      };
      await (version === '2.1' ? pages21(take) : pages20(take));
      if (last) cursor = last;
      return imported;
    },
  };
}

/** Every object of a collection over `version`, by plain paging (2.0: the whole bundle, one response). */
async function listing(collectionId, version) {
  const url = `${root}collections/${collectionId}/objects/`;
  if (version === '2.0') {
    const r = await get(url, { accept: 'application/vnd.oasis.stix+json; version=2.0' });
    assert.equal(r.status, 200, r.text);
    return r.json.objects ?? [];
  }
  const all = [];
  for (let next = ''; ; ) {
    const r = await get(next ? `${url}?next=${encodeURIComponent(next)}` : url);
    assert.equal(r.status, 200, r.text);
    all.push(...(r.json.objects ?? []));
    if (!r.json.more) return all;
    next = r.json.next;
  }
}

const ids = (objects) => objects.map((o) => o.id);
const count = (objects, pred) => objects.filter(pred).length;

for (const version of ['2.1', '2.0']) {
  test(`Microsoft Sentinel over ${version}: every collection of the demo feed, two polls in a row`, async () => {
    assert.ok(status.collections.length >= 9, 'the demo has its nine collections');
    for (const c of status.collections) {
      const objects = await listing(c.id, version);
      assert.equal(objects.length, c.count, `${c.title}: the listing has every object`);
      const connector = sentinel(c.id, version);
      const first = await connector.poll();
      assert.equal(new Set(ids(first)).size, first.length, `${c.title}: an indicator came twice`);
      const expected = ids(objects.filter((o) => o.type === 'indicator'));
      assert.deepEqual([...ids(first)].sort(), [...expected].sort(), `${c.title}: indicators missed or extra`);
      assert.deepEqual(ids(await connector.poll()), [], `${c.title}: the second poll imported indicators again`);
    }
  });
}

// "For Microsoft Sentinel" selects the same records as "All indicators" (both have an empty query) with
// as_indicator set for every observable type: over 2.1 each observable "All indicators" serves as an SCO arrives
// from it as an indicator, and everything else is the same, type for type. The console's sentence for each says
// how many indicator objects Sentinel will import; Sentinel imports exactly that many.
test('Microsoft Sentinel over 2.1: the Sentinel collection brings every observable as an indicator; the console predicts each count', async () => {
  const byTitle = Object.fromEntries(status.collections.map((c) => [c.title, c]));
  const forSentinel = byTitle['For Microsoft Sentinel'];
  const plain = byTitle['All indicators'];
  assert.equal(forSentinel.query, plain.query, 'the two collections select the same records');
  const [sentinelObjects, plainObjects] = [await listing(forSentinel.id, '2.1'), await listing(plain.id, '2.1')];
  const observables = count(plainObjects, (o) => SCO_TYPES.has(o.type));
  assert.ok(observables > 0, 'the default collection serves observables as SCOs');
  assert.equal(count(sentinelObjects, (o) => SCO_TYPES.has(o.type)), 0, 'no SCO left in the Sentinel collection');
  const imported = await sentinel(forSentinel.id, '2.1').poll();
  const plainIndicators = count(plainObjects, (o) => o.type === 'indicator');
  assert.equal(imported.length, plainIndicators + observables, 'every observable arrives as an indicator');
  const others = (objects) => objects.filter((o) => o.type !== 'indicator' && !SCO_TYPES.has(o.type)).map((o) => o.type).sort();
  assert.deepEqual(others(sentinelObjects), others(plainObjects), 'relationships, markings, identities and SDOs alike');
  const byPattern = new Set(imported.map((o) => o.pattern.split(':')[0].slice(1)));
  for (const t of new Set(plainObjects.filter((o) => SCO_TYPES.has(o.type)).map((o) => o.type))) {
    assert.ok(byPattern.has(t), `${t} observables arrive as indicators`);
  }

  // The console's prediction (www/console.js, contents/OUTLOOK.sentinel) from /api/status's per-type counts: over
  // 2.1 the indicator objects, over 2.0 indicators plus observables.
  for (const c of status.collections) {
    const types = c.types ?? {};
    const scos = Object.entries(types).filter(([t]) => SCO_TYPES.has(t)).reduce((n, [, k]) => n + k, 0);
    const over21 = (await sentinel(c.id, '2.1').poll()).length;
    const over20 = (await sentinel(c.id, '2.0').poll()).length;
    if (c.profile === 'xsoar') continue; // the console sends Sentinel users to a default collection instead
    assert.equal(over21, types.indicator ?? 0, `${c.title}: the console's "N indicator objects over 2.1"`);
    assert.equal(over20, (types.indicator ?? 0) + scos, `${c.title}: the console's count over TAXII 2.0`);
  }
  assert.equal(plain.types.indicator, plainIndicators, 'a default collection: only the indicators that exist');
  assert.ok(plainIndicators < imported.length / 10, 'which are few beside the Sentinel collection');
});
