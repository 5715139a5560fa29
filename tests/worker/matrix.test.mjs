// The bad-input matrix, through the worker in workerd: hundreds of malformed or unusual requests generated from
// tables (every endpoint × every method × both versions; bad paths, dot segments, double slashes, bad
// percent-encodings, overlong segments, NUL and control characters; huge headers and parameters; repeated
// parameters; every filter with every wrong type and value; Range; Accept, Content-Type and Authorization), each
// with its expected status and, for errors, the parameter named. Every row also fails on any 5xx and on any error
// that is not a TAXII error resource in a TAXII media type. protocol.test.mjs holds the well-formed protocol rules;
// this file is the hostile side. Requests go out raw (node:http), so paths reach the worker as written.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startWorker, buildSnapshot, ipIndicators, get, cli, tempDir } from '../harness.mjs';
import { join } from 'node:path';

const T21 = 'application/taxii+json;version=2.1';
const T20 = 'application/vnd.oasis.taxii+json; version=2.0';
const S20 = 'application/vnd.oasis.stix+json; version=2.0';
const TAXII_TYPES = [T21, T20];
const UUID = '00000000-0000-4000-8000-000000000000';

let w;
let host;
let port;
let C; // collection id
let O; // an object id
let NEXT; // a valid next token of C
let GOOD_AUTH;

before(async () => {
  const indicators = ipIndicators(40).concat([
    { value: 'bad.example', indicator_type: 'Domain', score: 3, timestamp: '2025-01-01T00:00:00Z', modified: '2025-02-01T00:00:00Z' },
  ]);
  const snapshot = buildSnapshot({ collections: { Feed: '' }, indicators });
  // One user, so that Authorization headers are read; every collection stays public for anonymous rows.
  const users = join(tempDir('taxii-edge-matrix-'), 'users.json');
  const out = cli(['user', 'add', 'reader', '--collections', '*', '--users', users]).stdout;
  const password = out.match(/password: (\S+)/)[1];
  GOOD_AUTH = `Basic ${Buffer.from(`reader:${password}`).toString('base64')}`;
  const { readFileSync } = await import('node:fs');
  w = await startWorker({ snapshot, secrets: { TAXII_USERS: readFileSync(users, 'utf8') } });
  ({ hostname: host, port } = new URL(w.url));
  C = (await get(`${w.url}/threatintel/collections/`)).json.collections[0].id;
  const page = await get(`${w.url}/threatintel/collections/${C}/objects/?limit=2`);
  O = page.json.objects[0].id;
  NEXT = page.json.next;
});
after(() => w?.stop());

/** One raw request; resolves { status, headers, body }. */
function raw(method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timed out')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * A row: [name, method, path, headers, expected status (or a list of allowed ones), the parameter an error names
 * (or undefined: not checked; null: none)].
 */
const col = (rest = '') => `/threatintel/collections/${C}/${rest}`;

function endpointRows() {
  const endpoints = {
    'discovery 2.1': ['/taxii2/', {}],
    'discovery 2.0': ['/taxii/', {}],
    'api root': ['/threatintel/', {}],
    collections: ['/threatintel/collections/', {}],
    collection: [col(), {}],
    manifest: [col('manifest/'), {}],
    objects: [col('objects/'), { POST: 403 }],
    object: [col(`objects/${O}/`), { DELETE: 403 }],
    versions: [col(`objects/${O}/versions/`), {}],
    status: [`/threatintel/status/${UUID}/`, { GET: 404, HEAD: 404 }],
  };
  const rows = [];
  for (const [name, [path, special]] of Object.entries(endpoints)) {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const [v, accept] of [['2.1', T21], ['2.0', T20]]) {
        const status = special[method] ?? (method === 'GET' || method === 'HEAD' ? 200 : 405);
        rows.push([`${method} ${name} over ${v}`, method, path, { accept }, status, status >= 400 ? null : undefined]);
      }
    }
  }
  return rows;
}

