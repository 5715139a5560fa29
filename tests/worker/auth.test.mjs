// Authentication and access control through the real worker in workerd: users × collections × endpoints over
// TAXII 2.1 and 2.0, malformed credentials, caching headers, timing of wrong usernames versus wrong passwords,
// and the admin path refusing readers. Users are made with the real CLI (`taxii-edge user add`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startWorker, buildSnapshot, get, cli, tempDir, ADMIN_TOKEN, addUser } from '../harness.mjs';

const V21 = 'application/taxii+json;version=2.1';
const V20 = 'application/vnd.oasis.taxii+json; version=2.0';
const MISSING = '00000000-0000-5000-8000-000000000000';
const TITLES = ['Public IPs', 'Partner Domains', 'Internal URLs'];

let w;
const cols = {}; // title → { id, object }
const pw = {}; // user → password
let internalId;

const b64 = (s) => Buffer.from(s).toString('base64');
const basic = (u, p) => `Basic ${b64(`${u}:${p}`)}`;

function indicators() {
  const out = [];
  for (let i = 0; i < 30; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
    out.push({ value: `10.0.0.${i}`, indicator_type: 'IP', score: 2, modified: t });
    out.push({ value: `d${i}.example`, indicator_type: 'Domain', score: 3, modified: t });
    out.push({ value: `https://u${i}.example/x`, indicator_type: 'URL', score: 3, modified: t });
  }
  return out;
}

