// Publishing that survives being killed, through the real CLI and the worker in workerd:
//  (a) a publish killed at a random point (after N uploads through a proxy that counts them, just before the
//      pointer switch, or after a random delay) leaves the previous snapshot served, complete and correct, and a
//      re-run completes it uploading only what is missing;
//  (b) readers paging steadily during publishes (killed ones included) always see one complete snapshot: every
//      page, and every walk through `next` tokens, belongs to exactly one snapshot.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { startWorker, buildSnapshot, ipIndicators, get, publish, cli, CLI, ADMIN_TOKEN, ROOT } from '../harness.mjs';

const COLLECTIONS = { All: '', S0: 'score:0', S1: 'score:1', S2: 'score:2', S3: 'score:3' };
// Indicator SDOs (not SCOs) so each object carries its snapshot's tag in `labels`.
const ARGS = ['--as-indicator', 'ipv4-addr'];

let w;
before(async () => {
  w = await startWorker();
});
after(() => w?.stop());

/** A snapshot of `n` IPs from `start`, every indicator tagged `tag`: which snapshot an object is from. */
function snapshotOf(tag, n, start = 0) {
  const indicators = ipIndicators(n, { start }).map((i) => ({ ...i, tags: [tag] }));
  return { tag, values: new Set(indicators.map((i) => i.value)), dir: buildSnapshot({ collections: COLLECTIONS, indicators, args: ARGS }) };
}

async function pointer() {
  const r = await fetch(`${w.url}/admin/current`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return r.status === 200 ? r.json() : null;
}

function snapshotId(dir) {
  return JSON.parse(cli(['collections', dir, '--json']).stdout).snapshot;
}

let allUrl;
async function objectsUrl() {
  if (!allUrl) {
    const cols = await get(`${w.url}/threatintel/collections/`);
    const all = cols.json.collections.find((c) => c.title === 'All');
    allUrl = `${w.url}/threatintel/collections/${all.id}/objects/`;
  }
  return allUrl;
}

/**
 * Walks a collection through `next` tokens. Every page must be 200 and carry one tag; the walk must carry one tag
 * and, when `expect` (tag → value set) is given, exactly that snapshot's values.
 */
async function walk(limit = 400, expect, dispatcher) {
  const base = await objectsUrl();
  let url = `${base}?limit=${limit}`;
  const tags = new Set();
  const values = [];
  for (;;) {
    const r = dispatcher ? await readerGet(url, dispatcher) : await get(url);
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text.slice(0, 300)}`);
    const pageTags = new Set((r.json.objects ?? []).map((o) => (o.labels ?? []).join(',')));
    if (pageTags.size > 1) throw new Error(`a page mixes snapshots: ${[...pageTags]}`);
    pageTags.forEach((t) => tags.add(t));
    for (const o of r.json.objects ?? []) values.push(o.name);
    if (!r.json.more) break;
    url = `${base}?next=${encodeURIComponent(r.json.next)}`;
  }
  if (tags.size !== 1) throw new Error(`a walk through next tokens mixes snapshots: ${[...tags]}`);
  const tag = [...tags][0];
  if (new Set(values).size !== values.length) throw new Error(`a walk saw an object twice (${tag})`);
  if (expect) {
    const want = expect.get(tag);
    if (!want) throw new Error(`a walk saw snapshot ${tag}, which was never published`);
    if (values.length !== want.size || !values.every((v) => want.has(v))) {
      throw new Error(`a walk of ${tag} saw ${values.length} objects, not its ${want.size}`);
    }
  }
  return { tag, count: values.length };
}

/** GET through a reader's own connection pool (so no connection left idle by an earlier test is reused). */
async function readerGet(url, dispatcher) {
  const res = await undiciFetch(url, { dispatcher, headers: { accept: 'application/taxii+json;version=2.1' } });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

/**
 * A proxy to the worker that counts blob uploads and, at the chosen point, SIGKILLs the publishing CLI and never
 * answers: when upload `killAfter + 1` arrives, or `killAtSwitch` (every upload done, the pointer switch held).
 * The CLI uploads a few blobs at a time: uploads already passed on when the kill comes still reach the worker
 * (`uploaded` counts those it stored; `settled()` waits for them).
 */
function faultyProxy({ killAfter, killAtSwitch }) {
  const state = { arrived: 0, uploaded: 0, inFlight: 0, initialMissing: null, child: null, killed: false };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    try {
      for await (const c of req) chunks.push(c);
    } catch {
      return; // an upload in flight when the CLI was killed: it never arrived
    }
    const body = Buffer.concat(chunks);
    const isUpload = req.method === 'PUT' && req.url.startsWith('/admin/blobs/');
    const isSwitch = req.method === 'PUT' && req.url === '/admin/current';
    if (state.killed || (isUpload && state.arrived >= killAfter) || (isSwitch && killAtSwitch)) {
      if (!state.killed) {
        state.killed = true;
        state.child.kill('SIGKILL');
      }
      req.socket.destroy();
      return;
    }
    if (isUpload) state.arrived++;
    state.inFlight++;
    const r = await fetch(`${w.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '', accept: req.headers.accept ?? '*/*' }, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body });
    const answer = Buffer.from(await r.arrayBuffer());
    state.inFlight--;
    if (req.url === '/admin/missing' && state.uploaded === 0) {
      state.initialMissing = (state.initialMissing ?? 0) + JSON.parse(answer.toString()).missing.length;
    }
    if (isUpload && r.status === 201) state.uploaded++;
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(answer);
  });
  const settled = async () => {
    while (state.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ state, server, settled, url: `http://127.0.0.1:${server.address().port}` })));
}

