// date_added across successive publishes: unchanged object versions keep theirs, new and changed ones come after
// everything before, so a client polling with added_after sees each new or changed object exactly once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, buildSnapshot, ipIndicators, get, publish, ADMIN_TOKEN } from '../harness.mjs';

let w;
before(async () => {
  w = await startWorker();
});
after(() => w?.stop());

async function everything(objectsUrl, after) {
  const out = [];
  let url = after ? `${objectsUrl}?added_after=${after}` : objectsUrl;
  let last = after;
  for (;;) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    out.push(...(r.json.objects ?? []));
    last = r.headers.get('x-taxii-date-added-last') ?? last;
    if (!r.json.more) break;
    url = `${objectsUrl}?next=${encodeURIComponent(r.json.next)}`;
  }
  return { objects: out, last };
}

test('three publishes: a poller sees each new or changed object exactly once', async () => {
  const collections = { 'All IPs': 'type:IP' };
  const prev = ['--previous-url', w.url, '--token', ADMIN_TOKEN];
  let indicators = ipIndicators(1500);
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-01-01T00:00:00Z', args: prev }));
  const cols = await get(`${w.url}/threatintel/collections/`);
  const objectsUrl = `${w.url}/threatintel/collections/${cols.json.collections[0].id}/objects/`;
  const manifestUrl = objectsUrl.replace(/objects\/$/, 'manifest/');
  const first = await everything(objectsUrl);
  assert.equal(first.objects.length, 1500);
  const dates = new Map((await get(`${manifestUrl}?limit=1000`)).json.objects.map((m) => [m.id, m.date_added]));

  // Publish 2: 40 changed (a later modified), 25 new.
  indicators = indicators.map((ind, i) => (i % 37 === 0 ? { ...ind, modified: '2025-06-01T00:00:00Z' } : ind));
  const changed2 = indicators.filter((_, i) => i % 37 === 0).length;
  indicators = indicators.concat(ipIndicators(25, { start: 1500 }));
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-01-02T00:00:00Z', args: prev }));
  const second = await everything(objectsUrl, first.last);
  assert.equal(second.objects.length, changed2 + 25, 'only the changed and the new');
  const kept = (await get(`${manifestUrl}?limit=1000`)).json.objects.filter((m) => dates.has(m.id) && dates.get(m.id) === m.date_added);
  assert.ok(kept.length > 900, 'unchanged objects keep their date_added');

  // Publish 3: nothing changes, then one change.
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-01-03T00:00:00Z', args: prev }));
  assert.equal((await everything(objectsUrl, second.last)).objects.length, 0, 'an identical rebuild announces nothing');
  indicators[7] = { ...indicators[7], modified: '2025-07-01T00:00:00Z' };
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-01-04T00:00:00Z', args: prev }));
  const fourth = await everything(objectsUrl, second.last);
  assert.equal(fourth.objects.length, 1);
  assert.equal(fourth.objects[0].value, indicators[7].value);
});
