// Retention and prune through the real CLI and the worker in workerd: a replaced snapshot stays readable within
// the keep window (a `next` token from it goes on on it), its blobs go after the window, a blob uploaded within the
// window (a publish in flight) is never deleted, nothing a retained snapshot reaches is ever deleted, and a dry run
// deletes nothing. Also `collections --url` and `info --url` against the live worker.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker, buildSnapshot, ipIndicators, get, cli, ADMIN_TOKEN } from '../harness.mjs';

const COLLECTIONS = { All: '', Bad: 'score:Bad' };
const KEEP = 4; // seconds

let w;
before(async () => {
  w = await startWorker();
});
after(() => w?.stop());

function snapshotOf(tag, n, start = 0) {
  const indicators = ipIndicators(n, { start }).map((i) => ({ ...i, tags: [tag] }));
  return buildSnapshot({ collections: COLLECTIONS, indicators, args: ['--as-indicator', 'ipv4-addr'] });
}

/** The blob keys of a snapshot directory. */
function blobs(dir) {
  return readdirSync(join(dir, 'blobs')).flatMap((kind) => readdirSync(join(dir, 'blobs', kind)).map((h) => `${kind}/${h}`));
}

async function admin(method, path, body) {
  const r = await fetch(`${w.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body });
  return { status: r.status, json: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.arrayBuffer() };
}

/** Every key in the worker's store, through the paged admin listing. */
async function stored() {
  const out = [];
  let cursor = '';
  for (;;) {
    const r = await admin('GET', `/admin/blobs?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200);
    assert.ok(r.json.blobs.length <= 7);
    out.push(...r.json.blobs.map((b) => b.key));
    if (!r.json.cursor) return out.sort();
    cursor = r.json.cursor;
  }
}

let allUrl;
async function objectsUrl() {
  if (!allUrl) {
    const cols = await get(`${w.url}/threatintel/collections/`);
    allUrl = `${w.url}/threatintel/collections/${cols.json.collections.find((c) => c.title === 'All').id}/objects/`;
  }
  return allUrl;
}

/** Follows `next` from a token to the end; returns the tags seen and the object count. */
async function rest(next) {
  const base = await objectsUrl();
  const tags = new Set();
  let count = 0;
  for (;;) {
    const r = await get(`${base}?next=${encodeURIComponent(next)}`);
    assert.equal(r.status, 200, r.text);
    for (const o of r.json.objects) (o.labels ?? []).forEach((t) => tags.add(t)), count++;
    if (!r.json.more) return { tags: [...tags], count };
    next = r.json.next;
  }
}

function prune(...args) {
  return cli(['prune', '--url', w.url, '--token', ADMIN_TOKEN, ...args]).stdout;
}