/** Runs `taxii-edge publish` in the background; resolves with its exit code or signal when it ends. */
function publishInBackground(dir, url, onStart) {
  const child = spawn(CLI, ['publish', dir, '--url', url, '--token', ADMIN_TOKEN], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  onStart?.(child);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
}

function blobCount(dir) {
  return readdirSync(join(dir, 'blobs')).reduce((n, kind) => n + readdirSync(join(dir, 'blobs', kind)).length, 0);
}

/** "published snapshot S to U: X of Y blobs uploaded" → { uploaded: X, blobs: Y }. */
function uploadedOf(stdout) {
  const m = stdout.match(/published snapshot \w+ to \S+: (\d+) of (\d+) blobs uploaded/);
  assert.ok(m, stdout);
  return { uploaded: Number(m[1]), blobs: Number(m[2]) };
}

test('a publish killed at a random point leaves the previous snapshot whole; a re-run uploads only what is missing', async () => {
  let current = snapshotOf('p0', 5000);
  publish(w.url, current.dir);
  const published = new Map([[current.tag, current.values]]);
  const total = blobCount(current.dir);
  assert.ok(total > 15, `enough blobs to kill a publish in the middle (${total})`);
  const points = [
    { killAfter: 1 },
    { killAfter: 1 + Math.floor(Math.random() * (total - 2)) },
    { killAfter: total - 1 },
    { killAfter: Infinity, killAtSwitch: true },
  ];
  for (const [i, point] of points.entries()) {
    // Every indicator changes (a new tag) and the set shifts: almost every blob is new.
    const next = snapshotOf(`p${i + 1}`, 5000, (i + 1) * 700);
    const proxy = await faultyProxy(point);
    const run = await publishInBackground(next.dir, proxy.url, (child) => (proxy.state.child = child));
    await proxy.settled();
    proxy.server.close();
    assert.equal(run.signal, 'SIGKILL', `killed (${JSON.stringify(point)}): ${run.out}`);
    // The previous snapshot is still current, complete and correct.
    assert.equal((await pointer()).snapshot, snapshotId(current.dir));
    published.set(next.tag, next.values);
    const seen = await walk(400, published);
    assert.equal(seen.tag, current.tag);
    // The re-run uploads exactly what the killed run had not.
    const rerun = uploadedOf(publish(w.url, next.dir).stdout);
    assert.equal(rerun.uploaded, proxy.state.initialMissing - proxy.state.uploaded, JSON.stringify({ point, state: { ...proxy.state, child: undefined } }));
    assert.equal((await pointer()).snapshot, snapshotId(next.dir));
    assert.equal((await walk(400, published)).tag, next.tag);
    // And a third run has nothing left to do.
    assert.equal(uploadedOf(publish(w.url, next.dir).stdout).uploaded, 0);
    current = next;
  }
});

test('readers paging during publishes (some killed) always see exactly one complete snapshot', async () => {
  const published = new Map();
  const first = snapshotOf('r0', 4000);
  publish(w.url, first.dir);
  published.set(first.tag, first.values);
  const plan = [1, 2, 3, 4, 5, 6].map((i) => snapshotOf(`r${i}`, 4000, i * 500));
  // Every snapshot a reader may see is known before it starts (a killed publish may have switched already).
  for (const s of plan) published.set(s.tag, s.values);

  const ids = plan.map((s) => snapshotId(s.dir));
  let stop = false;
  const walks = [];
  const failures = [];
  const reader = async () => {
    const dispatcher = new Agent();
    while (!stop) {
      try {
        walks.push(await walk(250 + Math.floor(Math.random() * 300), published, dispatcher));
      } catch (e) {
        failures.push(`${e.message}${e.cause ? `: ${e.cause.message ?? e.cause}` : ""}`);
      }
    }
  };
  const readers = [reader(), reader(), reader()];
  for (const [i, s] of plan.entries()) {
    if (i % 2 === 0) {
      // Killed after a random delay, then completed.
      const run = await publishInBackground(s.dir, w.url, (child) => setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 400)));
      assert.ok(run.signal === 'SIGKILL' || run.code === 0, run.out);
    }
    // In the background (never spawnSync here): the readers must keep reading while the publish runs.
    const done = await publishInBackground(s.dir, w.url);
    assert.equal(done.code, 0, done.out);
    assert.equal((await pointer()).snapshot, ids[i]);
    await new Promise((r) => setTimeout(r, 200));
  }
  stop = true;
  await Promise.all(readers);
  assert.deepEqual(failures, []);
  const tags = new Set(walks.map((x) => x.tag));
  assert.ok(walks.length >= 10, `${walks.length} walks`);
  assert.ok(tags.size >= 3, `walks saw several snapshots: ${[...tags]}`);
  console.log(`${walks.length} walks by 3 readers over ${tags.size} snapshots, none mixed or incomplete`);
});
