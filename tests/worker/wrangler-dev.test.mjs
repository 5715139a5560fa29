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

test('the console and the worker send the security headers (issue 19, finding 4); the sign-in limiter is bound', async () => {
  for (const path of ['/', '/index.html', '/console.js', '/console.css', '/taxii2/', '/api/status']) {
    const r = await fetch(`${w.url}${path}`);
    await r.arrayBuffer();
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, `${path}: CSP`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', `${path}: Referrer-Policy`);
  }
  const console = await fetch(`${w.url}/`);
  assert.match(console.headers.get('content-security-policy'), /script-src 'self'/, 'the console keeps its own policy');
  await console.arrayBuffer();
  const rules = await fetch(`${w.url}/_headers`);
  assert.ok(!(await rules.text()).includes('Content-Security-Policy'), '_headers is not served');
  // wrangler dev lists the bindings it simulates: wrangler.toml's [[ratelimits]] parses and is bound.
  assert.match(w.output(), /SIGNIN_LIMITER/);
});