before(async () => {
  const snapshot = buildSnapshot({
    collections: { 'Public IPs': 'type:IP', 'Partner Domains': 'type:Domain', 'Internal URLs': 'type:URL' },
    indicators: indicators(),
  });
  // Collection ids from the snapshot the CLI built.
  const root = JSON.parse(readFileSync(join(snapshot, 'snapshot.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(snapshot, 'blobs', root.manifest), 'utf8'));
  internalId = manifest.collections.find((c) => c.title === 'Internal URLs').id;
  const file = join(tempDir('taxii-edge-users-'), 'users.json');
  pw.partner = addUser(file, 'partner', 'Partner Domains');
  pw.analyst = addUser(file, 'analyst', '*');
  pw.sentinel = addUser(file, 'sentinel', internalId);
  w = await startWorker({
    snapshot,
    vars: { PUBLIC_COLLECTIONS: 'Public IPs', TAXII_REALM: 'feeds' },
    secrets: { TAXII_USERS: readFileSync(file, 'utf8').trim() },
  });
  const all = await get(`${w.url}/threatintel/collections/`, { authorization: basic('analyst', pw.analyst) });
  assert.equal(all.status, 200, all.text);
  for (const c of all.json.collections) {
    const m = await get(`${w.url}/threatintel/collections/${c.id}/manifest/?limit=1`, {
      authorization: basic('analyst', pw.analyst),
    });
    cols[c.title] = { id: c.id, object: m.json.objects[0].id };
  }
  assert.deepEqual(Object.keys(cols).sort(), [...TITLES].sort());
});
after(() => w?.stop());

function viewers() {
  return [
    ['anonymous', undefined, ['Public IPs']],
    ['partner', basic('partner', pw.partner), ['Public IPs', 'Partner Domains']],
    ['analyst', basic('analyst', pw.analyst), TITLES],
    ['sentinel (Bearer)', `Bearer sentinel.${pw.sentinel}`, ['Public IPs', 'Internal URLs']],
  ];
}

function endpoints(id, object) {
  const c = `${w.url}/threatintel/collections/${id}`;
  return [
    ['collection', `${c}/`],
    ['manifest', `${c}/manifest/`],
    ['objects', `${c}/objects/`],
    ['object', `${c}/objects/${object}/`],
    ['versions', `${c}/objects/${object}/versions/`],
  ];
}

function revealsNothing(r, hidden, asked, what) {
  const all = r.text + JSON.stringify([...r.headers]);
  for (const t of hidden) {
    for (const secret of [t, cols[t].id, cols[t].object]) {
      if (asked.includes(secret)) continue;
      assert.ok(!all.includes(secret), `${what} reveals ${secret}: ${r.text}`);
    }
  }
}

test('users × collections × endpoints over TAXII 2.1 and 2.0', async () => {
  let n = 0;
  for (const [who, auth, readable] of viewers()) {
    const hidden = TITLES.filter((t) => !readable.includes(t));
    const h = auth ? { authorization: auth } : {};
    for (const accept of [V21, V20]) {
      const list = await get(`${w.url}/threatintel/collections/`, { ...h, accept });
      assert.equal(list.status, 200, `${who} list`);
      assert.deepEqual(list.json.collections.map((c) => c.title).sort(), [...readable].sort(), `${who} list`);
      revealsNothing(list, hidden, '', `${who} list`);
      const status = await get(`${w.url}/api/status`, h);
      assert.equal(status.json.collections.length, readable.length, `${who} status`);
      revealsNothing(status, hidden, '', `${who} status`);
      const targets = TITLES.map((t) => [t, cols[t].id, cols[t].object]);
      targets.push(['(missing)', MISSING, cols['Public IPs'].object]);
      for (const [title, id, object] of targets) {
        const may = readable.includes(title);
        const want = may ? 200 : auth ? 404 : 401;
        for (const [endpoint, url] of endpoints(id, object)) {
          const what = `${who} ${accept} ${endpoint} of ${title}`;
          const r = await get(url, { ...h, accept });
          assert.equal(r.status, want, `${what}: ${r.text}`);
          if (want !== 200) {
            assert.equal(r.headers.get('content-type'), accept, what);
            assert.equal(r.json.http_status, String(want), what);
            const twin = await get(url.replace(id, MISSING), { ...h, accept });
            assert.equal(r.text.replaceAll(id, MISSING), twin.text, `${what}: differs from a missing collection`);
          }
          if (want === 401) assert.equal(r.headers.get('www-authenticate'), 'Basic realm="feeds", charset="UTF-8"');
          if (auth) assert.equal(r.headers.get('cache-control'), 'private, no-store', what);
          assert.match(r.headers.get('vary') ?? '', /Authorization/, what);
          revealsNothing(r, hidden, url, what);
          n++;
        }
      }
    }
  }
  assert.equal(n, 4 * 2 * 4 * 5);
});

test('wrong and malformed credentials get 401 with the TAXII error of the negotiated version', async () => {
  const pub = `${w.url}/threatintel/collections/${cols['Public IPs'].id}/objects/`;
  const cases = [
    [basic('partner', 'wrong'), 'not valid'],
    [basic('nobody', pw.partner), 'not valid'],
    [basic('partner', ''), 'not valid'],
    [`Bearer sentinel.wrong`, 'not valid'],
    ['Basic %%%', 'not base64'],
    [`Basic ${b64('partner')}`, "no ':'"],
    [`Basic ${Buffer.from([0x70, 0x3a, 0xff, 0xfe]).toString('base64')}`, 'not UTF-8'],
    [`Basic ${b64(`:${pw.partner}`)}`, 'username is empty'],
    [`Basic ${'QUFB'.repeat(2000)}`, 'longer than 4096'],
    ['Digest username="partner"', 'not supported'],
    [`Bearer ${ADMIN_TOKEN}`, '<username>.<password>'],
  ];
  for (const [header, says] of cases) {
    for (const [url, accept, ct] of [
      [`${w.url}/taxii2/`, V21, V21],
      [`${w.url}/taxii/`, '*/*', V20],
      [pub, V21, V21],
      [pub, V20, V20],
    ]) {
      const r = await get(url, { authorization: header, accept });
      assert.equal(r.status, 401, `${header.slice(0, 40)} on ${url}: ${r.text}`);
      assert.equal(r.headers.get('content-type'), ct);
      assert.ok(r.headers.get('www-authenticate').startsWith('Basic realm="feeds"'));
      assert.equal(r.json.http_status, '401');
      assert.ok(r.json.description.includes(says), `${header.slice(0, 40)}: ${r.json.description}`);
    }
  }
});

test('the admin path refuses readers', async () => {
  for (const auth of [basic('analyst', pw.analyst), `Bearer analyst.${pw.analyst}`, basic('admin', ADMIN_TOKEN)]) {
    for (const [method, path] of [['GET', '/admin/current'], ['POST', '/admin/missing'], ['PUT', '/admin/current']]) {
      const r = await fetch(`${w.url}${path}`, { method, headers: { authorization: auth }, body: method === 'GET' ? undefined : '[]' });
      assert.equal(r.status, 401, `${method} ${path} as ${auth.slice(0, 20)}`);
    }
  }
  const ok = await fetch(`${w.url}/admin/current`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(ok.status, 200);
  const r = await get(`${w.url}/threatintel/collections/`, { authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.equal(r.status, 401, 'the admin token is no reader credential');
});

test('timing: a wrong username costs what a wrong password costs (benchmark, no assertion on time)', async () => {
  const rounds = 60;
  const times = { 'wrong username': [], 'wrong password': [], anonymous: [] };
  for (let i = 0; i < rounds; i++) {
    const order = Object.keys(times).sort(() => Math.random() - 0.5);
    for (const k of order) {
      const h = k === 'anonymous' ? {} : { authorization: k === 'wrong username' ? basic(`nobody${i}`, `g${i}`) : basic('partner', `g${i}`) };
      // From a new address each round: failed sign-ins are throttled per address and user (security.test.mjs).
      h['cf-connecting-ip'] = `10.8.${i}.1`;
      const t = performance.now();
      const r = await get(`${w.url}/taxii2/`, h);
      times[k].push(performance.now() - t);
      assert.equal(r.status, k === 'anonymous' ? 200 : 401);
    }
  }
  const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(15)} median ${med(v).toFixed(2)} ms over ${rounds}`);
});
