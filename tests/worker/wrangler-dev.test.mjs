// One path exactly as a user runs it: `wrangler dev` serving the built worker, the console and TAXII.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, buildSnapshot, ipIndicators, get } from '../harness.mjs';

let w;
before(async () => {
  const snapshot = buildSnapshot({ collections: { 'All IPs': 'type:IP' }, indicators: ipIndicators(20) });
  w = await startWorker({ snapshot, wrangler: true });
});
after(() => w?.stop());

test('wrangler dev serves discovery, objects and the console', async () => {
  const d = await get(`${w.url}/taxii2/`);
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('content-type'), 'application/taxii+json;version=2.1');
  const cols = await get(`${d.json.default}collections/`);
  const id = cols.json.collections[0].id;
  const objs = await get(`${d.json.default}collections/${id}/objects/`);
  assert.equal(objs.json.objects.length, 20);
  const page = await fetch(`${w.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /taxii-edge/);
});
