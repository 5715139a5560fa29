// Every protocol rule, table-driven, through the worker in workerd: each status code, each header, each filter,
// each bad input, over TAXII 2.1 and 2.0. No response may be a 5xx or a non-TAXII body.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, buildSnapshot, ipIndicators, get } from '../harness.mjs';

const T21 = 'application/taxii+json;version=2.1';
const T20 = 'application/vnd.oasis.taxii+json; version=2.0';
const S20 = 'application/vnd.oasis.stix+json; version=2.0';
const S21 = 'application/stix+json;version=2.1';
let w;
let C; // collection id
let O; // one object id
let O_VERSION;

before(async () => {
  const indicators = ipIndicators(50).concat([
    { value: 'evil.example.com', indicator_type: 'Domain', score: 3, timestamp: '2025-01-01T00:00:00Z', modified: '2025-03-01T00:00:00.123456Z' },
  ]);
  const snapshot = buildSnapshot({ collections: { Mixed: '', Empty: 'type:Mutex' }, indicators });
  w = await startWorker({ snapshot });
  C = (await get(`${w.url}/threatintel/collections/`)).json.collections[0].id;
  const m = await get(`${w.url}/threatintel/collections/${C}/manifest/?limit=1`);
  O = m.json.objects[0].id;
  O_VERSION = m.json.objects[0].version;
});
after(() => w?.stop());

const col = (rest = '') => `/threatintel/collections/${C}/${rest}`;

