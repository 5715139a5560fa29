// Issue 19, finding 7 (token holder: rollback and retained deletes), through the real worker in workerd and the
// real CLI. The pointer only moves forward: a switch names the snapshot it replaces (compare-and-swap, 409 to a
// stale or replayed one), a snapshot that was current before comes back only with an explicit rollback, and a
// switch without `replaces` (an older CLI) is taken only when its manifest is newer than the current one. The
// worker refuses to delete a blob any retained snapshot reaches, not only the current one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker, startSlowStoreWorker, buildSnapshot, ipIndicators, cli, ADMIN_TOKEN } from '../harness.mjs';

const COLLECTIONS = { All: '' };

let w;
before(async () => {
  w = await startWorker();
});
after(() => w?.stop());

function snapshotOf(start, now) {
  return buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(40, { start }), now });
}

const manifestOf = (dir) => JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')).manifest;
const idOf = (dir) => manifestOf(dir).slice('manifest/'.length);

/** Uploads a snapshot directory's blobs to a worker without switching (as an older CLI did before its switch). */
async function uploadBlobs(url, dir) {
  for (const kind of readdirSync(join(dir, 'blobs'))) {
    for (const hash of readdirSync(join(dir, 'blobs', kind))) {
      const r = await fetch(`${url}/admin/blobs/${kind}/${hash}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: readFileSync(join(dir, 'blobs', kind, hash)),
      });
      assert.equal(r.status, 201);
    }
  }
}

async function admin(method, path, body) {
  const r = await fetch(`${w.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text };
}

const current = async () => (await admin('GET', '/admin/current')).json;
const publish = (dir, ...args) =>
  cli(['publish', dir, '--url', w.url, '--token', ADMIN_TOKEN, '--no-prune', ...args], { allowFail: true });

test('replaying an earlier PUT /admin/current does not roll the feed back', async () => {
  const a = snapshotOf(0, '2026-01-01T00:00:00Z');
  const b = snapshotOf(1000, '2026-01-02T00:00:00Z');
  assert.equal(publish(a).status, 0);
  assert.equal(publish(b).status, 0);
  assert.equal((await current()).snapshot, idOf(b));

  // The request an older CLI sent to make a current (no "replaces"): replayed, it would roll back.
  const legacy = await admin('PUT', '/admin/current', { manifest: manifestOf(a), keep: '24h' });
  assert.equal(legacy.status, 409, legacy.text);
  assert.match(legacy.json.error, /does not name the snapshot it replaces/);
  assert.equal((await current()).snapshot, idOf(b), 'still b');

  // The request this CLI sent to make a current (it named what it replaced: nothing then).
  const first = await admin('PUT', '/admin/current', { manifest: manifestOf(a), keep: '24h', replaces: null });
  assert.equal(first.status, 409, first.text);
  assert.equal(first.json.current, idOf(b));
  assert.match(first.json.error, new RegExp(`the current snapshot is ${idOf(b)}`));

  // Naming the right current snapshot is not enough to go back to one that was current before.
  const back = await admin('PUT', '/admin/current', { manifest: manifestOf(a), replaces: idOf(b) });
  assert.equal(back.status, 409, back.text);
  assert.match(back.json.error, /was current before.*--rollback/);
  assert.equal((await current()).snapshot, idOf(b), 'still b');

  // The CLI says so too, and an operator who means it rolls back with --rollback.
  const refused = publish(a);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /was current before/);
  const rolled = publish(a, '--rollback');
  assert.equal(rolled.status, 0, rolled.stderr);
  assert.equal((await current()).snapshot, idOf(a));
  // The rollback's own request, replayed after the next publish, is refused as well.
  const rollbackReplay = { manifest: manifestOf(a), replaces: idOf(b), rollback: true };
  const c = snapshotOf(2000, '2026-01-03T00:00:00Z');
  assert.equal(publish(c).status, 0);
  const replayed = await admin('PUT', '/admin/current', rollbackReplay);
  assert.equal(replayed.status, 409, replayed.text);
  assert.equal((await current()).snapshot, idOf(c));
});

test('a switch without "replaces" (an older CLI) moves forward only', async () => {
  const own = await startWorker();
  try {
    const call = (method, path, body) =>
      fetch(`${own.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body });
    const upload = (dir) => uploadBlobs(own.url, dir);
    const legacySwitch = async (dir) => {
      const r = await call('PUT', '/admin/current', JSON.stringify({ manifest: manifestOf(dir), keep: null }));
      return { status: r.status, json: await r.json() };
    };
    const older = snapshotOf(3000, '2026-02-01T00:00:00Z');
    const newer = snapshotOf(4000, '2026-02-02T00:00:00Z');
    const sameTime = snapshotOf(4500, '2026-02-02T00:00:00Z');
    const newest = snapshotOf(5000, '2026-02-03T00:00:00Z');
    for (const d of [older, newer, sameTime, newest]) await upload(d);
    // Nothing published: the first switch needs nothing to compare with.
    assert.equal((await legacySwitch(newer)).status, 200);
    // Built earlier, or at the same time, than the current snapshot: refused, and said why.
    for (const d of [older, sameTime]) {
      const r = await legacySwitch(d);
      assert.equal(r.status, 409);
      assert.match(r.json.error, /does not name the snapshot it replaces.*not newer than the current snapshot/);
    }
    // Built later: an older CLI's publish goes through.
    const up = await legacySwitch(newest);
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.equal(up.json.current, idOf(newest));
  } finally {
    await own.stop();
  }
});

test('the worker refuses to delete what a retained (not current) snapshot reaches', async () => {
  const own = await startWorker();
  try {
    const call = (method, path, body) =>
      fetch(`${own.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const a = snapshotOf(7000, '2026-03-01T00:00:00Z');
    const b = snapshotOf(8000, '2026-03-02T00:00:00Z');
    cli(['publish', a, '--url', own.url, '--token', ADMIN_TOKEN, '--keep', '1h', '--no-prune']);
    cli(['publish', b, '--url', own.url, '--token', ADMIN_TOKEN, '--keep', '1h', '--no-prune']);
    const pointer = (await call('GET', '/admin/current')).json;
    assert.equal(pointer.history[0].snapshot, idOf(a), 'a is retained for an hour');
    // a's manifest and index: b does not reach them, a client paging on a still does.
    const aIndex = JSON.parse(readFileSync(join(a, 'blobs', manifestOf(a)), 'utf8')).collections[0].index;
    const r = await call('POST', '/admin/delete', [manifestOf(a), aIndex]);
    assert.equal(r.status, 200);
    assert.equal(r.json.deleted, 0);
    assert.deepEqual(r.json.refused.sort(), [manifestOf(a), aIndex].sort());
    assert.equal((await call('GET', `/admin/blobs/${manifestOf(a)}`)).status, 200, 'a is still readable');
  } finally {
    await own.stop();
  }
});

test('two builds on the same snapshot: the first publish wins, the second is refused and says to rebuild', async () => {
  const own = await startWorker();
  try {
    const prev = ['--previous-url', own.url, '--token', ADMIN_TOKEN];
    const pub = (dir) => cli(['publish', dir, '--url', own.url, '--token', ADMIN_TOKEN, '--no-prune'], { allowFail: true });
    const base = buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(20), args: prev });
    assert.equal(JSON.parse(readFileSync(join(base, 'snapshot.json'), 'utf8')).built_on.snapshot, null);
    assert.equal(pub(base).status, 0);
    const one = buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(21), args: prev });
    const two = buildSnapshot({ collections: COLLECTIONS, indicators: ipIndicators(22), args: prev });
    assert.equal(JSON.parse(readFileSync(join(two, 'snapshot.json'), 'utf8')).built_on.snapshot, idOf(base));
    assert.equal(pub(one).status, 0);
    const lost = pub(two);
    assert.equal(lost.status, 1);
    assert.match(lost.stderr, new RegExp(`this switch replaces ${idOf(base)}, but the current snapshot is ${idOf(one)}`));
    const r = await fetch(`${own.url}/admin/current`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal((await r.json()).snapshot, idOf(one));
  } finally {
    await own.stop();
  }
});

test('switches sent at the same moment, all naming the same current snapshot: exactly one wins (R2 conditional put)', async () => {
  // Every store read takes 150 ms, so the switches' reads of the pointer overlap and only the conditional put can
  // tell them apart (with a plain put, several of them answered 200: checked by swapping it in).
  const own = await startSlowStoreWorker({ delayMs: 150 });
  try {
    const call = (method, path, body) =>
      fetch(`${own.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body });
    const upload = (dir) => uploadBlobs(own.url, dir);
    const base = snapshotOf(9000, '2026-05-01T00:00:00Z');
    cli(['publish', base, '--url', own.url, '--token', ADMIN_TOKEN, '--no-prune']);
    const rivals = [];
    for (let i = 0; i < 6; i++) rivals.push(snapshotOf(10000 + i * 100, '2026-05-02T00:00:00Z'));
    for (const d of rivals) await upload(d);
    const answers = await Promise.all(
      rivals.map((d) =>
        call('PUT', '/admin/current', JSON.stringify({ manifest: manifestOf(d), replaces: idOf(base) })).then(async (r) => ({
          status: r.status,
          json: await r.json(),
        })),
      ),
    );
    const won = answers.filter((a) => a.status === 200);
    assert.equal(won.length, 1, JSON.stringify(answers));
    const current = (await (await call('GET', '/admin/current')).json()).snapshot;
    assert.equal(won[0].json.current, current);
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 409);
      assert.equal(a.json.current, current, 'each loser is told the winner');
    }
    const pointer = await (await call('GET', '/admin/current')).json();
    assert.deepEqual(pointer.history.map((h) => h.snapshot), [idOf(base)], 'one switch happened, not several');
  } finally {
    await own.stop();
  }
});