test('a replaced snapshot is kept within the window, removed after; reachable and recent blobs never', async () => {
  const a = snapshotOf('a', 3000);
  const published = cli(['publish', a, '--url', w.url, '--token', ADMIN_TOKEN, '--keep', `${KEEP}s`]).stdout;
  assert.match(published, /prune \(keep 4s\): 1 snapshot\(s\) retained/);
  // A client starts paging snapshot a.
  const first = await get(`${await objectsUrl()}?limit=500`);
  assert.equal(first.json.more, true);
  const tokenA = first.json.next;
  const laterA = (await get(`${await objectsUrl()}?limit=100`)).json.next;

  // b replaces a; the publish prunes at once, but a was replaced just now: it is retained.
  const b = snapshotOf('b', 2000, 2000);
  const out = cli(['publish', b, '--url', w.url, '--token', ADMIN_TOKEN, '--keep', `${KEEP}s`]).stdout;
  assert.match(out, /prune \(keep 4s\): 2 snapshot\(s\) retained/);
  assert.match(out, / 0 deleted/);
  const pointer = (await admin('GET', '/admin/current')).json;
  assert.equal(pointer.history.length, 1);
  assert.equal(pointer.history[0].manifest, JSON.parse(readFileSync(join(a, 'snapshot.json'))).manifest);
  // The client's next token goes on on snapshot a, to its end.
  const onA = await rest(tokenA);
  assert.deepEqual(onA.tags, ['a']);
  assert.equal(onA.count, 3000 - 500);

  // A publish in flight: one of c's blobs uploaded, no switch. Then the window passes for a and for the stray blob.
  const c = snapshotOf('c', 10, 9000);
  const early = blobs(c).find((k) => k.startsWith('segment/'));
  assert.equal((await admin('PUT', `/admin/blobs/${early}`, readFileSync(join(c, 'blobs', early)))).status, 201);
  await new Promise((r) => setTimeout(r, (KEEP + 1) * 1000));
  const late = blobs(c).find((k) => k.startsWith('index/'));
  assert.equal((await admin('PUT', `/admin/blobs/${late}`, readFileSync(join(c, 'blobs', late)))).status, 201);

  const onlyA = blobs(a).filter((k) => !blobs(b).includes(k));
  assert.ok(onlyA.length > 5);
  const before = await stored();
  // Dry run: says what would go, deletes nothing.
  const dry = prune('--keep', `${KEEP}s`, '--dry-run');
  const would = dry.split('\n').filter((l) => l.startsWith('would delete ')).map((l) => l.slice(13)).sort();
  assert.deepEqual(would, [...onlyA, early].sort(), dry);
  assert.match(dry, /1 snapshot\(s\) retained/);
  assert.match(dry, /would be deleted \(dry run: nothing deleted\)/);
  assert.deepEqual(await stored(), before);

  // For real: exactly those go; everything b reaches and the blob uploaded within the window stay.
  const real = prune('--keep', `${KEEP}s`);
  assert.match(real, new RegExp(`; ${would.length} deleted`), real);
  const after = await stored();
  assert.deepEqual(after, before.filter((k) => !would.includes(k)));
  for (const k of blobs(b)) assert.ok(after.includes(k), `${k} (reachable from the current snapshot) was deleted`);
  assert.ok(after.includes(late), 'a blob uploaded within the window is kept');
  assert.ok(after.includes('current'));

  // b is served whole.
  const cols = await get(`${w.url}/threatintel/collections/`);
  let seen = 0;
  let url = `${await objectsUrl()}?limit=700`;
  for (;;) {
    const r = await get(url);
    assert.equal(r.status, 200, r.text);
    for (const o of r.json.objects) assert.deepEqual(o.labels, ['b']), seen++;
    if (!r.json.more) break;
    url = `${await objectsUrl()}?next=${encodeURIComponent(r.json.next)}`;
  }
  assert.equal(seen, 2000);
  assert.equal(cols.status, 200);

  // A token from the pruned snapshot: the worker goes on from the same date_added in the current one.
  const afterPrune = await get(`${await objectsUrl()}?next=${encodeURIComponent(laterA)}`);
  assert.equal(afterPrune.status, 200, afterPrune.text);
  const pageTags = new Set(afterPrune.json.objects.map((o) => o.labels.join()));
  assert.equal(pageTags.size, 1, 'one snapshot per page');

  // A second prune finds nothing more; keep 0 would only take the stray blob (b is current).
  assert.match(prune('--keep', `${KEEP}s`), /; 0 deleted/);
  const zero = prune('--keep', '0', '--dry-run');
  assert.deepEqual(zero.split('\n').filter((l) => l.startsWith('would delete ')), [`would delete ${late}`]);
});

test('the worker refuses to delete what its current snapshot reaches, whatever the client asks', async () => {
  const current = (await admin('GET', '/admin/current')).json;
  const r = await admin('POST', '/admin/delete', JSON.stringify([current.manifest]));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.refused, [current.manifest]);
  assert.equal(r.json.deleted, 0);
  assert.equal((await admin('POST', '/admin/delete', JSON.stringify(['current']))).status, 400);
  const noToken = await fetch(`${w.url}/admin/delete`, { method: 'POST', body: '[]' });
  assert.equal(noToken.status, 401);
  const noTokenList = await fetch(`${w.url}/admin/blobs`);
  assert.equal(noTokenList.status, 401);
});