// [name, method, path (a function, after setup), request headers, expected status, expected content type,
//  a check of the body or headers]
const cases = () => [
  // Discovery and API root, both versions, with and without trailing slashes.
  ['discovery 2.1', 'GET', '/taxii2/', { accept: T21 }, 200, T21, (r) => assert.ok(r.json.api_roots.length === 1)],
  ['discovery 2.1 no slash', 'GET', '/taxii2', { accept: T21 }, 200, T21],
  ['discovery 2.0', 'GET', '/taxii/', { accept: T20 }, 200, T20],
  ['discovery without Accept: newest of that path', 'GET', '/taxii2/', {}, 200, T21],
  ['discovery */*', 'GET', '/taxii2/', { accept: '*/*' }, 200, T21],
  ['discovery unacceptable', 'GET', '/taxii2/', { accept: 'text/html' }, 406, T21, (r) => assert.match(r.json.description, /application\/taxii\+json;version=2\.1/)],
  ['api root by Accept 2.1', 'GET', '/threatintel/', { accept: T21 }, 200, T21, (r) => assert.deepEqual(r.json.versions, [T21])],
  ['api root by Accept 2.0', 'GET', '/threatintel/', { accept: T20 }, 200, T20, (r) => assert.deepEqual(r.json.versions, ['taxii-2.0'])],
  ['api root 2.0 without the space', 'GET', '/threatintel', { accept: 'application/vnd.oasis.taxii+json;version=2.0' }, 200, T20],
  ['api root quoted and upper case', 'GET', '/threatintel/', { accept: 'APPLICATION/TAXII+JSON; VERSION="2.1"' }, 200, T21],
  ['api root q-values prefer 2.0', 'GET', '/threatintel/', { accept: `${T21};q=0.2, ${T20};q=0.9` }, 200, T20],
  ['api root versionless taxii type', 'GET', '/threatintel/', { accept: 'application/taxii+json' }, 200, T21],
  ['api root unknown version', 'GET', '/threatintel/', { accept: 'application/taxii+json;version=3.0' }, 406, T21],
  ['content-type on GET is ignored', 'GET', '/threatintel/', { accept: T21, 'content-type': 'text/plain' }, 200, T21],
  // Status: a read-only server has none.
  ['status', 'GET', '/threatintel/status/2d086da7-4bdc-4f91-900e-d77486753710/', { accept: T21 }, 404, T21],
  // Collections and collection.
  ['collections', 'GET', '/threatintel/collections/', { accept: T21 }, 200, T21, (r) => assert.equal(r.json.collections[0].can_write, false)],
  ['collections 2.0 media types', 'GET', '/threatintel/collections/', { accept: T20 }, 200, T20, (r) => assert.deepEqual(r.json.collections[0].media_types, [S20])],
  ['collection', 'GET', col(), { accept: T21 }, 200, T21, (r) => assert.deepEqual(r.json.media_types, [S21])],
  ['collection without slash', 'GET', col().slice(0, -1), { accept: T21 }, 200, T21],
  ['unknown collection', 'GET', '/threatintel/collections/00000000-0000-4000-8000-000000000000/', { accept: T21 }, 404, T21],
  // Objects and manifest with every filter.
  ['objects', 'GET', col('objects/'), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects.length, 51)],
  ['objects limit', 'GET', col('objects/?limit=7'), { accept: T21 }, 200, T21, (r) => {
    assert.equal(r.json.objects.length, 7);
    assert.equal(r.json.more, true);
    assert.ok(r.json.next);
    assert.match(r.headers.get('x-taxii-date-added-first'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }],
  ['objects limit above the maximum is clamped', 'GET', col('objects/?limit=999999'), { accept: T21 }, 200, T21],
  ['objects limit 0', 'GET', col('objects/?limit=0'), { accept: T21 }, 400, T21, (r) => assert.equal(r.json.details.parameter, 'limit')],
  ['objects limit negative', 'GET', col('objects/?limit=-1'), { accept: T21 }, 400, T21],
  ['objects limit not a number', 'GET', col('objects/?limit=ten'), { accept: T21 }, 400, T21],
  ['objects limit twice', 'GET', col('objects/?limit=1&limit=2'), { accept: T21 }, 400, T21, (r) => assert.match(r.json.description, /more than once/)],
  ['added_after in the future', 'GET', col('objects/?added_after=2999-01-01T00:00:00Z'), { accept: T21 }, 200, T21, (r) => {
    // An empty page lists no objects (a client reading `objects` finds an empty list), and its date headers
    // keep a header cursor where it was: both are the request's added_after.
    assert.equal(r.text, '{"more":false,"objects":[]}');
    assert.equal(r.headers.get('x-taxii-date-added-first'), '2999-01-01T00:00:00.000000Z');
    assert.equal(r.headers.get('x-taxii-date-added-last'), '2999-01-01T00:00:00.000000Z');
  }],
  ['added_after with an offset', 'GET', col('objects/?added_after=2000-01-01T02:00:00%2B02:00'), { accept: T21 }, 200, T21],
  ['added_after with a space for +', 'GET', col('objects/?added_after=2000-01-01T02:00:00+02:00'), { accept: T21 }, 200, T21],
  ['added_after lower-case z, no fraction', 'GET', col('objects/?added_after=2000-01-01t00:00:00z'), { accept: T21 }, 200, T21],
  ['added_after garbage', 'GET', col('objects/?added_after=yesterday'), { accept: T21 }, 400, T21, (r) => assert.equal(r.json.details.parameter, 'added_after')],
  ['match[type] list', 'GET', col('objects/?match[type]=domain-name,ipv4-addr'), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects.length, 51)],
  ['match[type] one', 'GET', col('objects/?match[type]=domain-name'), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects.length, 1)],
  ['match[type] none present', 'GET', col('objects/?match[type]=malware'), { accept: T21 }, 200, T21, (r) => {
    assert.equal(r.text, '{"more":false,"objects":[]}');
    assert.equal(r.headers.get('x-taxii-date-added-last'), null, 'no added_after: no cursor to keep');
  }],
  ['manifest none present', 'GET', col('manifest/?added_after=2999-01-01T00:00:00Z'), { accept: T21 }, 200, T21, (r) => assert.equal(r.text, '{"more":false,"objects":[]}')],
  ['2.0 bundle, none present', 'GET', col('objects/?added_after=2999-01-01T00:00:00Z'), { accept: S20 }, 200, S20, (r) => {
    assert.deepEqual(r.json.objects, [], 'a bundle that lists no objects, for clients that read objects unconditionally');
    assert.equal(r.headers.get('x-taxii-date-added-last'), '2999-01-01T00:00:00.000000Z');
  }],
  ['2.0 manifest, none present', 'GET', col('manifest/?added_after=2999-01-01T00:00:00Z'), { accept: T20 }, 200, T20, (r) => assert.equal(r.text, '{"objects":[]}')],
  ['2.0 Range, none present', 'GET', col('objects/?match[type]=malware'), { accept: S20, range: 'items=0-49' }, 416, T20, (r) => {
    assert.equal(r.headers.get('content-range'), 'items */0');
  }],
  ['match[type] invalid', 'GET', col('objects/?match[type]=Not%20A%20Type'), { accept: T21 }, 400, T21],
  ['match[type]=indicator over 2.0 finds observables', 'GET', col('objects/?match[type]=indicator'), { accept: S20 }, 200, S20, (r) => assert.equal(r.json.objects.length, 51)],
  ['match[id]', 'GET', () => col(`objects/?match[id]=${O}`), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects[0].id, O)],
  ['match[id] invalid', 'GET', col('objects/?match[id]=nope'), { accept: T21 }, 400, T21],
  ['match[version] last', 'GET', col('objects/?match[version]=last&limit=3'), { accept: T21 }, 200, T21],
  ['match[version] all', 'GET', col('objects/?match[version]=all&limit=3'), { accept: T21 }, 200, T21],
  ['match[version] exact', 'GET', () => col(`objects/?match[version]=${O_VERSION}`), { accept: T21 }, 200, T21, (r) => assert.ok(r.json.objects.some((o) => o.id === O))],
  ['match[version] combination', 'GET', () => col(`objects/?match[version]=first,${O_VERSION},last&limit=2`), { accept: T21 }, 200, T21],
  ['match[version] all with others', 'GET', col('objects/?match[version]=all,last'), { accept: T21 }, 400, T21],
  ['match[spec_version] 2.1', 'GET', col('objects/?match[spec_version]=2.1&limit=1'), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects[0].spec_version, '2.1')],
  ['match[spec_version] bad', 'GET', col('objects/?match[spec_version]=9'), { accept: T21 }, 400, T21],
  ['unknown match field is ignored', 'GET', col('objects/?match[color]=red&limit=1'), { accept: T21 }, 200, T21],
  ['next garbage', 'GET', col('objects/?next=abc'), { accept: T21 }, 400, T21, (r) => assert.equal(r.json.details.parameter, 'next')],
  ['manifest', 'GET', col('manifest/?limit=2'), { accept: T21 }, 200, T21, (r) => {
    assert.deepEqual(Object.keys(r.json.objects[0]).sort(), ['date_added', 'id', 'media_type', 'version']);
    assert.ok(r.json.next);
  }],
  ['manifest match[type]', 'GET', col('manifest/?match[type]=domain-name'), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects.length, 1)],
  ['manifest 2.0', 'GET', col('manifest/'), { accept: T20 }, 200, T20, (r) => {
    assert.deepEqual(r.json.objects[0].media_types, [S20]);
    assert.equal(r.json.objects[0].versions.length, 1);
  }],
  ['empty collection', 'GET', '/threatintel/collections/Empty/objects/', { accept: T21 }, 404, T21],
  // Object by id and versions.
  ['object', 'GET', () => col(`objects/${O}/`), { accept: T21 }, 200, T21, (r) => assert.equal(r.json.objects[0].id, O)],
  ['object not found', 'GET', col('objects/indicator--00000000-0000-4000-8000-000000000000/'), { accept: T21 }, 404, T21],
  ['object with match[type] is not a filter of it', 'GET', () => col(`objects/${O}/?match[type]=x`), { accept: T21 }, 400, T21],
  ['versions', 'GET', () => col(`objects/${O}/versions/`), { accept: T21 }, 200, T21, (r) => assert.deepEqual(r.json.versions, [O_VERSION])],
  ['object over 2.0', 'GET', () => col(`objects/${O}/`), { accept: S20 }, 200, S20, (r) => assert.equal(r.json.type, 'bundle')],
  // 2.0 objects and Range.
  ['2.0 bundle, no Range, all fits', 'GET', col('objects/'), { accept: S20 }, 200, S20, (r) => {
    assert.equal(r.json.spec_version, '2.0');
    assert.match(r.json.id, /^bundle--[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('accept-ranges'), 'items');
  }],
  ['2.0 Range', 'GET', col('objects/'), { accept: S20, range: 'items=0-9' }, 206, S20, (r) => assert.equal(r.headers.get('content-range'), 'items 0-9/51')],
  ['2.0 Range with a space', 'GET', col('objects/'), { accept: S20, range: 'items 10-19' }, 206, S20, (r) => assert.equal(r.headers.get('content-range'), 'items 10-19/51')],
  ['2.0 Range clamped at the end', 'GET', col('objects/'), { accept: S20, range: 'items=45-100' }, 206, S20, (r) => assert.equal(r.headers.get('content-range'), 'items 45-50/51')],
  ['2.0 Range past the end', 'GET', col('objects/'), { accept: S20, range: 'items=51-60' }, 416, T20, (r) => assert.equal(r.headers.get('content-range'), 'items */51')],
  ['2.0 Range malformed', 'GET', col('objects/'), { accept: S20, range: 'items=9-2' }, 400, T20],
  // Methods on a read-only server.
  ['POST objects', 'POST', col('objects/'), { accept: T21, 'content-type': T21 }, 403, T21],
  ['DELETE object', 'DELETE', () => col(`objects/${O}/`), { accept: T21 }, 403, T21],
  ['PUT collection', 'PUT', col(), { accept: T21 }, 405, T21, (r) => assert.ok(r.headers.get('allow'))],
  ['POST to unknown collection', 'POST', '/threatintel/collections/nope/objects/', { accept: T21 }, 404, T21],
  // Unknown paths are TAXII 404s, not HTML.
  ['unknown path', 'GET', '/threatintel/nothing/here/', { accept: T21 }, 404, T21],
  ['unknown root', 'GET', '/other-root/collections/', { accept: T20 }, 404, T20],
];

