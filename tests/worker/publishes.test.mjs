// date_added across successive publishes: unchanged object versions keep theirs, new and changed ones come after
// everything before, so a client polling with added_after sees each new or changed object exactly once. Builds on
// top of the worker's snapshot write only what is new (the rest is reused in place), and a modified indicator
// keeps its earlier version for match[version]=all/first.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startWorker, buildSnapshot, ipIndicators, get, publish, formatTwoWorkerProxy, ADMIN_TOKEN, CLI, ROOT } from '../harness.mjs';

/** Bytes of the blobs a build wrote (with --previous-url, only those the worker does not have). */
function blobBytes(snapshotDir) {
  let total = 0;
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else total += st.size;
    }
  };
  walk(join(snapshotDir, 'blobs'));
  return total;
}

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
  const build1 = buildSnapshot({ collections, indicators, now: '2026-01-01T00:00:00Z', args: prev });
  publish(w.url, build1);
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
  const build2 = buildSnapshot({ collections, indicators, now: '2026-01-02T00:00:00Z', args: prev });
  publish(w.url, build2);
  const second = await everything(objectsUrl, first.last);
  assert.equal(second.objects.length, changed2 + 25, 'only the changed and the new');
  assert.equal(new Set(second.objects.map((o) => o.id)).size, second.objects.length, 'each once');
  const ratio = blobBytes(build2) / blobBytes(build1);
  assert.ok(ratio < 0.15, `the second build wrote ${(ratio * 100).toFixed(1)}% of the first's bytes`);
  // The default view serves 1525 objects; the modified ones keep their earlier version.
  assert.equal((await everything(objectsUrl)).objects.length, 1525);
  // IPs are SCOs over 2.1 (no `modified` in the body): the manifest says which version each record is.
  const polled = await get(`${manifestUrl}?limit=1000&added_after=${encodeURIComponent(first.last)}`);
  assert.equal(polled.json.objects.length, changed2 + 25);
  const changedId = polled.json.objects.find((m) => m.version.startsWith('2025-06-01'))?.id;
  assert.ok(changedId, 'a modified indicator was polled');
  const both = await get(`${objectsUrl}${changedId}/?match[version]=all`);
  assert.equal(both.status, 200, both.text);
  assert.equal(both.json.objects.length, 2, 'match[version]=all shows both versions');
  const versions = await get(`${objectsUrl}${changedId}/versions/`);
  assert.equal(versions.json.versions.length, 2, versions.text);
  assert.ok(versions.json.versions[1].startsWith('2025-06-01'));
  const last = await get(`${manifestUrl}?match[id]=${changedId}`);
  assert.deepEqual(last.json.objects.map((m) => m.version), [versions.json.versions[1]], 'the default is the last');
  const firstOnly = await get(`${manifestUrl}?match[id]=${changedId}&match[version]=first`);
  assert.deepEqual(firstOnly.json.objects.map((m) => m.version), [versions.json.versions[0]]);
  const allManifest = await get(`${manifestUrl}?match[version]=all&limit=1000&added_after=${encodeURIComponent(first.last)}`);
  assert.equal(allManifest.json.objects.length, changed2 + 25, 'earlier versions keep their date_added');
  const kept = (await get(`${manifestUrl}?limit=1000`)).json.objects.filter((m) => dates.has(m.id) && dates.get(m.id) === m.date_added);
  assert.ok(kept.length > 900, 'unchanged objects keep their date_added');

  // Publish 3: nothing changes, then one change.
  const build3 = buildSnapshot({ collections, indicators, now: '2026-01-03T00:00:00Z', args: prev });
  publish(w.url, build3);
  assert.equal((await everything(objectsUrl, second.last)).objects.length, 0, 'an identical rebuild announces nothing');
  assert.ok(blobBytes(build3) < 0.03 * blobBytes(build1), 'an identical rebuild writes next to nothing');
  indicators[7] = { ...indicators[7], modified: '2025-07-01T00:00:00Z' };
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-01-04T00:00:00Z', args: prev }));
  const fourth = await everything(objectsUrl, second.last);
  assert.equal(fourth.objects.length, 1);
  assert.equal(fourth.objects[0].value, indicators[7].value);
  // Both its versions are kept (the default history is 30 days).
  const hist = await get(`${objectsUrl}${fourth.objects[0].id}/versions/`);
  assert.equal(hist.json.versions.length, 2, hist.text);
});

/**
 * A proxy to the worker that counts the keys each `POST /admin/missing` asks about and the most blob uploads in
 * flight at once (each upload is held 50 ms, so uploads that overlap are seen to).
 */