function pathRows() {
  const a = (n) => 'a'.repeat(n);
  const cases = [
    ['root', '/', 404],
    ['dot segments to the API root', '/threatintel/collections/../', 200],
    ['a single dot segment', '/threatintel/./collections/', 200],
    ['encoded dot segments', '/threatintel/%2e%2e/taxii2/', 200],
    ['dot segments above the root', '/../../etc/passwd', 404],
    ['dot segments only', '/..', 404],
    ['double slash first', '//taxii2/', 404],
    ['double slash inside', '/threatintel//collections/', 404],
    ['double slash at the end', '/threatintel/collections//', 200],
    ['collection with a double slash inside', `/threatintel/collections/${C}//objects/`, 404],
    ['encoded slash', '/threatintel%2fcollections/', 200],
    ['bad escape %zz', '/threatintel/collections/%zz/', 404],
    ['lone %', '/threatintel/collections/%/', 404],
    ['half an escape', '/threatintel/collections/%4/', 404],
    ['invalid UTF-8', '/threatintel/collections/%ff%fe/', 404],
    ['overlong UTF-8 for /', '/threatintel/collections/%c0%af/', 404],
    ['NUL', '/threatintel/collections/%00/', 404],
    ['NUL in the API root', '/threatintel%00/', 404],
    ['newline', '/threatintel/collections/%0a/', 404],
    ['CR LF', '/threatintel/collections/%0d%0aX-Injected:%20yes/', 404],
    ['DEL', '/threatintel/collections/%7f/', 404],
    ['tab', '/threatintel/collections/%09/', 404],
    ['escaped letters', '/%74axii2/', 200],
    ['latin-1 byte', '/threatintel/collections/\u00e9/', 404],
    ['UTF-8 escape', '/threatintel/collections/%C3%A9/', 404],
    ['upper case root', '/TAXII2/', 404],
    ['upper case collections', '/threatintel/Collections/', 404],
    ['segment after discovery', '/taxii2/extra/', 404],
    ['segment after versions', col(`objects/${O}/versions/extra/`), 404],
    ['object id that is not an id', col('objects/not-an-id/'), 404],
    ['object id with NUL', col('objects/indicator--%00/'), 404],
    ['long collection id', `/threatintel/collections/${a(1000)}/`, 404],
    ['long object id', col(`objects/${a(4000)}/`), 404],
    ['many segments', '/a'.repeat(1500), 404],
    ['overlong segment', `/threatintel/collections/${a(9000)}/`, 414],
    ['overlong path', '/x'.repeat(4200), 414],
    ['unknown collection', `/threatintel/collections/${UUID}/objects/`, 404],
    ['query only', '/taxii2/?', 200],
    ['empty query pair', '/taxii2/?&&=&', 200],
    ['fragment-like', '/taxii2/%23frag', 404],
  ];
  return cases.map(([name, path, status]) => [`path: ${name}`, 'GET', path, { accept: T21 }, status, status >= 400 ? null : undefined]);
}

