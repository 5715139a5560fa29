// The console (www/) in a real browser: Debian's Chromium driven by playwright-core, against the real worker run by
// `wrangler dev` (which serves www/ as static assets) with a snapshot published by the real CLI.
//
// Every expected value comes from the server itself (/api/status and the TAXII endpoints), never from constants.
// One credentials test answers 401s with page.route() (the page's side of the flow alone); the next runs the same
// flow against the worker's own authentication (TAXII_USERS), and every other test talks to the worker unaltered.
// Screenshots go to tests/artifacts/ (gitignored).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_TOKEN, CLI, ROOT, buildAll, buildSnapshot, startWorker, tempDir } from './worker.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

const TAXII21 = 'application/taxii+json;version=2.1';
const TAXII20 = 'application/vnd.oasis.taxii+json; version=2.0';
const STIX20 = 'application/vnd.oasis.stix+json; version=2.0';

// The demo feed until the real one lands: XSOAR's own test indicators plus generated IPs and domains, so that a
// collection holds more objects than a preview shows (the "newest" logic is then exercised) and several types.
// Collection1's IPs are SCOs over 2.1 (nothing for Sentinel); the last two carry client settings.
const COLLECTIONS = {
  Collection1: 'type:IP',
  Collection2: { query: '', description: 'Everything' },
  'For Sentinel': { query: '', as_indicator: ['ipv4-addr', 'domain-name'] },
  'For XSOAR': { query: '', profile: 'xsoar' },
};
const FIXTURE = join(ROOT, 'tests', 'browser', 'fixtures', 'ip_iocs.json');
function generated() {
  const out = [];
  for (let i = 0; i < 30; i++) {
    const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const domain = i % 3 === 0;
    out.push({
      value: domain ? `bad-${i}.example.com` : `198.51.100.${i + 1}`,
      indicator_type: domain ? 'Domain' : 'IP',
      score: 3,
      timestamp: t,
      modified: t,
    });
  }
  // A file with two hashes: XSOAR drops it over 2.0 (its pattern ORs them) and reads it over 2.1 (an SCO).
  const t = new Date(Date.UTC(2026, 0, 2)).toISOString();
  out.push({ value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', indicator_type: 'File', score: 3, timestamp: t, modified: t, md5: 'd41d8cd98f00b204e9800998ecf8427e' });
  return out;
}

let worker;
let browser;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_BIN`);
  }
  buildAll();
  const snapshot = buildSnapshot({ collections: COLLECTIONS, inputs: [FIXTURE], indicators: generated() });
  // An open feed: every collection public (PUBLIC_COLLECTIONS is how the worker's authentication, issue 6, says so).
  worker = await startWorker({ snapshot, vars: { PUBLIC_COLLECTIONS: '*' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  mkdirSync(ARTIFACTS, { recursive: true });
}, { timeout: 900_000 });

after(async () => {
  await browser?.close();
  await worker?.stop();
});

/** A request to the worker from the test itself (not the page). */
async function taxii(path, accept, headers = {}) {
  const r = await fetch(new URL(path, worker.url), { headers: { Accept: accept, ...headers } });
  assert.ok(r.ok, `${path} answered ${r.status}`);
  return { body: await r.json(), headers: r.headers };
}

/** A fresh page that records console errors, page errors, failed requests and every request made. */
async function openPage(viewport = LAPTOP, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => requests.push(r));
  return { context, page, errors, requests };
}

async function loaded(page) {
  await page.goto(`${worker.url}/`);
  await page.waitForSelector('#collection-list .card');
  await waitPreview(page);
}

/** Waits until the preview shows a parsed body. */
async function waitPreview(page, version) {
  await page.waitForFunction((v) => {
    const pre = document.querySelector('#preview-json');
    return pre.dataset.version && (!v || pre.dataset.version === v) && pre.textContent.trim().startsWith('{');
  }, version);
  return JSON.parse(await page.textContent('#preview-json'));
}

async function selectCollection(page, id) {
  await page.click(`.card[data-collection-id="${id}"] .go`);
  await page.waitForFunction((cid) => document.querySelector('#detail').dataset.collectionId === cid, id);
}

/**
 * Stands in for the worker's authentication (issue 6) with page.route(): a request whose Authorization is not
 * `good` gets 401 + WWW-Authenticate: Basic, unless `anonymous` lists the collection ids anyone may read (a public
 * feed); a caller sees only its collections in /api/status and the TAXII list, and 404 for the others.
 */
async function fakeAuth(page, { good, anonymous, user }) {
  const unauthorized = (route) => route.fulfill({
    status: 401,
    headers: { 'WWW-Authenticate': 'Basic realm="taxii-edge"', 'Content-Type': TAXII21 },
    body: JSON.stringify({ title: 'Unauthorized', http_status: '401', description: 'credentials are required' }),
  });
  await page.route(/\/(api\/status|taxii2?\/|threatintel\/)/, async (route) => {
    const request = route.request();
    const auth = request.headers().authorization;
    let visible;
    if (auth === good) visible = user;
    else if (!auth && anonymous) visible = anonymous;
    else return unauthorized(route);
    const path = new URL(request.url()).pathname;
    const collection = path.startsWith('/threatintel/collections/') && path.split('/')[3];
    if (collection && !visible.includes(collection)) {
      return route.fulfill({ status: 404, headers: { 'Content-Type': TAXII21 }, body: '{"title":"Not found","http_status":"404"}' });
    }
    // The worker behind serves an open feed: it gets the request without the credentials it does not know.
    const headers = { ...request.headers() };
    delete headers.authorization;
    const response = await route.fetch({ headers });
    if (path === '/api/status' || path === '/threatintel/collections/') {
      const body = await response.json();
      body.collections = body.collections.filter((c) => visible.includes(c.id));
      return route.fulfill({ response, json: body });
    }
    return route.fulfill({ response });
  });
}

test('the page loads with no console errors, only from its own origin, and shows the server', async (t) => {
  const { context, page, errors, requests } = await openPage();
  const started = Date.now();
  await loaded(page);
  const ready = Date.now() - started;
  const bytes = await page.evaluate(() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
    .reduce((n, e) => n + (e.transferSize || 0), 0));
  t.diagnostic(`from navigation to the preview shown: ${ready} ms, ${requests.length} requests, ${bytes} bytes transferred`);
  const status = (await taxii('/api/status', 'application/json')).body;
  const discovery = (await taxii('/taxii2/', TAXII21)).body;
  assert.equal(await page.textContent('h1'), status.title);
  assert.equal(await page.textContent('[data-field="server-api-root"]'), discovery.default);
  assert.equal(await page.textContent('[data-field="discovery-2.1"]'), status.discovery['2.1']);
  assert.equal(await page.textContent('[data-field="discovery-2.0"]'), status.discovery['2.0']);
  assert.equal(await page.textContent('[data-field="snapshot-id"]'), status.snapshot.id);
  assert.deepEqual(errors, []);
  const origins = new Set(requests.map((r) => new URL(r.url()).origin));
  assert.deepEqual([...origins], [worker.url], 'every request goes to the worker itself');
  assert.equal(await page.isHidden('#signin'), true, 'an open feed asks for no credentials');
  await context.close();
});

test('the collections are listed with their real counts, types, queries and ids', async () => {
  const { context, page, errors } = await openPage();
  await loaded(page);
  const status = (await taxii('/api/status', 'application/json')).body;
  const listed = (await taxii('/threatintel/collections/', TAXII21)).body.collections;
  const cards = await page.$$eval('#collection-list .card', (els) => els.map((e) => ({
    id: e.dataset.collectionId,
    title: e.querySelector('h3').textContent,
    shownId: e.querySelector('[data-field="id"]').textContent,
    count: Number(e.querySelector('[data-field="count"]').dataset.count),
    query: e.querySelector('[data-field="query"]').textContent,
    types: Object.fromEntries([...e.querySelectorAll('[data-type]')].map((t) => [t.dataset.type, Number(t.dataset.count)])),
  })));
  assert.deepEqual(cards.map((c) => c.id), listed.map((c) => c.id), 'the TAXII collections, in order');
  assert.ok(cards.length >= 2);
  for (const card of cards) {
    const s = status.collections.find((c) => c.id === card.id);
    const t = listed.find((c) => c.id === card.id);
    assert.equal(card.title, t.title);
    assert.equal(card.shownId, t.id);
    assert.equal(card.count, s.count);
    assert.deepEqual(card.types, s.types);
    assert.equal(card.query, s.query || '(empty: every indicator)');
    // The count is the number of objects the TAXII endpoint really serves.
    const all = (await taxii(`/threatintel/collections/${card.id}/objects/?limit=1000`, TAXII21)).body.objects;
    assert.equal(all.length, card.count, `${card.title}: count equals the objects served`);
  }
  assert.ok(Object.keys(cards[1].types).length >= 2, 'the demo feed has several types in the "Everything" collection');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the preview shows the newest objects, exactly as the objects endpoint serves them, over 2.1 and 2.0', async () => {
  const { context, page, errors } = await openPage();
  await loaded(page);
  const listed = (await taxii('/threatintel/collections/', TAXII21)).body.collections;
  for (const c of listed) {
    await selectCollection(page, c.id);
    const all21 = (await taxii(`/threatintel/collections/${c.id}/objects/?limit=1000`, TAXII21)).body.objects;
    const all20 = (await taxii(`/threatintel/collections/${c.id}/objects/`, STIX20)).body.objects;
    assert.ok(all21.length > 10, 'the collection holds more objects than the preview shows');
    for (const n of [10, 5]) {
      await page.selectOption('#preview-count', String(n));
      await page.check('input[name="version"][value="2.1"]');
      let shown = await waitPreview(page, '2.1');
      assert.deepEqual(shown.objects.map((o) => o.id), all21.slice(-n).map((o) => o.id), `${c.title}: newest ${n} over 2.1`);
      assert.deepEqual(shown.objects, all21.slice(-n), 'the objects themselves, unaltered');
      assert.match(await page.textContent('#preview-caption'), new RegExp(`newest ${n} of ${all21.length}`));
      await page.check('input[name="version"][value="2.0"]');
      shown = await waitPreview(page, '2.0');
      assert.equal(shown.type, 'bundle');
      assert.deepEqual(shown.objects.map((o) => o.id), all20.slice(-n).map((o) => o.id), `${c.title}: newest ${n} over 2.0`);
    }
  }
  // A preview larger than the collection shows all of it.
  await page.check('input[name="version"][value="2.1"]');
  await page.selectOption('#preview-count', '25');
  const small = listed[0];
  await selectCollection(page, small.id);
  const all = (await taxii(`/threatintel/collections/${small.id}/objects/?limit=1000`, TAXII21)).body.objects;
  const shown = await waitPreview(page, '2.1');
  assert.deepEqual(shown.objects.map((o) => o.id), all.slice(-25).map((o) => o.id));
  assert.deepEqual(errors, []);
  await context.close();
});

test('the Sentinel values are what the TAXII endpoints answer, and the curl snippet works as shown', async () => {
  const { context, page, errors } = await openPage();
  await loaded(page);
  const discovery = (await taxii('/taxii2/', TAXII21)).body;
  const discovery20 = (await taxii('/taxii/', TAXII20)).body;
  assert.equal(discovery.default, discovery20.default, 'one API root for both versions');
  const root = discovery.default;
  const listed = (await taxii(`${root}collections/`, TAXII21)).body.collections;
  for (const c of listed) {
    await selectCollection(page, c.id);
    assert.equal(await page.textContent('#panel-sentinel [data-field="sentinel-api-root"]'), root);
    assert.equal(await page.textContent('#panel-sentinel [data-field="sentinel-collection-id"]'), c.id);
    // The values work: the collection is found at the API root by that id.
    const one = (await taxii(`${root}collections/${c.id}/`, TAXII21)).body;
    assert.equal(one.title, c.title);
    assert.equal(await page.getAttribute('#panel-sentinel [data-field="sentinel-api-root"] + button', 'data-copy'), root);
  }
  // Keyboard: the client tabs follow the arrow keys.
  await page.focus('#tab-sentinel');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-opencti', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('#panel-opencti'), true);
  assert.equal(await page.isHidden('#panel-sentinel'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-opencti');
  await page.keyboard.press('End');
  assert.equal(await page.getAttribute('#tab-curl', 'aria-selected'), 'true');
  // Every client gets the API root or the objects URL of the selected collection.
  const c = listed[listed.length - 1];
  const objects = `${root}collections/${c.id}/objects/`;
  assert.equal(await page.textContent('[data-field="opencti-url"]'), root);
  assert.equal(await page.textContent('[data-field="opencti-collection"]'), c.id);
  assert.equal(await page.textContent('[data-field="elastic-url"]'), objects);
  assert.equal(await page.textContent('[data-field="splunk-api-root"]'), root);
  assert.match(await page.textContent('#panel-python pre'), new RegExp(`"${root}collections/${c.id}/"`));
  // Run the curl commands exactly as the page shows them.
  const curl = (await page.textContent('#panel-curl pre')).replace(/\\\n\s*/g, '').split('\n').filter((l) => l.startsWith('curl '));
  assert.equal(curl.length, 3);
  const answers = curl.map((line) => {
    const r = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${line}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  assert.equal(answers[0].default, root);
  const expected = (await taxii(`${objects}?limit=100`, TAXII21)).body.objects.map((o) => o.id);
  assert.deepEqual(answers[1].objects.map((o) => o.id), expected);
  assert.equal(answers[2].type, 'bundle');
  assert.deepEqual(errors, []);
  await context.close();
});

test('each client tab says what that client will get from the collection, from the server\'s own counts', async () => {
  const { context, page, errors } = await openPage();
  await loaded(page);
  const status = (await (await fetch(new URL('/api/status', worker.url))).json()).collections;
  const byTitle = Object.fromEntries(status.map((c) => [c.title, c]));
  const text = async (c, field) => {
    await selectCollection(page, c.id);
    return page.textContent(`[data-field="${field}"]`);
  };
  // IPs served as SCOs over 2.1: Sentinel would import nothing, and the console says so and what to set.
  const ips = byTitle.Collection1;
  assert.equal(ips.types.indicator, undefined);
  assert.ok(ips.types['ipv4-addr'] > 0);
  assert.match(await text(ips, 'sentinel-outlook'),
    new RegExp(`^0 indicator objects over 2\\.1: Microsoft Sentinel will import nothing; set as_indicator for its ${ips.types['ipv4-addr']} observables \\(ipv4-addr\\)`));
  assert.match(await text(ips, 'xsoar-outlook'), /Set "profile": "xsoar" on this collection/);
  assert.doesNotMatch(await text(ips, 'xsoar-outlook'), /hashes/, 'no files, no indicators: nothing about hashes');
  // Files are SCOs over 2.1 (XSOAR reads them); only over 2.0 their multi-hash patterns are dropped.
  const everything = byTitle.Collection2;
  assert.equal(everything.types.file, 1);
  assert.match(await text(everything, 'xsoar-outlook'), /over 2\.0 it drops files with several hashes \(1 file here; over 2\.1 it reads them\)/);
  assert.match(await text(ips, 'elastic-outlook'), /^0 indicator objects over 2\.1: .* set as_indicator/);
  // as_indicator for the collection: its indicators, counted by the server.
  const sentinel = byTitle['For Sentinel'];
  assert.ok(sentinel.types.indicator > 0);
  assert.match(await text(sentinel, 'sentinel-outlook'),
    new RegExp(`^${sentinel.types.indicator.toLocaleString('en-US')} indicator objects over 2\\.1: Microsoft Sentinel imports these`));
  // The xsoar profile: what XSOAR must fetch, and a warning on the other tabs.
  const xsoar = byTitle['For XSOAR'];
  assert.equal(xsoar.profile, 'xsoar');
  assert.match(await page.textContent(`.card[data-collection-id="${xsoar.id}"] [data-field="profile"]`), /^xsoar /);
  assert.equal(await page.$(`.card[data-collection-id="${ips.id}"] [data-field="profile"]`), null);
  assert.equal(byTitle.Collection2.profile, undefined);
  const x = await text(xsoar, 'xsoar-outlook');
  assert.match(x, /in the form Cortex XSOAR's TAXII 2 feed reads \(profile xsoar\)\. Its "STIX Objects To Fetch" must include indicator, relationship, .*ipv4-addr/);
  assert.equal(await page.textContent('[data-field="xsoar-collection"]'), xsoar.title);
  assert.match(await page.textContent('[data-field="xsoar-objects"]'), /^indicator, relationship, /);
  assert.match(await text(xsoar, 'sentinel-outlook'), /profile xsoar, not strict STIX/);
  assert.match(await text(xsoar, 'opencti-outlook'), new RegExp(`^OpenCTI reads every object: ${xsoar.count.toLocaleString('en-US')} objects over 2\\.1 .*xsoar profile`));
  assert.deepEqual(errors, []);
  await context.close();
});

/**
 * The sign-in flow against a feed at `url` that lets `user`/`password` read exactly `mine` (collection ids) and
 * nobody read anything without credentials. `intercept(page)`, if given, is set up before the page loads.
 */
async function signInFlow({ url, user, password, mine, intercept }) {
  const { context, page, requests } = await openPage();
  if (intercept) await intercept(page);
  const good = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  await page.goto(`${url}/`);
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username', 'the form takes the focus');
  assert.equal(await page.$$eval('#collection-list .card', (e) => e.length), 0, 'nothing is listed before sign-in');
  await page.screenshot({ path: join(ARTIFACTS, 'console-signin.png') });

  // A wrong password: an error in the form, and still nothing listed.
  await page.fill('#username', user);
  await page.fill('#password', 'wrong');
  await page.click('#signin-submit');
  await page.waitForFunction(() => document.querySelector('#signin-error').textContent !== '');
  assert.match(await page.textContent('#signin-error'), /did not accept/);
  const tried = requests.filter((r) => new URL(r.url()).pathname === '/api/status').pop();
  assert.equal(tried.headers().authorization, `Basic ${Buffer.from(`${user}:wrong`).toString('base64')}`);
  assert.equal(await page.$$eval('#collection-list .card', (e) => e.length), 0);

  // The right password: exactly the user's collections, every request with the credentials.
  const since = requests.length;
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#collection-list .card');
  await waitPreview(page, '2.1');
  assert.equal(await page.isHidden('#signin'), true);
  assert.equal(await page.textContent('#who'), `Signed in as ${user}`);
  assert.deepEqual(await page.$$eval('#collection-list .card', (els) => els.map((e) => e.dataset.collectionId)), mine);
  assert.equal(await page.textContent('[data-field="username"]'), user);
  const api = requests.slice(since).filter((r) => /^\/(api\/status|taxii2?\/|threatintel\/)/.test(new URL(r.url()).pathname));
  assert.ok(api.length >= 4, 'status, discovery, collections and objects were read');
  for (const r of api) assert.equal(r.headers().authorization, good, `${r.url()} carries the credentials`);
  // Memory only: nothing in storage or cookies, and the password field is cleared.
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, '']);
  assert.deepEqual(await context.cookies(), []);
  assert.equal(await page.inputValue('#password'), '');
  assert.equal(await page.evaluate((p) => document.body.innerHTML.includes(p), password), false, 'the password is never shown');

  // Signing out forgets them: the form is back and nothing is listed.
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.$$eval('#collection-list .card', (e) => e.length), 0);
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await context.close();
}

test('the taxii2-client snippet runs as shown and reads every object of the collection', async (t) => {
  const python = process.env.TAXII_EDGE_PYTHON || join(ROOT, '.venv', 'bin', 'python');
  if (spawnSync(python, ['-c', 'import taxii2client'], { encoding: 'utf8' }).status !== 0) {
    t.skip(`no Python with taxii2-client at ${python} (npm run setup makes .venv; or set TAXII_EDGE_PYTHON)`);
    return;
  }
  const { context, page, errors } = await openPage();
  await loaded(page);
  const listed = (await taxii('/threatintel/collections/', TAXII21)).body.collections;
  const c = listed[listed.length - 1];
  await selectCollection(page, c.id);
  await page.click('#tab-python');
  const code = await page.textContent('#panel-python pre');
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const printed = r.stdout.trim().split('\n').map((l) => l.split(' ')[1]);
  const all = (await taxii(`/threatintel/collections/${c.id}/objects/?limit=1000`, TAXII21)).body.objects;
  assert.deepEqual(printed, all.map((o) => o.id));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a protected feed asks for credentials in a form, keeps them in memory, and lists that user\'s collections', async () => {
  // Stands in for the worker's authentication with page.route() (see fakeAuth); the next test runs the same flow
  // against the real thing.
  const listed = (await taxii('/threatintel/collections/', TAXII21)).body.collections;
  const mine = [listed.find((c) => c.title === 'Collection1').id];
  const user = 'analyst';
  const password = 's3cret pass'; // a space, to check the encoding
  const good = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  await signInFlow({
    url: worker.url, user, password, mine,
    intercept: (page) => fakeAuth(page, { good, anonymous: null, user: mine }),
  });
});

test('the sign-in works against the worker\'s own authentication (TAXII_USERS)', async () => {
  const dir = tempDir();
  const users = join(dir, 'users.json');
  const password = 'console test pässword 1';
  const add = spawnSync(CLI, ['user', 'add', 'analyst', '--collections', 'Collection1', '--users', users, '--password-stdin',
    '--iterations', '5000'], { input: `${password}\n`, encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  const snapshot = buildSnapshot({ collections: COLLECTIONS, inputs: [FIXTURE], indicators: generated() });
  const closed = await startWorker({ snapshot, vars: { PUBLIC_COLLECTIONS: null }, secrets: { TAXII_USERS: readFileSync(users, 'utf8').trim() } });
  try {
    const good = { Authorization: `Basic ${Buffer.from(`analyst:${password}`).toString('base64')}` };
    const r = await fetch(`${closed.url}/threatintel/collections/`, { headers: { Accept: TAXII21, ...good } });
    assert.equal(r.status, 200);
    const mine = (await r.json()).collections.map((c) => c.id);
    assert.equal(mine.length, 1);
    const anonymous = await fetch(`${closed.url}/api/status`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('WWW-Authenticate') || '', /^Basic /);
    await signInFlow({ url: closed.url, user: 'analyst', password, mine });
  } finally {
    await closed.stop();
  }
  // Public and protected collections: anonymous visitors see the public one without a prompt; signing in shows
  // what /api/status lists for the user.
  const mixed = await startWorker({ snapshot, vars: { PUBLIC_COLLECTIONS: 'Collection2' }, secrets: { TAXII_USERS: readFileSync(users, 'utf8').trim() } });
  try {
    const ids = async (headers = {}) => {
      const r = await fetch(`${mixed.url}/api/status`, { headers });
      assert.equal(r.status, 200);
      return (await r.json()).collections.map((c) => c.id);
    };
    const anonymous = await ids();
    const signedIn = await ids({ Authorization: `Basic ${Buffer.from(`analyst:${password}`).toString('base64')}` });
    assert.equal(anonymous.length, 1);
    assert.ok(signedIn.length > anonymous.length);
    const { context, page } = await openPage();
    await page.goto(`${mixed.url}/`);
    await page.waitForSelector('#collection-list .card');
    assert.deepEqual(await page.$$eval('#collection-list .card', (els) => els.map((e) => e.dataset.collectionId)), anonymous);
    assert.equal(await page.isHidden('#signin'), true);
    await page.click('#signin-open');
    await page.fill('#username', 'analyst');
    await page.fill('#password', password);
    await page.click('#signin-submit');
    await page.waitForFunction((n) => document.querySelectorAll('#collection-list .card').length === n, signedIn.length);
    assert.deepEqual(await page.$$eval('#collection-list .card', (els) => els.map((e) => e.dataset.collectionId)), signedIn);
    await waitPreview(page, '2.1');
    await context.close();
  } finally {
    await mixed.stop();
  }
});

test('screenshots on a laptop and a phone (light and dark): nothing wider than the screen', async () => {
  for (const [name, viewport, colorScheme] of [['laptop', LAPTOP, 'light'], ['phone', PHONE, 'light'], ['phone-dark', PHONE, 'dark']]) {
    const { context, page, errors } = await openPage(viewport, { colorScheme });
    await loaded(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('every control has a name, headings do not skip levels, and the keyboard reaches the controls', async () => {
  const { context, page } = await openPage();
  await loaded(page);
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select, [role="tab"], pre[tabindex]')]
    .filter((e) => !e.closest('[hidden]'))
    .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
      || (e.tagName === 'BUTTON' && e.textContent.trim()) || (e.type === 'radio' && e.parentElement.tagName === 'LABEL')))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  const levels = await page.$$eval('h1, h2, h3, h4', (hs) => hs.filter((h) => !h.closest('[hidden]')).map((h) => Number(h.tagName[1])));
  assert.equal(levels[0], 1);
  for (let i = 1; i < levels.length; i++) assert.ok(levels[i] <= levels[i - 1] + 1, `heading levels ${levels}`);
  // Tab from the top: the skip link first, then the controls, each with a visible focus.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
  const reached = new Set();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    reached.add(await page.evaluate(() => document.activeElement.id || document.activeElement.getAttribute('aria-label') || document.activeElement.textContent.trim().slice(0, 30)));
  }
  for (const want of ['signin-open', 'refresh', 'preview-json', 'tab-sentinel']) assert.ok(reached.has(want), `Tab reaches ${want}`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused control shows a focus outline');
  await context.close();
});

test('the site is small, self-contained and stores nothing', () => {
  const dir = join(ROOT, 'www');
  let total = 0;
  for (const f of readdirSync(dir)) {
    total += statSync(join(dir, f)).size;
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /https?:\/\//, `${f} refers to no external URL`);
    assert.doesNotMatch(text, /localStorage|sessionStorage|document\.cookie|indexedDB/, `${f} stores nothing`);
  }
  assert.ok(total < 100 * 1024, `www/ is ${total} bytes`);
});

test('a feed kept current by taxii-edge sync shows its age and each source with its records and when it synced', async () => {
  // A worker of its own, fed by the real `taxii-edge sync --once` from a local CSV file (issue 20: "Freshness
  // you can see"); the values shown are compared with what /api/status says.
  const dir = tempDir('console-sync-');
  writeFileSync(join(dir, 'collections.json'), JSON.stringify({ All: '' }));
  const rows = Array.from({ length: 12 }, (_, k) => `203.0.113.${k + 1},IP,3,2026-01-01T00:00:00Z`);
  writeFileSync(join(dir, 'ioc.csv'), ['value,type,score,modified', ...rows].join('\n'));
  const synced = await startWorker({});
  try {
    writeFileSync(join(dir, 'sync.toml'), [
      'collections = "collections.json"',
      '[publish]', `url = ${JSON.stringify(synced.url)}`, 'token_env = "CONSOLE_SYNC_TOKEN"',
      '[[source]]', 'type = "url"', 'name = "partner-csv"', `url = ${JSON.stringify(join(dir, 'ioc.csv'))}`,
    ].join('\n'));
    const run = spawnSync(CLI, ['sync', '--config', join(dir, 'sync.toml'), '--once'],
      { env: { ...process.env, CONSOLE_SYNC_TOKEN: ADMIN_TOKEN }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const status = await (await fetch(`${synced.url}/api/status`)).json();
    assert.deepEqual(status.snapshot.sources.map((s) => [s.name, s.records]), [['partner-csv', 12]]);

    const { context, page, errors } = await openPage();
    await page.goto(`${synced.url}/`);
    await page.waitForSelector('[data-field="source-partner-csv"]');
    const fact = (label) => page.$eval('#server-info', (dl, l) => {
      const dt = [...dl.querySelectorAll('dt')].find((d) => d.textContent === l);
      const time = dt?.nextElementSibling?.querySelector('time');
      return dt && { text: dt.nextElementSibling.textContent, datetime: time?.getAttribute('datetime') };
    }, label);
    const source = await fact('Source partner-csv');
    assert.equal(source.datetime, status.snapshot.sources[0].synced);
    assert.match(source.text, /^12 records, synced \d{4}-\d\d-\d\d \d\d:\d\d UTC \(just now\)$/);
    const published = await fact('Published');
    assert.equal(published.datetime, status.snapshot.published);
    assert.match(published.text, /\(just now\)$/, 'the snapshot\'s age');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await synced.stop();
  }
});

test('a feed with public and protected collections lists the public ones, and more after an optional sign-in', async () => {
  const { context, page } = await openPage();
  const good = `Basic ${Buffer.from('partner:pässword').toString('base64')}`;
  const listed = (await taxii('/threatintel/collections/', TAXII21)).body.collections;
  const open = listed.filter((c) => c.title === 'Collection2').map((c) => c.id);
  await fakeAuth(page, { good, anonymous: open, user: listed.map((c) => c.id) });
  await loaded(page);
  assert.deepEqual(await page.$$eval('#collection-list .card', (els) => els.map((e) => e.dataset.collectionId)), open);
  assert.equal(await page.isHidden('#signin'), true, 'no prompt while something is readable');
  await page.click('#signin-open');
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.isVisible('#signin-cancel'), true, 'signing in is optional here');
  await page.fill('#username', 'partner');
  await page.fill('#password', 'pässword');
  await page.click('#signin-submit');
  await page.waitForFunction((n) => document.querySelectorAll('#collection-list .card').length === n, listed.length);
  assert.deepEqual(await page.$$eval('#collection-list .card', (els) => els.map((e) => e.dataset.collectionId)), listed.map((c) => c.id));
  assert.equal(await page.textContent('#who'), 'Signed in as partner');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'collections', 'the focus moves to the collections');
  await waitPreview(page, '2.1');
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await context.close();
});