test('every protocol rule', async (t) => {
  for (const [name, method, path, headers, status, type, check] of cases()) {
    await t.test(name, async () => {
      const p = typeof path === 'function' ? path() : path;
      const res = await fetch(`${w.url}${p}`, { method, headers, body: method === 'POST' ? '{}' : undefined });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { assert.fail(`not JSON: ${text.slice(0, 200)}`); }
      assert.ok(res.status < 500, `${res.status}: ${text}`);
      assert.equal(res.status, status, text);
      assert.equal(res.headers.get('content-type'), type);
      if (status >= 400) {
        assert.equal(json.http_status, String(status), 'errors are TAXII error resources');
        assert.ok(json.title && json.description);
      }
      if (check) check({ status: res.status, headers: res.headers, text, json });
    });
  }
});

test('a setting switches a TAXII version off', async () => {
  const snapshot = buildSnapshot({ collections: { Only: '' }, indicators: ipIndicators(3) });
  const only21 = await startWorker({ snapshot, vars: { TAXII_VERSIONS: '2.1' } });
  try {
    assert.equal((await get(`${only21.url}/taxii/`, { accept: T20 })).status, 404);
    assert.equal((await get(`${only21.url}/threatintel/`, { accept: T20 })).status, 406);
    assert.equal((await get(`${only21.url}/threatintel/`, { accept: T21 })).status, 200);
  } finally {
    await only21.stop();
  }
  const only20 = await startWorker({ snapshot, vars: { TAXII_VERSIONS: '2.0' } });
  try {
    assert.equal((await get(`${only20.url}/taxii2/`)).status, 404);
    const root = await get(`${only20.url}/threatintel/`, { accept: '*/*' });
    assert.equal(root.headers.get('content-type'), T20);
  } finally {
    await only20.stop();
  }
});