/** Every filter with every wrong value, on the endpoints that take it, over 2.1 and 2.0. */
function filterRows() {
  const bad = {
    added_after: ['', 'yesterday', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-01-01T25:00:00Z', '2024-01-01T00:61:00Z',
      '1700000000', '-1', 'null', '[]', '{}', 'true', '%00', '2024-01-01T00:00:00Z%00', 'x'.repeat(500), '99999-01-01T00:00:00Z',
      '2024-01-01T00:00:00+99:00'],
    limit: ['', '0', '-1', '1.5', 'ten', '1e3', '0x10', '99999999999999999999999', 'null', '%00', '--1', '1,2', '[1]'],
    next: ['', 'abc', 'a.b', '!!!.!!!', '.', 'eyJzIjoiYSJ9.AAAAAAAAAAAAAAAAAAAAAA', '%00', 'x'.repeat(3000)],
    'match[id]': ['', ',', 'nope', 'indicator--', 'indicator--not-a-uuid', `Indicator--${UUID}`, `--${UUID}`, `indicator-${UUID}`,
      `indicator--${UUID},nope`, `indicator--${UUID}%00`, Array(101).fill(`indicator--${UUID}`).join(',')],
    'match[type]': ['', ',', 'Indicator', 'a b', 'type!', 'x'.repeat(251), 'indicator,,ipv4-addr', '%00', 'ipv4_addr',
      Array(101).fill('indicator').join(',')],
    'match[version]': ['', 'newest', 'all,last', 'last,all', '2024-13-01T00:00:00Z', 'first,,last', '1700000000', 'ALL',
      Array(101).fill('last').join(',')],
    'match[spec_version]': ['', '2.2', '2', 'v2.1', '2.1,3', '2.1,', '%00', 'null'],
  };
  const takes = {
    objects: Object.keys(bad),
    manifest: Object.keys(bad),
    object: ['added_after', 'limit', 'next', 'match[version]', 'match[spec_version]'],
    versions: ['added_after', 'limit', 'next', 'match[spec_version]'],
  };
  const paths = { objects: col('objects/'), manifest: col('manifest/'), object: col(`objects/${O}/`), versions: col(`objects/${O}/versions/`) };
  const rows = [];
  for (const [endpoint, names] of Object.entries(takes)) {
    for (const [v, accept] of [['2.1', T21], ['2.0', S20]]) {
      if (v === '2.0' && endpoint === 'versions') continue; // versions is 2.1 only: covered by the 2.1 rows
      for (const name of names) {
        for (const value of bad[name]) {
          const q = `${encodeURIComponent(name)}=${value.startsWith('%') ? value : encodeURIComponent(value)}`;
          const shown = value.length > 40 ? `${value.slice(0, 20)}…(${value.length})` : value;
          // A match[id] of 101 values is 4 KB of URL: still under the URL limit, refused for the count.
          rows.push([`${endpoint} ${v} ${name}=${shown}`, 'GET', `${paths[endpoint]}?${q}`, { accept }, 400, name]);
        }
      }
    }
    // Filters the endpoint does not take.
    for (const name of Object.keys(bad).filter((n) => !names.includes(n))) {
      const value = name === 'match[id]' ? O : name === 'match[type]' ? 'indicator' : 'last';
      rows.push([`${endpoint} does not take ${name}`, 'GET', `${paths[endpoint]}?${name}=${encodeURIComponent(value)}`, { accept: T21 }, 400, name]);
    }
  }
  // Repeated parameters: each a 400 naming it, even with equal values.
  const good = { added_after: '2020-01-01T00:00:00Z', limit: '5', next: () => NEXT, 'match[id]': () => O, 'match[type]': 'ipv4-addr',
    'match[version]': 'last', 'match[spec_version]': '2.1' };
  for (const [name, value] of Object.entries(good)) {
    const val = () => encodeURIComponent(typeof value === 'function' ? value() : value);
    for (const endpoint of ['objects', 'manifest']) {
      rows.push([`${endpoint} repeats ${name}`, 'GET', () => `${paths[endpoint]}?${name}=${val()}&${name}=${val()}`, { accept: T21 }, 400, name]);
    }
  }
  // Values that are odd but valid: 200.
  const fine = ['limit=%205', 'limit=%2B5', 'limit=1000000', 'added_after=2000-01-01T00:00:00Z', 'match[type]=%20indicator%20',
    'match[unknown]=x', 'match[]=x', 'match=x', 'unknown=%00', 'match[version]=first,last', 'match[spec_version]=2.0,2.1'];
  for (const q of fine) rows.push([`objects accepts ${q}`, 'GET', `${paths.objects}?${q}`, { accept: T21 }, 200, undefined]);
  return rows;
}

function limitRows() {
  const params = (n) => Array.from({ length: n }, (_, i) => `_${i}=1`).join('&');
  return [
    ['32 parameters are allowed', 'GET', `${col('objects/')}?${params(32)}`, { accept: T21 }, 200, undefined],
    ['33 parameters', 'GET', `${col('objects/')}?${params(33)}`, { accept: T21 }, 400, '_32'],
    ['500 parameters', 'GET', `${col('objects/')}?${params(500)}`, { accept: T20 }, 400, '_32'],
    ['33 parameters on discovery', 'GET', `/taxii2/?${params(33)}`, { accept: T21 }, 400, '_32'],
    ['100 filter values are allowed', 'GET', `${col('objects/')}?match[type]=${Array(100).fill('indicator').join(',')}`, { accept: T21 }, 200, undefined],
    ['101 values of an unknown match field', 'GET', `${col('objects/')}?match[color]=${Array(101).fill('red').join(',')}`, { accept: T21 }, 400, 'match[color]'],
    ['a URL over 8 KB in the query', 'GET', `${col('objects/')}?_=${'q'.repeat(8200)}`, { accept: T21 }, 414, null],
    ['a URL over 8 KB over 2.0', 'GET', `${col('objects/')}?_=${'q'.repeat(8200)}`, { accept: T20 }, 414, null],
    ['next of 2049 bytes', 'GET', `${col('objects/')}?next=${'n'.repeat(2049)}`, { accept: T21 }, 400, 'next'],
    ['a header over 8 KB', 'GET', col('objects/'), { accept: T21, 'x-pad': 'p'.repeat(8200) }, 431, 'x-pad'],
    ['an Accept over 8 KB', 'GET', col('objects/'), { accept: `${T21}, ${'text/x-pad, '.repeat(800)}` }, 431, 'accept'],
    ['headers over 32 KB in all', 'GET', col('objects/'), { accept: T20, ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(7000)])) }, 431, null],
    ['many small headers', 'GET', '/taxii2/', { accept: T21, ...Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`x-h-${i}`, 'v'])) }, 200, undefined],
  ];
}