function countingProxy(url) {
  const seen = { askedKeys: 0, uploads: 0, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const isUpload = req.method === 'PUT' && req.url.startsWith('/admin/blobs/');
    if (req.url === '/admin/missing') seen.askedKeys += JSON.parse(body.toString()).length;
    if (isUpload) {
      seen.uploads++;
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await fetch(`${url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' }, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body });
    const answer = Buffer.from(await r.arrayBuffer());
    if (isUpload) seen.inFlight--;
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(answer);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ seen, server, url: `http://127.0.0.1:${server.address().port}` })));
}

/** `taxii-edge publish` in the background (the proxy runs in this process); resolves with its output. */
function publishAsync(dir, url) {
  const child = spawn(CLI, ['publish', dir, '--url', url, '--token', ADMIN_TOKEN, '--no-prune'], { cwd: ROOT });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

test('a publish that changes little asks about each blob once and uploads in parallel', async () => {
  // Before: every reachable blob was asked about three times (before the upload, after it, after the switch) and
  // the upload sent one blob at a time (maxInFlight 1); this test failed on both counts.
  const collections = { All: '', S0: 'score:0', S1: 'score:1', S2: 'score:2', S3: 'score:3' };
  const prev = ['--previous-url', w.url, '--token', ADMIN_TOKEN];
  let indicators = ipIndicators(4000, { start: 20000 });
  publish(w.url, buildSnapshot({ collections, indicators, now: '2026-02-01T00:00:00Z', args: prev }));
  const cols = await get(`${w.url}/threatintel/collections/`);
  const allUrl = `${w.url}/threatintel/collections/${cols.json.collections.find((c) => c.title === 'All').id}/objects/`;
  const before = await everything(allUrl);
  indicators = indicators.map((ind, i) => (i % 100 === 0 ? { ...ind, modified: '2025-06-01T00:00:00Z' } : ind));
  const dir = buildSnapshot({ collections, indicators, now: '2026-02-02T00:00:00Z', args: prev });
  const proxy = await countingProxy(w.url);
  const run = await publishAsync(dir, proxy.url);
  proxy.server.close();
  assert.equal(run.code, 0, run.out);
  const [, uploaded, blobs] = run.out.match(/(\d+) of (\d+) blobs uploaded/).map(Number);
  assert.ok(uploaded >= 4 && uploaded < blobs, run.out);
  assert.equal(proxy.seen.uploads, uploaded);
  // Once about every blob, once more about those uploaded, and after the switch about those the build wrote.
  assert.ok(proxy.seen.askedKeys <= blobs + 3 * uploaded, JSON.stringify({ ...proxy.seen, blobs, uploaded }));
  assert.ok(proxy.seen.askedKeys < 2 * blobs, JSON.stringify({ ...proxy.seen, blobs, uploaded }));
  assert.ok(proxy.seen.maxInFlight > 1 && proxy.seen.maxInFlight <= 4, JSON.stringify(proxy.seen));
  // The feed serves the new snapshot whole.
  const changed = await everything(allUrl, before.last);
  assert.equal(changed.objects.length, 40, 'the 40 changed indicators are served as new');
});

test('a publish to a worker from before format 3 stops before uploading, and the feed stays as it was', async () => {
  // A worker older than the CLI would switch to a snapshot whose segments it cannot read, and answer every request
  // with an error. Such a worker answers `POST /admin/missing` with `{"missing": [...]}` alone (crates/core/src/
  // wire.rs before format 3); this proxy to the real worker answers so, and counts what reaches it.
  const proxy = await formatTwoWorkerProxy(w.url);
  const current = (await get(`${w.url}/api/status`)).json.snapshot?.id;
  const dir = buildSnapshot({ collections: { All: '' }, indicators: ipIndicators(50, { start: 90000 }), now: '2026-03-01T00:00:00Z' });
  const run = await publishAsync(dir, proxy.url);
  proxy.close();
  assert.equal(run.code, 1, run.out);
  assert.match(run.out, /the snapshot has format 3, and the worker reads formats \[2\] only: deploy the worker of this taxii-edge version first/);
  assert.deepEqual(proxy.seen, { uploads: 0, switches: 0 });
  assert.equal((await get(`${w.url}/api/status`)).json.snapshot?.id, current);
  // The same snapshot straight to the worker (which says it reads format 3) is published.
  publish(w.url, dir);
  assert.notEqual((await get(`${w.url}/api/status`)).json.snapshot?.id, current);
});