test('collections --url and info --url read the live worker', async () => {
  const cols = cli(['collections', '--url', w.url]).stdout;
  assert.match(cols, /All .* 2000  \n/);
  assert.match(cols, /Bad .* 500  score:Bad/);
  assert.match(cols, /2 collections, 2500 objects, snapshot [0-9a-f]{32}/);
  const json = JSON.parse(cli(['collections', '--url', w.url, '--json']).stdout);
  assert.deepEqual(json.collections.map((c) => c.title), ['All', 'Bad']);
  const info = cli(['info', '--url', w.url]).stdout;
  assert.match(info, /^title: +\S/m);
  assert.match(info, new RegExp(`^default: +${w.url}/threatintel/`, 'm'));
  assert.match(info, new RegExp(`^api root: +${w.url}/threatintel/`, 'm'));
  assert.match(info, /^versions: +TAXII 2\.1, 2\.0/m);
  assert.match(info, /^snapshot: +[0-9a-f]{32}, published /m);
  const infoJson = JSON.parse(cli(['info', '--url', w.url, '--json']).stdout);
  assert.deepEqual(infoJson.versions, ['2.1', '2.0']);
  // A closed feed: the CLI says which credentials to give, exit 1.
  const closed = await startWorker({ vars: { PUBLIC_COLLECTIONS: null, PUBLIC_DISCOVERY: null } });
  try {
    const r = cli(['collections', '--url', closed.url], { allowFail: true });
    const r2 = cli(['info', '--url', closed.url], { allowFail: true });
    for (const x of [r, r2]) {
      assert.equal(x.status, 1);
      assert.match(x.stderr, /answered 401: give a reader's credentials \(--user and --password, or --api-key\)/);
    }
    assert.equal(cli(['info', '--url', 'http://127.0.0.1:9'], { allowFail: true }).status, 1);
  } finally {
    await closed.stop();
  }
});

test('a damaged older snapshot stops prune from deleting anything until it leaves the window', async () => {
  const own = await startWorker();
  try {
    const bucket = await own.mf.getR2Bucket('SNAPSHOTS');
    const publish = (dir, keep) => cli(['publish', dir, '--url', own.url, '--token', ADMIN_TOKEN, '--keep', keep]);
    const a = snapshotOf('a', 50, 10_000);
    publish(a, '1h');
    const manifestA = JSON.parse(readFileSync(join(a, 'snapshot.json'), 'utf8')).manifest;
    publish(snapshotOf('b', 50, 20_000), '1h');
    // a, now retained history, loses half of its manifest.
    const bytes = new Uint8Array(await (await bucket.get(manifestA)).arrayBuffer());
    await bucket.put(manifestA, bytes.slice(0, bytes.length >> 1));

    const c = publish(snapshotOf('c', 50, 30_000), '0');
    // keep 0: a is not retained, so it is not read, and its blobs (and b's) go.
    assert.match(c.stdout, /; [1-9]\d* deleted/);
    assert.equal(c.stderr, '');

    // Within the window the damaged snapshot is retained: the publish succeeds, says why nothing was deleted.
    const own2 = snapshotOf('d', 50, 40_000);
    publish(own2, '1h');
    const e = snapshotOf('e', 50, 50_000);
    publish(e, '1h');
    const manifestD = JSON.parse(readFileSync(join(own2, 'snapshot.json'), 'utf8')).manifest;
    const dBytes = new Uint8Array(await (await bucket.get(manifestD)).arrayBuffer());
    dBytes[dBytes.length - 2] ^= 0x20;
    await bucket.put(manifestD, dBytes);
    const before = (await bucket.list({ limit: 1000 })).objects.length;
    const f = publish(snapshotOf('f', 50, 60_000), '1h');
    assert.match(f.stdout, /now current/);
    assert.match(f.stderr, new RegExp(`warning: the retained snapshot [0-9a-f]{32} cannot be read: .*${manifestD}`));
    assert.match(f.stderr, /prune deleted nothing/);
    const standalone = cli(['prune', '--url', own.url, '--token', ADMIN_TOKEN, '--keep', '1h'], { allowFail: true });
    assert.equal(standalone.status, 1);
    assert.match(standalone.stderr, /nothing was pruned: 1 retained snapshot\(s\) cannot be read/);
    assert.ok((await bucket.list({ limit: 1000 })).objects.length > before, 'nothing deleted, f added');
    // The current snapshot still serves.
    const cols = await get(`${own.url}/threatintel/collections/`);
    assert.equal(cols.status, 200);
  } finally {
    await own.stop();
  }
});