function headerRows() {
  const b64 = (s) => Buffer.from(s).toString('base64');
  const rows = [];
  // Accept: unacceptable forms are 406 naming Accept; odd but acceptable ones are 200 (negotiation is liberal:
  // application/json and the versionless types are accepted, see crates/core/src/taxii/media.rs; a q-value that is not a
  // number accepts nothing).
  const accepts = [
    ['text/html', 406], ['application/json', 200], ['text/json', 406], ['application/xml', 406], ['application/taxii+json;version=9', 406], [';;;,,,', 406],
    ['application/taxii+json;version=2.1;q=0', 406], ['*/*;q=0', 406], ['application/taxii+json;version=', 406],
    ['application/vnd.oasis.taxii+json; version=2.1', 406], ['application/stix+json;version=2.0', 200], ['application/stix+json;version=2.2', 406], ['\t', 200], ['', 200],
    ['*/*', 200], ['application/*', 200], [`${T21};q=abc`, 406], [`${T21};q=0.001`, 200], [`${T21};;;`, 200], ['application/taxii+json;version="2.1', 200],
  ];
  for (const [accept, status] of accepts) {
    for (const [name, path] of [['api root', '/threatintel/'], ['objects', col('objects/')]]) {
      rows.push([`${name} Accept ${JSON.stringify(accept)}`, 'GET', path, { accept }, status, status === 406 ? 'Accept' : undefined]);
    }
  }
  // Range over 2.0.
  const ranges = [
    ['items=9-2', 400], ['bytes=0-9', 400], ['items=a-b', 400], ['items=0', 400], ['items=-5', 400], ['items=5-', 400],
    ['items=0-99999999999999999999999', 400], ['items=0-9,20-29', 400], ['items', 400], ['items=', 400], ['items=%00', 400],
    ['items = 0-9', 400], ['ITEMS=0-9', 400], ['items=1000-2000', 416], ['items=0-0', 206], ['items=0-99999', 206], ['items 0-9', 206],
  ];
  for (const [range, status] of ranges) {
    for (const [name, path] of [['objects', col('objects/')], ['manifest', col('manifest/')]]) {
      rows.push([`2.0 ${name} Range ${range}`, 'GET', path, { accept: name === 'objects' ? S20 : T20, range }, status,
        status === 400 ? 'Range' : undefined]);
    }
  }
  rows.push(['a Range over 2.1 is ignored', 'GET', col('objects/'), { accept: T21, range: 'items=9-2' }, 200, undefined]);
  // Content-Type: a read-only server refuses POST whatever it carries; GET ignores it.
  for (const ct of ['text/plain', T21, 'application/json', '', 'multipart/form-data; boundary=x', '%00']) {
    rows.push([`POST objects Content-Type ${JSON.stringify(ct)}`, 'POST', col('objects/'), { accept: T21, 'content-type': ct }, 403, null]);
    rows.push([`GET objects Content-Type ${JSON.stringify(ct)}`, 'GET', col('objects/?limit=1'), { accept: T21, 'content-type': ct }, 200, undefined]);
  }
  // Authorization: every malformed form is a 401 TAXII error; a good one and none are served.
  const auths = [
    ['Basic', 401], ['Basic ', 401], [' ', 200], ['Basic !!!', 401], [`Basic ${b64('nocolon')}`, 401], [`Basic ${b64(':pw')}`, 401],
    [`Basic ${b64('\u00ff\u00fe')}`.replace(/=+$/, ''), 401], [`Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`, 401],
    ['Bearer', 401], ['Bearer nodot', 401], ['Bearer .secret', 401], ['Digest username="x"', 401], ['Negotiate YII=', 401],
    ['basic', 401], [`Basic ${'A'.repeat(5000)}`, 401], [`Basic ${b64('nobody:pw')}`, 401], [`Basic ${b64('reader:wrong')}`, 401],
    ['Bearer reader.wrong', 401], ['\t', 200], ['Basic\t!!!', 401], [`Basic  ${b64('reader:wrong')}`, 401],
  ];
  for (const [authorization, status] of auths) {
    rows.push([`Authorization ${JSON.stringify(authorization.slice(0, 40))}`, 'GET', '/threatintel/collections/', { accept: T21, authorization }, status,
      status === 401 ? undefined : undefined]);
  }
  rows.push(['Authorization that is good', 'GET', '/threatintel/collections/', { accept: T21, authorization: () => GOOD_AUTH }, 200, undefined]);
  rows.push(['Authorization malformed over 2.0', 'GET', '/taxii/', { accept: T20, authorization: 'Bearer nodot' }, 401, undefined]);
  // Conditional and other headers that must not break anything.
  rows.push(['If-None-Match garbage', 'GET', col('objects/?limit=1'), { accept: T21, 'if-none-match': '%%%,,,"' }, 200, undefined]);
  rows.push(['If-None-Match *', 'GET', col('objects/?limit=1'), { accept: T21, 'if-none-match': '*' }, 304, undefined]);
  rows.push(['Host header odd', 'GET', '/taxii2/', { accept: T21, host: 'evil.example:1' }, 200, undefined]);
  return rows;
}

