// The taxii-edge console: reads the server's /api/status and its TAXII endpoints live, lists the collections,
// previews their newest objects, and gives the exact values to connect a client. Credentials, when the feed needs
// them, live in this module's memory only (never in storage) and go out as an explicit Basic Authorization header.

const TAXII21 = 'application/taxii+json;version=2.1';
const TAXII20 = 'application/vnd.oasis.taxii+json; version=2.0';
const STIX20 = 'application/vnd.oasis.stix+json; version=2.0';

const state = {
  /** { user, header } once signed in; memory only. */
  auth: null,
  status: null,
  /** The TAXII discovery answers per version, or an error string. */
  discovery: {},
  /** The collections the TAXII collections endpoint lists (by id), when it answered. */
  taxii: null,
  selected: null,
  client: 'sentinel',
  previewSeq: 0,
};

const $ = (id) => document.getElementById(id);

/** Raised when the server wants credentials (401). */
class AuthRequired extends Error {
  constructor(url, challenge) {
    super(`${url} needs a username and password`);
    this.challenge = challenge;
  }
}

/** A GET with an explicit Accept and, when signed in, Authorization. Never lets the browser prompt or cache. */
async function get(url, accept, extra = {}) {
  const headers = { Accept: accept, ...extra };
  if (state.auth) headers.Authorization = state.auth.header;
  let response;
  try {
    response = await fetch(url, { headers, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new Error(`the server did not answer ${url}: ${e.message}`);
  }
  if (response.status === 401) throw new AuthRequired(url, response.headers.get('WWW-Authenticate') || '');
  return response;
}

/** GET and parse JSON; a non-2xx answer becomes an Error with the server's own message. */
async function getJson(url, accept, extra) {
  const response = await get(url, accept, extra);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`${url} answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const why = body && (body.description || body.title || body.error);
    throw new Error(`${url} answered ${response.status}${why ? `: ${why}` : ''}`);
  }
  return { response, body, text };
}

function basicHeader(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Small DOM helpers.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function announce(text) {
  const live = $('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el('textarea', { class: 'sr-only', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    area.remove();
    return ok;
  }
}

/** A copy button for `text`; `what` names it for screen readers. */
function copyButton(text, what, cls = '') {
  const button = el('button', { type: 'button', class: `secondary small ${cls}`.trim(), 'aria-label': `Copy ${what}`, 'data-copy': text, text: 'Copy' });
  button.addEventListener('click', async () => {
    const ok = await copyText(text);
    button.textContent = ok ? 'Copied' : 'Copy failed';
    announce(ok ? `${what} copied` : `Could not copy ${what}: select it and copy by hand`);
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
  return button;
}

/** A value in monospace with its copy button. */
function copyable(text, what, field) {
  return [el('code', { class: 'value', 'data-field': field, text }), copyButton(text, what)];
}

function fact(dl, term, ...value) {
  dl.append(el('dt', { text: term }), el('dd', {}, ...value));
}

/** "2026-11-22 12:09 UTC" in a <time> that carries the exact value. */
function when(iso) {
  if (!iso) return el('span', { class: 'muted', text: 'never' });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el('span', { text: iso });
  const shown = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return el('time', { datetime: iso, title: iso, text: `${shown} (${ago(d)})` });
}

function ago(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 0) return 'in the future';
  if (s < 90) return 'just now';
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

const number = (n) => Number(n).toLocaleString('en-US');

/** Pretty JSON with light highlighting, built from text nodes (never innerHTML of server data). */
function highlight(pre, value) {
  pre.textContent = '';
  const text = JSON.stringify(value, null, 2);
  const re = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b|\b(true|false|null)\b/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    if (m[1]) {
      pre.append(el('span', { class: m[2] ? 'j-key' : 'j-str', text: m[1] }));
      if (m[2]) pre.append(m[2]);
    } else {
      pre.append(el('span', { class: 'j-num', text: m[0] }));
    }
    last = m.index + m[0].length;
  }
  pre.append(text.slice(last));
}

// ---------------------------------------------------------------------------------------------------------------
// Loading.

function showNotice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

function openSignin(reason, required) {
  $('signin').hidden = false;
  $('signin-why').textContent = reason;
  $('signin-cancel').hidden = !!required;
  $('signin-open').hidden = true;
  $('username').focus();
}

function closeSignin() {
  $('signin').hidden = true;
  $('signin-error').textContent = '';
  $('password').value = '';
  renderAccount();
}

/** The API root URL clients should use: discovery's default, else the status's, else this origin's. */
function apiRoot() {
  const d = state.discovery['2.1'] || state.discovery['2.0'];
  const fromDiscovery = d && typeof d === 'object' && (d.default || (d.api_roots || [])[0]);
  const root = fromDiscovery || (state.status && state.status.api_root) || '/threatintel/';
  return new URL(root, location.origin).href;
}

function discoveryUrl(version) {
  const s = state.status && state.status.discovery && state.status.discovery[version];
  return s ? new URL(s, location.origin).href : null;
}

async function load() {
  showNotice('');
  $('server-loading').hidden = false;
  $('server-loading').textContent = 'Loading…';
  let status;
  try {
    ({ body: status } = await getJson('/api/status', 'application/json'));
  } catch (e) {
    $('server-loading').textContent = '';
    if (e instanceof AuthRequired) {
      $('server-loading').textContent = 'Sign in to see the server\'s details.';
      if (state.auth) {
        state.auth = null;
        renderAccount();
        throw e;
      }
      renderEmpty('Sign in to see the collections you may read.');
      openSignin('This feed is protected: sign in with the username and password you were given. They are kept in '
        + 'this tab\'s memory only and sent with each request; closing or reloading the tab forgets them.', true);
      return;
    }
    showNotice(`Could not read the server's status: ${e.message}. Try Refresh; if it persists, check the worker's logs.`);
    return;
  }
  state.status = status;
  state.discovery = {};
  state.taxii = null;
  const jobs = [];
  for (const [version, accept] of [['2.1', TAXII21], ['2.0', TAXII20]]) {
    const url = discoveryUrl(version);
    if (!url) continue;
    jobs.push(getJson(url, accept).then(
      ({ body }) => { state.discovery[version] = body; },
      (e) => { state.discovery[version] = e instanceof AuthRequired ? 'needs credentials' : e.message; },
    ));
  }
  await Promise.all(jobs);
  if (status.snapshot) {
    const v21 = !!discoveryUrl('2.1');
    try {
      const { body } = await getJson(`${apiRoot()}collections/`, v21 ? TAXII21 : TAXII20);
      state.taxii = new Map((body.collections || []).map((c) => [c.id, c]));
    } catch (e) {
      state.taxii = e instanceof AuthRequired ? 'needs credentials' : e.message;
    }
  }
  renderServer();
  renderCollections();
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

function renderAccount() {
  $('who').textContent = state.auth ? `Signed in as ${state.auth.user}` : '';
  $('signin-open').hidden = !!state.auth || !$('signin').hidden;
  $('signout').hidden = !state.auth;
}

function renderEmpty(text) {
  state.previewSeq += 1; // a preview still in flight must not fill the hidden panel
  $('server-info').textContent = '';
  $('collection-list').textContent = '';
  $('collections-summary').textContent = text;
  $('detail').hidden = true;
}

function renderServer() {
  const s = state.status;
  document.title = s.title || 'taxii-edge';
  $('title').textContent = s.title || 'taxii-edge';
  $('description').textContent = s.description || '';
  $('server-loading').hidden = true;
  const dl = $('server-info');
  dl.textContent = '';
  fact(dl, 'API root', ...copyable(apiRoot(), 'the API root URL', 'server-api-root'));
  for (const version of ['2.1', '2.0']) {
    const url = discoveryUrl(version);
    const d = state.discovery[version];
    if (!url) {
      fact(dl, `TAXII ${version}`, el('span', { class: 'muted', text: 'not served' }));
      continue;
    }
    const extra = typeof d === 'string' ? el('span', { class: 'muted', text: `(${d})` }) : null;
    fact(dl, `TAXII ${version} discovery`, ...copyable(url, `the TAXII ${version} discovery URL`, `discovery-${version}`), extra);
  }
  if (s.snapshot) {
    fact(dl, 'Snapshot', el('code', { class: 'value', 'data-field': 'snapshot-id', text: s.snapshot.id }));
    fact(dl, 'Built', when(s.snapshot.created));
    fact(dl, 'Published', when(s.snapshot.published));
    // A feed kept current by `taxii-edge sync`: each source, when it last synced and how many records it gave.
    for (const src of s.snapshot.sources || []) {
      fact(dl, `Source ${src.name}`, el('span', { 'data-field': `source-${src.name}`, text: `${number(src.records)} records, synced ` }), when(src.synced));
    }
    const total = (s.collections || []).reduce((n, c) => n + (c.count || 0), 0);
    fact(dl, 'Objects', el('span', { text: `${number(total)} in ${(s.collections || []).length} collection(s)${state.auth ? ' you may read' : ''}` }));
  } else {
    fact(dl, 'Snapshot', el('span', { text: 'nothing published yet: run `taxii-edge build`, then `taxii-edge publish`' }));
  }
  fact(dl, 'Page size', el('span', { text: `up to ${number(s.max_page_size)} objects per request` }));
}

function renderCollections() {
  const s = state.status;
  const list = $('collection-list');
  list.textContent = '';
  const collections = s.collections || [];
  if (!s.snapshot) {
    renderEmpty('No snapshot is published yet, so there are no collections to show.');
    return;
  }
  if (collections.length === 0) {
    renderEmpty(state.auth
      ? `${state.auth.user} may read no collection on this server.`
      : 'No collection is readable without credentials: sign in to see yours.');
    return;
  }
  let summary = `${collections.length} collection(s)${state.auth ? ` readable by ${state.auth.user}` : ''}.`;
  if (state.taxii instanceof Map) {
    const missing = collections.filter((c) => !state.taxii.has(c.id)).map((c) => c.title);
    const extra = [...state.taxii.keys()].filter((id) => !collections.some((c) => c.id === id));
    if (missing.length || extra.length) {
      showNotice(`The TAXII collections endpoint and /api/status disagree (${missing.length} missing from TAXII, `
        + `${extra.length} only in TAXII): reload, and if it persists, report it.`);
    }
  } else if (typeof state.taxii === 'string') {
    summary += ` The TAXII collections endpoint did not answer (${state.taxii}).`;
  }
  $('collections-summary').textContent = summary;
  for (const c of collections) list.append(collectionCard(c));
  const wanted = new URLSearchParams(location.hash.slice(1)).get('collection');
  const pick = collections.find((c) => c.id === wanted || c.alias === wanted)
    || collections.find((c) => state.selected && c.id === state.selected.id)
    || collections[0];
  select(pick, false);
}

function collectionCard(c) {
  const dl = el('dl', { class: 'facts' });
  fact(dl, 'ID', ...copyable(c.id, `the id of ${c.title}`, 'id'));
  if (c.alias) fact(dl, 'Alias', el('code', { text: c.alias }));
  fact(dl, 'Query', c.query ? el('code', { 'data-field': 'query', text: c.query }) : el('span', { 'data-field': 'query', class: 'muted', text: '(empty: every indicator)' }));
  if (c.profile) fact(dl, 'Profile', el('span', { 'data-field': 'profile', text: `${c.profile} (rendered for that client; see the Connect tabs)` }));
  fact(dl, 'Objects', el('span', { 'data-field': 'count', 'data-count': String(c.count), text: number(c.count) }));
  const types = Object.entries(c.types || {}).sort((a, b) => b[1] - a[1]);
  if (types.length) {
    fact(dl, 'Types', el('ul', { class: 'types' }, types.map(([t, n]) => el('li', { 'data-type': t, 'data-count': String(n), text: `${t} ${number(n)}` }))));
  }
  fact(dl, 'Newest', c.newest ? when(c.newest) : el('span', { class: 'muted', text: 'empty collection' }));
  const headingId = `c-${c.id}`;
  return el('li', { class: 'card', 'data-collection-id': c.id },
    el('h3', { id: headingId, text: c.title }),
    c.description ? el('p', { class: 'muted', text: c.description }) : null,
    dl,
    el('button', {
      type: 'button', class: 'secondary go', 'aria-pressed': 'false', 'aria-controls': 'detail',
      text: 'Preview and connect', 'aria-label': `Preview and connect ${c.title}`,
      onclick: () => select(c, true),
    }));
}

function select(c, focus) {
  state.selected = c;
  for (const card of document.querySelectorAll('.card')) {
    const on = card.dataset.collectionId === c.id;
    card.dataset.selected = String(on);
    card.querySelector('.go').setAttribute('aria-pressed', String(on));
  }
  const hash = `#collection=${encodeURIComponent(c.id)}`;
  if (location.hash !== hash) history.replaceState(null, '', hash);
  $('detail').hidden = false;
  $('detail').dataset.collectionId = c.id;
  $('detail-h').textContent = `${c.title}: preview and connect`;
  renderConnect();
  preview();
  if (focus) {
    $('detail').focus({ preventScroll: true });
    $('detail').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Preview: the newest objects of the selected collection, exactly as the server sends them.

function objectsUrl(c) {
  return `${apiRoot()}collections/${encodeURIComponent(c.id)}/objects/`;
}

async function preview() {
  const c = state.selected;
  if (!c) return;
  const seq = ++state.previewSeq;
  const form = $('preview-form');
  const version = form.elements.version.value;
  const n = Number(form.elements.count.value);
  const caption = $('preview-caption');
  const pre = $('preview-json');
  caption.textContent = 'Loading…';
  pre.textContent = '';
  $('preview-request').textContent = '';
  delete pre.dataset.version;
  try {
    const shown = version === '2.0' ? await latest20(c, n) : await latest21(c, n);
    if (seq !== state.previewSeq) return;
    caption.textContent = shown.caption;
    $('preview-request').textContent = shown.request;
    pre.dataset.version = version;
    highlight(pre, shown.body);
  } catch (e) {
    if (seq !== state.previewSeq) return;
    pre.textContent = '';
    caption.textContent = e instanceof AuthRequired
      ? 'The server asks for credentials for these objects: sign in.'
      : `Could not load the objects: ${e.message}`;
    if (e instanceof AuthRequired) openSignin('The server asks for a username and password to read this collection.', false);
  }
}

const range = (a, b) => `items=${a}-${b}`;

/** TAXII 2.1: objects come oldest first. The newest n start after the (count − n)th: its date_added comes from a
 * one-item 2.0 manifest Range when 2.0 is served; else the first page is shown and said to be the oldest. */
async function latest21(c, n) {
  const url = objectsUrl(c);
  if (c.count > n && discoveryUrl('2.0')) {
    const at = c.count - n - 1;
    const { body: m } = await getJson(`${apiRoot()}collections/${encodeURIComponent(c.id)}/manifest/`, TAXII20, { Range: range(at, at) });
    const after = m.objects && m.objects[0] && m.objects[0].date_added;
    if (after) {
      const request = `${url}?added_after=${encodeURIComponent(after)}&limit=${n}`;
      const { body } = await getJson(request, TAXII21);
      const got = (body.objects || []).length;
      return { body, request: `GET ${request}`, caption: `The newest ${got} of ${number(c.count)} objects, oldest first, over TAXII 2.1 (those added after ${after}):` };
    }
  }
  const request = `${url}?limit=${n}`;
  const { body } = await getJson(request, TAXII21);
  const got = (body.objects || []).length;
  const caption = c.count > n
    ? `The oldest ${got} of ${number(c.count)} objects (the first page; this server serves no TAXII 2.0 to find the newest), over TAXII 2.1:`
    : `All ${got} objects, oldest first, over TAXII 2.1:`;
  return { body, request: `GET ${request}`, caption };
}

/** TAXII 2.0: a STIX 2.0 bundle of the last n items by Range. */
async function latest20(c, n) {
  const url = objectsUrl(c);
  const first = Math.max(0, c.count - n);
  const last = Math.max(0, c.count - 1);
  const { response, body } = await getJson(url, STIX20, { Range: range(first, last) });
  const got = (body.objects || []).length;
  const cr = response.headers.get('Content-Range');
  return {
    body,
    request: `GET ${url}  Range: ${range(first, last)}${cr ? `  →  Content-Range: ${cr}` : ''}`,
    caption: `The newest ${got} of ${number(c.count)} objects, oldest first, as a STIX 2.0 bundle over TAXII 2.0:`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Connect a client: exact values for the selected collection, from the TAXII endpoints' own answers.

const CLIENTS = [
  ['sentinel', 'Microsoft Sentinel'],
  ['opencti', 'OpenCTI'],
  ['elastic', 'Elastic'],
  ['splunk', 'Splunk ES'],
  ['xsoar', 'Cortex XSOAR'],
  ['python', 'taxii2-client'],
  ['curl', 'curl'],
];

/** The STIX 2.1 observable (SCO) types: over 2.0 each of them is an indicator. */
const SCO_TYPES = ['ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'email-addr', 'file', 'windows-registry-key',
  'user-account', 'autonomous-system', 'software', 'x509-certificate', 'mutex'];

/** What a collection serves, by kind, from the counts per 2.1 type the server states (/api/status). */
function contents(c) {
  const types = c.types || {};
  const scoTypes = SCO_TYPES.filter((t) => types[t]);
  const observables = scoTypes.reduce((n, t) => n + types[t], 0);
  const indicators = types.indicator || 0;
  return {
    indicators, observables, scoTypes, other: c.count - indicators - observables,
    indicators20: indicators + observables, xsoar: c.profile === 'xsoar',
  };
}

const plural = (n, one, many = `${one}s`) => `${number(n)} ${n === 1 ? one : many}`;

/** What each client will get from collection `c`: one sentence per client, from the server's own counts. */
const OUTLOOK = {
  sentinel(c) {
    const k = contents(c);
    const over20 = discoveryUrl('2.0') ? ` Over TAXII 2.0 it would get ${plural(k.indicators20, 'indicator object')}.` : '';
    if (k.xsoar) {
      return `This collection is rendered for Cortex XSOAR (profile xsoar, not strict STIX): give Microsoft Sentinel a `
        + 'collection of the default profile with as_indicator set.';
    }
    if (k.indicators === 0) {
      return `0 indicator objects over 2.1: Microsoft Sentinel will import nothing; set as_indicator`
        + (k.observables ? ` for its ${plural(k.observables, 'observable')} (${k.scoTypes.join(', ')})` : '')
        + ` in the collections JSON.${over20}`;
    }
    const skipped = k.observables
      ? ` It skips the ${plural(k.observables, 'observable')} served as SCOs (${k.scoTypes.join(', ')}): add their types `
        + 'to as_indicator to import them.'
      : '';
    return `${plural(k.indicators, 'indicator object')} over 2.1: Microsoft Sentinel imports these (indicator objects `
      + `only; the other ${plural(k.other + k.observables, 'object')} it does not import).${skipped}`;
  },
  xsoar(c) {
    const k = contents(c);
    if (k.xsoar) {
      return `${plural(c.count, 'object')} in the form Cortex XSOAR's TAXII 2 feed reads (profile xsoar). Its "STIX `
        + `Objects To Fetch" must include ${xsoarObjects(c).join(', ')}; use TAXII 2.1.`;
    }
    const problems = [];
    if (k.observables) problems.push(`its second fetch over 2.1 fails on the ${plural(k.observables, 'observable')} (SCOs have no modified)`);
    // A file whose pattern ORs several hashes is dropped; over 2.1 files are SCOs (read) unless served as indicators.
    const files = (c.types || {}).file;
    if (files) problems.push(`over 2.0 it drops files with several hashes (${plural(files, 'file')} here; over 2.1 it reads them)`);
    else if ((c.types || {}).indicator) problems.push('it drops any file indicator whose pattern names several hashes');
    if ((c.types || {}).identity) problems.push('it imports the producer identity as an Identity indicator');
    return 'Strict STIX (the default profile): '
      + (problems.length ? `Cortex XSOAR's TAXII 2 feed misreads it (${problems.join('; ')}). ` : '')
      + 'Set "profile": "xsoar" on this collection for Cortex XSOAR.';
  },
  elastic(c) {
    const k = contents(c);
    const scos = k.observables
      ? ` The ${plural(k.observables, 'observable')} served as SCOs (${k.scoTypes.join(', ')}) arrive without indicator `
        + 'fields (and are dropped with "Restrict STIX 2.1 format"): set as_indicator for their types.'
      : '';
    return `${plural(k.indicators, 'indicator object')} over 2.1: Elastic maps their patterns to threat indicators.${scos}`;
  },
  generic(name) {
    return (c) => {
      const k = contents(c);
      const profile = k.xsoar
        ? ' This collection uses the xsoar profile (not strict STIX, meant for Cortex XSOAR): prefer a default one.'
        : '';
      return `${name} reads every object: ${plural(c.count, 'object')} over 2.1 (${plural(k.indicators, 'indicator')}, `
        + `${plural(k.observables, 'observable')}, ${number(k.other)} other).${profile}`;
    };
  },
};

/** The types Cortex XSOAR's "STIX Objects To Fetch" must list to read every object of `c` it can read. */
function xsoarObjects(c) {
  const skip = new Set(['marking-definition', 'extension-definition', 'indicator', 'relationship', 'software']);
  return ['indicator', 'relationship', ...Object.keys(c.types || {}).filter((t) => !skip.has(t)).sort()];
}

/** The sentence that says what `client` will get from the selected collection. */
function outlook(panel, key, c) {
  const say = OUTLOOK[key] || OUTLOOK.generic(CLIENTS.find(([k]) => k === key)[1]);
  panel.append(el('p', { class: 'outlook', 'data-field': `${key}-outlook`, text: say(c) }));
}

function renderConnect() {
  const tabs = $('client-tabs');
  const panels = $('client-panels');
  tabs.textContent = '';
  panels.textContent = '';
  const c = state.selected;
  const user = state.auth ? state.auth.user : null;
  $('connect-auth').textContent = user
    ? `Values for ${c.title}. Credentials: username ${user} and your password (the page never shows it).`
    : `Values for ${c.title}. This page reads it without credentials, so clients need none: leave username and password empty.`;
  for (const [key, label] of CLIENTS) {
    const selected = key === state.client;
    tabs.append(el('button', {
      type: 'button', role: 'tab', id: `tab-${key}`, 'aria-controls': `panel-${key}`,
      'aria-selected': String(selected), tabindex: selected ? '0' : '-1', text: label,
      onclick: () => chooseClient(key, false),
    }));
    const panel = el('div', { role: 'tabpanel', id: `panel-${key}`, 'aria-labelledby': `tab-${key}`, tabindex: '0', hidden: !selected, 'data-client': key });
    if (key !== 'curl') outlook(panel, key, c);
    CLIENT_VIEWS[key](panel, c, user);
    panels.append(panel);
  }
}

function chooseClient(key, focus) {
  state.client = key;
  for (const [k] of CLIENTS) {
    const on = k === key;
    const tab = $(`tab-${k}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${k}`).hidden = !on;
    if (on && focus) tab.focus();
  }
}

function onTabKey(e) {
  if (e.target.getAttribute('role') !== 'tab') return;
  const keys = CLIENTS.map(([k]) => k);
  const i = keys.indexOf(state.client);
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: keys.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  chooseClient(keys[(to + keys.length) % keys.length], true);
}

/** A table of form fields and values, each with a copy button. */
function fields(panel, rows) {
  const dl = el('dl', { class: 'facts' });
  for (const [term, value, field, plain] of rows) {
    if (plain) fact(dl, term, el('span', { 'data-field': field, text: value }));
    else fact(dl, term, ...copyable(value, term, field));
  }
  panel.append(dl);
}

function snippet(panel, text, what) {
  panel.append(el('div', { class: 'code-box' },
    copyButton(text, what, 'copy'),
    el('pre', { class: 'snippet', tabindex: '0', 'aria-label': what, text })));
}

function note(panel, text) {
  panel.append(el('p', { class: 'muted', text }));
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function authRows(user) {
  return user
    ? [['Username', user, 'username'], ['Password', 'your password', 'password', true]]
    : [['Username and password', 'leave empty (this collection is readable without credentials)', 'auth', true]];
}

const CLIENT_VIEWS = {
  sentinel(panel, c, user) {
    note(panel, 'In Microsoft Sentinel: Data connectors → Threat Intelligence – TAXII → Open connector page. Fill in:');
    fields(panel, [
      ['Friendly name (for server)', `${state.status.title} – ${c.title}`, 'sentinel-name'],
      ['API root URL', apiRoot(), 'sentinel-api-root'],
      ['Collection ID', c.id, 'sentinel-collection-id'],
      ...authRows(user),
      ['TAXII version', discoveryUrl('2.1') ? '2.1 (the same API root also serves 2.0)' : '2.0', 'sentinel-version', true],
    ]);
    note(panel, 'Choose how far back to import and a polling frequency (once an hour suits most feeds). Sentinel '
      + 'ingests STIX indicator objects.');
  },
  opencti(panel, c, user) {
    note(panel, 'In OpenCTI: Data → Ingestion → TAXII feeds → Create a TAXII feed:');
    fields(panel, [
      ['TAXII server URL', apiRoot(), 'opencti-url'],
      ['TAXII collection', c.id, 'opencti-collection'],
      ['TAXII version', '2.1', 'opencti-version', true],
      ['Authentication type', user ? 'Basic user' : 'None', 'opencti-auth', true],
      ...(user ? authRows(user) : []),
    ]);
    note(panel, 'For the TAXII2 external-import connector instead, give it the discovery URL below; it names '
      + 'collections as <API root name>.<collection title>.');
    const root = new URL(apiRoot()).pathname.split('/').filter(Boolean).pop() || '';
    snippet(panel, [
      `discovery_url: ${discoveryUrl('2.1') || discoveryUrl('2.0')}`,
      `collections: ${root}.${c.title}`,
      ...(user ? [`username: ${user}`, 'password: <your password>'] : []),
    ].join('\n'), 'OpenCTI TAXII2 connector settings');
  },
  elastic(panel, c, user) {
    note(panel, 'Elastic Custom Threat Intelligence (ti_custom), TAXII 2.x input: the collection\'s objects URL and '
      + 'the TAXII 2.1 headers.');
    fields(panel, [
      ['URL', objectsUrl(c), 'elastic-url'],
      ['Accept header', TAXII21, 'elastic-accept'],
      ...authRows(user),
    ]);
    note(panel, 'The integration pages with `next` and `added_after`; the server keeps date_added strictly increasing, so '
      + 'no object is skipped between runs.');
  },
  splunk(panel, c, user) {
    note(panel, 'Splunk Enterprise Security 8.2 or later: add a threat intelligence source of type TAXII 2.x with:');
    fields(panel, [
      ['Discovery URL', discoveryUrl('2.1') || discoveryUrl('2.0'), 'splunk-discovery'],
      ['API root URL', apiRoot(), 'splunk-api-root'],
      ['Collection ID', c.id, 'splunk-collection-id'],
      ['TAXII version', discoveryUrl('2.1') ? '2.1' : '2.0', 'splunk-version', true],
      ...authRows(user),
    ]);
  },
  xsoar(panel, c, user) {
    note(panel, 'In Cortex XSOAR: Settings → Integrations → TAXII 2 Feed → Add instance:');
    fields(panel, [
      ['Discovery Service URL', discoveryUrl('2.1') || discoveryUrl('2.0'), 'xsoar-discovery'],
      ['Collection Name To Fetch Indicators From', c.title, 'xsoar-collection'],
      ...authRows(user),
      ['STIX Objects To Fetch', xsoarObjects(c).join(', '), 'xsoar-objects'],
    ]);
  },
  python(panel, c, user) {
    note(panel, 'taxii2-client (pip install taxii2-client): every object of the collection, page by page.');
    const auth = user ? `,\n    user=${JSON.stringify(user)},\n    password=os.environ["TAXII_PASSWORD"],` : ',';
    snippet(panel, [
      ...(user ? ['import os', ''] : []),
      'from taxii2client.v21 import Collection, as_pages',
      '',
      'collection = Collection(',
      `    ${JSON.stringify(`${apiRoot()}collections/${c.id}/`)}${auth}`,
      ')',
      'for envelope in as_pages(collection.get_objects, per_request=1000):',
      '    for obj in envelope.get("objects", []):',
      '        print(obj["type"], obj["id"])',
    ].join('\n'), 'taxii2-client Python snippet');
  },
  curl(panel, c, user) {
    const auth = user ? ` -u ${q(`${user}:`)}"$TAXII_PASSWORD"` : '';
    const disco = discoveryUrl('2.1');
    const lines = [];
    if (disco) {
      lines.push('# Discovery (TAXII 2.1)', `curl -sS${auth} -H ${q(`Accept: ${TAXII21}`)} \\\n  ${q(disco)}`, '');
      lines.push('# The first 100 objects (TAXII 2.1); repeat with &next=<next> while "more" is true',
        `curl -sS${auth} -H ${q(`Accept: ${TAXII21}`)} \\\n  ${q(`${objectsUrl(c)}?limit=100`)}`, '');
    }
    if (discoveryUrl('2.0')) {
      lines.push('# The first 100 objects as a STIX 2.0 bundle (TAXII 2.0)',
        `curl -sS${auth} -H ${q(`Accept: ${STIX20}`)} -H 'Range: items=0-99' \\\n  ${q(objectsUrl(c))}`);
    }
    if (user) note(panel, 'Set TAXII_PASSWORD in your shell first (read -rs TAXII_PASSWORD; export TAXII_PASSWORD).');
    snippet(panel, lines.join('\n').trim(), 'curl commands');
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Wiring.

function start() {
  $('signin-open').addEventListener('click', () => openSignin('Sign in to see the collections your account may read. '
    + 'The username and password stay in this tab\'s memory only.', false));
  $('signin-cancel').addEventListener('click', () => { closeSignin(); $('signin-open').focus(); });
  $('signout').addEventListener('click', () => {
    state.auth = null;
    state.selected = null;
    renderAccount();
    announce('Signed out');
    load();
  });
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('username').value.trim();
    const password = $('password').value;
    const error = $('signin-error');
    if (!user || !password) {
      error.textContent = 'Enter both the username and the password.';
      (user ? $('password') : $('username')).focus();
      return;
    }
    error.textContent = '';
    $('signin-submit').disabled = true;
    const previous = state.auth;
    state.auth = { user, header: basicHeader(user, password) };
    try {
      await load();
      closeSignin();
      announce(`Signed in as ${user}`);
      $('collections').focus();
    } catch (err) {
      state.auth = previous;
      renderAccount();
      error.textContent = err instanceof AuthRequired
        ? 'The server did not accept this username and password. Check them and try again.'
        : `Could not sign in: ${err.message}`;
      $('password').select();
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('refresh').addEventListener('click', () => load().catch((e) => showNotice(e.message)));
  $('preview-form').addEventListener('change', () => preview());
  $('client-tabs').addEventListener('keydown', onTabKey);
  for (const b of document.querySelectorAll('[data-copy-from]')) {
    const what = 'the preview JSON';
    b.setAttribute('aria-label', `Copy ${what}`);
    b.addEventListener('click', async () => {
      const ok = await copyText(JSON.stringify(JSON.parse($(b.dataset.copyFrom).textContent || 'null'), null, 2));
      b.textContent = ok ? 'Copied' : 'Copy failed';
      announce(ok ? `${what} copied` : `Could not copy ${what}`);
      setTimeout(() => { b.textContent = 'Copy'; }, 1500);
    });
  }
  renderAccount();
  load().catch((e) => showNotice(e.message));
}

start();
