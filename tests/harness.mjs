// The shared test harness: runs the built worker in workerd (through Miniflare, or through `wrangler dev` as a
// user would), publishes a snapshot into it with the real CLI, and hands back its URL.
//
//   const w = await startWorker({ snapshot: dir });          // Miniflare, in-memory R2
//   const w = await startWorker({ snapshot: dir, wrangler: true });
//   await fetch(`${w.url}/taxii2/`); … await w.stop();

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import http from 'node:http';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'target', 'debug', 'taxii-edge');
export const ADMIN_TOKEN = 'test-admin-token';
export const NEXT_SECRET = 'test-next-secret';

/** The [vars] of wrangler.toml, so tests run the configuration users get. */
export function wranglerVars() {
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const section = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  const vars = {};
  for (const m of section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)) vars[m[1]] = m[2];
  return vars;
}

/** Runs the CLI; throws with its output when it fails. */
export function cli(args, { allowFail = false } = {}) {
  const r = spawnSync(CLI, args, { encoding: 'utf8', cwd: ROOT });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    throw new Error(`taxii-edge ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

/** Adds a user to a users file with `taxii-edge user add`; returns the generated password. */
export function addUser(file, name, collections, { iterations } = {}) {
  const more = iterations ? ['--iterations', String(iterations)] : [];
  const r = cli(['user', 'add', name, '--collections', collections, '--users', file, ...more]);
  const m = r.stdout.match(/password: (\S+)/);
  if (!m) throw new Error(`user add printed no password:\n${r.stdout}`);
  return m[1];
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'taxii-edge-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Builds a snapshot from an XSOAR collections object and indicator records (or files). */
export function buildSnapshot({ collections, indicators, inputs = [], args = [], now = '2026-01-01T00:00:00Z' }) {
  const dir = tempDir('taxii-edge-build-');
  const config = join(dir, 'collections.json');
  writeFileSync(config, JSON.stringify(collections));
  const files = [...inputs];
  if (indicators) {
    const file = join(dir, 'indicators.jsonl');
    writeFileSync(file, indicators.map((i) => JSON.stringify(i)).join('\n'));
    files.push(file);
  }
  const out = join(dir, 'snapshot');
  // No producer identity unless asked: the paging tests count exactly the indicators they built.
  const producer = args.includes('--producer') ? [] : ['--producer', ''];
  cli(['build', '--config', config, '--input', ...files, '--out', out, '--now', now, ...producer, ...args]);
  return out;
}

/** `n` IP indicators with distinct values and modified times: a collection of any size for paging tests. */
export function ipIndicators(n, { start = 0 } = {}) {
  const out = [];
  for (let i = start; i < start + n; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
    out.push({
      value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      indicator_type: 'IP',
      score: i % 4,
      timestamp: t,
      modified: t,
    });
  }
  return out;
}

/**
 * A copy of wrangler.toml in `dir` with absolute paths. wrangler reads `.dev.vars` from beside its config file, so
 * a test that runs `wrangler dev --config <copy>` never picks up the developer's own .dev.vars (npm start's).
 */
export function isolatedWranglerConfig(dir) {
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
    .replace(/^main\s*=\s*"([^"]+)"/m, (_, p) => `main = "${join(ROOT, p)}"`)
    .replace(/^directory\s*=\s*"([^"]+)"/m, (_, p) => `directory = "${join(ROOT, p)}"`);
  const file = join(dir, 'wrangler.toml');
  writeFileSync(file, text);
  return file;
}

async function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

async function waitFor(url, ms = 30000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`${url} did not come up in ${ms} ms: ${e}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Publishes a snapshot directory into a running worker with the real CLI. */
export function publish(url, snapshot, token = ADMIN_TOKEN) {
  return cli(['publish', snapshot, '--url', url, '--token', token]);
}

/**
 * Starts the built worker. Options: snapshot (a directory to publish), vars (override wrangler.toml vars),
 * secrets (extra secrets), wrangler (true: run `wrangler dev` instead of Miniflare), persist and port (Miniflare),
 * cache (Miniflare; false turns the Workers Cache API into a no-op, as on a workers.dev hostname), ratelimits
 * (Miniflare: rate-limiting bindings, e.g. { SIGNIN_LIMITER: { simple: { limit: 10, period: 60 } } }).
 */
export async function startWorker({ snapshot, vars = {}, secrets = {}, wrangler = false, persist, port, cache = true, ratelimits } = {}) {
  // Every collection public unless a test says otherwise: the auth tests set PUBLIC_COLLECTIONS and TAXII_USERS.
  // A null or undefined value removes a setting (e.g. PUBLIC_COLLECTIONS: null for a closed feed).
  const bindings = Object.fromEntries(
    Object.entries({ ...wranglerVars(), PUBLIC_COLLECTIONS: '*', ...vars, ADMIN_TOKEN, NEXT_SECRET, ...secrets }).filter(
      ([, v]) => v !== null && v !== undefined,
    ),
  );
  const w = wrangler ? await startWrangler(bindings) : await startMiniflare(bindings, { persist, port, cache, ratelimits });
  if (snapshot) publish(w.url, snapshot);
  return w;
}

/**
 * Miniflare; `persist` keeps R2 in a directory (a restart finds what was published), `port` fixes the port, `cache`
 * turns the Cache API on. The result's logs() is everything the worker wrote to its console so far.
 */
async function startMiniflare(bindings, { persist, port, cache = true, ratelimits } = {}) {
  const { Miniflare, Log, LogLevel } = await import('miniflare');
  const runtimeLog = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(ROOT, 'build', 'index.js'),
    modulesRoot: join(ROOT, 'build'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-26',
    r2Buckets: ['SNAPSHOTS'],
    ...(persist ? { r2Persist: persist } : {}),
    cf: false,
    // The Workers Cache API (caches.default), in memory: the edge response cache (crates/worker) uses it.
    cache,
    bindings,
    ...(ratelimits ? { ratelimits } : {}),
    host: '127.0.0.1',
    port: port ?? (await freePort()),
    log: new Log(LogLevel.WARN),
    // The worker's console output (console.error of storage faults…), kept for logs(); WORKER_LOGS=1 shows it.
    handleRuntimeStdio: (stdout, stderr) => {
      for (const s of [stdout, stderr]) {
        s.on('data', (d) => {
          runtimeLog.push(String(d));
          if (process.env.WORKER_LOGS) process.stderr.write(d);
        });
      }
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, mf, stop: () => mf.dispose(), logs: () => runtimeLog.join('') };
}

/**
 * The built worker in Miniflare over a store that answers every read `delayMs` late: SNAPSHOTS is a wrapped
 * binding (an R2Bucket-shaped object in the worker's own isolate) that waits, then asks the real bucket. Writes
 * are not delayed. For the storage-timeout tests; `bucket()` is the real bucket behind it, to fill directly.
 */
export async function startSlowStoreWorker({ delayMs, vars = {} }) {
  const { Miniflare, Log, LogLevel } = await import('miniflare');
  const runtimeLog = [];
  const bindings = Object.fromEntries(
    Object.entries({ ...wranglerVars(), PUBLIC_COLLECTIONS: '*', ...vars, ADMIN_TOKEN, NEXT_SECRET }).filter(
      ([, v]) => v !== null && v !== undefined,
    ),
  );
  const slowR2 = `
    export default function ({ INNER, DELAY_MS }) {
      const wait = () => new Promise((resolve) => setTimeout(resolve, DELAY_MS));
      // Named R2Bucket: workers-rs checks a binding's constructor name.
      class R2Bucket {
        async get(key, options) { await wait(); return INNER.get(key, options); }
        async head(key) { await wait(); return INNER.head(key); }
        async list(options) { await wait(); return INNER.list(options); }
        put(key, value, options) { return INNER.put(key, value, options); }
        delete(keys) { return INNER.delete(keys); }
      }
      return new R2Bucket();
    }`;
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: await freePort(),
    cf: false,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio: (stdout, stderr) => {
      for (const s of [stdout, stderr]) s.on('data', (d) => runtimeLog.push(String(d)));
    },
    workers: [
      {
        name: 'taxii-edge',
        modules: true,
        scriptPath: join(ROOT, 'build', 'index.js'),
        modulesRoot: join(ROOT, 'build'),
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        compatibilityDate: '2026-04-26',
        bindings,
        wrappedBindings: { SNAPSHOTS: { scriptName: 'slow-r2', bindings: { DELAY_MS: delayMs } } },
      },
      { name: 'slow-r2', modules: [{ type: 'ESModule', path: 'slow-r2.mjs', contents: slowR2 }], r2Buckets: ['INNER'] },
    ],
  });
  let url;
  try {
    url = (await mf.ready).toString().replace(/\/$/, '');
  } catch (e) {
    await mf.dispose();
    throw e;
  }
  return {
    url,
    mf,
    bucket: () => mf.getR2Bucket('INNER', 'slow-r2'),
    stop: () => mf.dispose(),
    logs: () => runtimeLog.join(''),
  };
}

/** Copies a built snapshot directory into an R2 bucket and points `current` at it (no admin API involved). */
export async function putSnapshot(bucket, dir) {
  const { readdirSync } = await import('node:fs');
  for (const kind of readdirSync(join(dir, 'blobs'))) {
    for (const f of readdirSync(join(dir, 'blobs', kind))) await bucket.put(`${kind}/${f}`, new Uint8Array(readFileSync(join(dir, 'blobs', kind, f))));
  }
  const root = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
  await bucket.put('current', JSON.stringify({ snapshot: root.snapshot, manifest: root.manifest, published: '2026-01-01T00:00:00.000000Z' }));
  return root.snapshot;
}

async function startWrangler(bindings) {
  const port = await freePort();
  const state = tempDir('taxii-edge-wrangler-');
  const vars = Object.entries(bindings).map(([k, v]) => `${k}:${v}`);
  const child = spawn(
    join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['dev', '--config', isolatedWranglerConfig(state), '--ip', '127.0.0.1', '--port', String(port), '--persist-to', join(state, 'state'),
      '--show-interactive-dev-session=false', '--var', ...vars],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_SEND_ERROR_REPORTS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        XDG_CONFIG_HOME: join(state, 'config'),
        CI: 'true',
      },
    },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/taxii2/`, 60000);
  } catch (e) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    throw new Error(`${e.message}\nwrangler said:\n${output}`);
  }
  const stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
  };
  return { url, stop, output: () => output };
}

/** GET with TAXII 2.1 Accept unless told otherwise; returns { status, headers, text, json }. */
export async function get(url, headers = {}) {
  const res = await fetch(url, { headers: { accept: 'application/taxii+json;version=2.1', ...headers } });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * A request through node:http, which sends what fetch will not: any Host header, a body of a given size without
 * holding it (`bodyBytes`, in chunks, with or without Content-Length). Resolves to { status, headers, text, json,
 * error } (error: the connection failed before an answer, e.g. the server stopped reading).
 */
export function rawRequest(url, { method = 'GET', path, headers = {}, bodyBytes = 0, contentLength = true } = {}) {
  const u = new URL(url);
  return new Promise((resolvePromise) => {
    const h = { ...headers };
    if (bodyBytes && contentLength) h['content-length'] = String(bodyBytes);
    const req = http.request({ host: u.hostname, port: u.port, method, path: path ?? `${u.pathname}${u.search}`, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolvePromise({ status: res.statusCode, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])), text, json });
      });
    });
    req.on('error', (error) => resolvePromise({ status: 0, error }));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let left = bodyBytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return req.once('drain', pump);
      }
      req.end();
    };
    if (bodyBytes) pump(); else req.end();
  });
}

export function ensureDir(d) {
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * A proxy to the worker at `url` that answers as a worker from before snapshot format 3: its `POST /admin/missing`
 * gives `{"missing": [...]}` alone, without the formats it reads (crates/core/src/wire.rs before format 3). It
 * counts the uploads and switches that reach it; `{ url, seen, close }`.
 */
export async function formatTwoWorkerProxy(url) {
  const seen = { uploads: 0, switches: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method === 'PUT' && req.url.startsWith('/admin/blobs/')) seen.uploads++;
    if (req.method === 'PUT' && req.url === '/admin/current') seen.switches++;
    const body = ['GET', 'HEAD'].includes(req.method) ? undefined : Buffer.concat(chunks);
    const r = await fetch(`${url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' }, body });
    let answer = Buffer.from(await r.arrayBuffer());
    if (req.url === '/admin/missing' && r.status === 200) answer = Buffer.from(JSON.stringify({ missing: JSON.parse(answer.toString()).missing }));
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(answer);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}