/** Runs rows with a little concurrency; returns the failures as lines. */
async function run(rows) {
  const failures = [];
  let i = 0;
  async function worker() {
    while (i < rows.length) {
      const [name, method, pathOf, headersIn, expected, parameter] = rows[i++];
      const path = typeof pathOf === 'function' ? pathOf() : pathOf;
      const headers = Object.fromEntries(Object.entries(headersIn).map(([k, v]) => [k, typeof v === 'function' ? v() : v]));
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined;
      let r;
      try {
        r = await raw(method, path, headers, body);
      } catch (e) {
        failures.push(`${name}: request failed: ${e.message}`);
        continue;
      }
      const problems = [];
      const allowed = Array.isArray(expected) ? expected : [expected];
      if (r.status >= 500) problems.push(`a ${r.status}`);
      if (!allowed.includes(r.status)) problems.push(`status ${r.status}, expected ${allowed.join(' or ')}`);
      const ct = r.headers['content-type'];
      if (r.status >= 400) {
        // In the version asked for, when the Accept header names one.
        const want = [T20, S20].includes(headers.accept) ? T20 : headers.accept === T21 ? T21 : undefined;
        if (!TAXII_TYPES.includes(ct)) problems.push(`error content type ${ct}`);
        else if (want && ct !== want) problems.push(`error in ${ct}, asked for ${want}`);
        if (method === 'HEAD') {
          if (r.body !== '') problems.push('a HEAD with a body');
        } else {
          let j;
          try { j = JSON.parse(r.body); } catch { problems.push(`error body is not JSON: ${r.body.slice(0, 120)}`); }
          if (j) {
            if (j.http_status !== String(r.status) || !j.title || !j.description) problems.push(`not a TAXII error: ${r.body.slice(0, 200)}`);
            if (parameter !== undefined && (j.details?.parameter ?? null) !== parameter) {
              problems.push(`parameter ${JSON.stringify(j.details?.parameter)}, expected ${JSON.stringify(parameter)}`);
            }
          }
        }
        if (r.status === 503 && !r.headers['retry-after']) problems.push('a 503 without Retry-After');
      }
      if (problems.length) failures.push(`${name} [${method} ${path.slice(0, 120)}]: ${problems.join('; ')}${r.status >= 400 ? ` — ${r.body.slice(0, 160)}` : ''}`);
    }
  }
  await Promise.all(Array.from({ length: 6 }, worker));
  return failures;
}

const groups = {
  'every endpoint × every method × both versions': endpointRows,
  'bad paths and encodings': pathRows,
  'every filter with every wrong value': filterRows,
  'size limits': limitRows,
  'Accept, Range, Content-Type, Authorization and other headers': headerRows,
};

let total = 0;
for (const [name, rows] of Object.entries(groups)) {
  test(name, async () => {
    const list = rows();
    total += list.length;
    const failures = await run(list);
    assert.equal(failures.length, 0, `${failures.length} of ${list.length} rows failed:\n${failures.join('\n')}`);
  });
}

test('the matrix is hundreds of rows', () => {
  assert.ok(total >= 400, `${total} rows`);
  console.log(`# bad-input matrix: ${total} requests`);
});
