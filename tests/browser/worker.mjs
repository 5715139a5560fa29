// A small starter for the browser tests: builds the worker and the CLI, builds a snapshot, runs `wrangler dev`
// (which serves www/ as static assets, as a deployment does) on a free port, publishes the snapshot with the real
// CLI, and hands back { url, stop }.
//
// It has the shape of the shared harness (tests/harness.mjs: startWorker({ snapshot, vars, secrets, wrangler: true })
// and buildSnapshot({ collections, indicators, inputs })), so switching to it is a change of import.
// Set TAXII_EDGE_NO_BUILD=1 to skip the builds when build/ and the CLI are already fresh.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { isolatedWranglerConfig } from '../harness.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
/** The CLI the tests run: after buildAll(), a private copy of the one just built from this tree. */
export let CLI = join(TARGET, 'debug', 'taxii-edge');

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Builds the worker (build/) and the native CLI, with the tools installed here (never a download). */
export function buildAll() {
  if (process.env.TAXII_EDGE_NO_BUILD === '1') {
    if (!existsSync(join(ROOT, 'build', 'worker', 'shim.mjs')) || !existsSync(CLI)) {
      throw new Error('TAXII_EDGE_NO_BUILD=1 but build/ or the CLI is missing: run `npm run build` first');
    }
    return;
  }
  if (existsSync(join(ROOT, 'scripts', 'build-worker.sh'))) {
    run('bash', [join(ROOT, 'scripts', 'build-worker.sh')]);
  } else {
    run('worker-build', ['--release'], {
      WASM_BINDGEN_BIN: process.env.WASM_BINDGEN_BIN || join(process.env.HOME || '', '.cargo', 'bin', 'wasm-bindgen'),
      ESBUILD_BIN: process.env.ESBUILD_BIN || join(ROOT, 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild'),
    });
  }
  // With a target directory shared between checkouts (CARGO_TARGET_DIR), target/debug/taxii-edge is whichever
  // checkout compiled last: cargo does not copy a fresh binary back. Touching the binary's source makes cargo relink
  // it from this tree's library (seconds), and the copy keeps it from being replaced while the tests run.
  const bin = join(ROOT, 'src', 'bin', 'taxii-edge.rs');
  const now = new Date();
  utimesSync(bin, now, now);
  run('cargo', ['build', '--quiet', '--bin', 'taxii-edge']);
  const copy = join(tempDir('taxii-edge-console-cli-'), 'taxii-edge');
  copyFileSync(join(TARGET, 'debug', 'taxii-edge'), copy);
  chmodSync(copy, 0o755);
  CLI = copy;
}

const temporary = [];
process.on('exit', () => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'taxii-edge-console-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** Builds a snapshot from an XSOAR collections object plus indicator files and/or records; returns its directory. */
export function buildSnapshot({ collections, indicators, inputs = [], now = '2026-01-01T00:00:00Z' }) {
  const dir = tempDir('taxii-edge-console-build-');
  const config = join(dir, 'collections.json');
  writeFileSync(config, JSON.stringify(collections));
  const files = [...inputs];
  if (indicators) {
    const file = join(dir, 'indicators.jsonl');
    writeFileSync(file, indicators.map((i) => JSON.stringify(i)).join('\n'));
    files.push(file);
  }
  const out = join(dir, 'snapshot');
  run(CLI, ['build', '--config', config, '--input', ...files, '--out', out, '--now', now]);
  return out;
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** The [vars] of wrangler.toml, so the test runs the configuration users get. */
function wranglerVars() {
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const section = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  const vars = {};
  for (const m of section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)) vars[m[1]] = m[2];
  return vars;
}

/**
 * Starts `wrangler dev` with fresh local storage, publishes `snapshot` if given, and returns { url, stop }.
 * `vars` and `secrets` are added to (or, with a null value, removed from) wrangler.toml's [vars].
 */
export async function startWorker({ snapshot, vars = {}, secrets = {} } = {}) {
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const state = tempDir('taxii-edge-console-wrangler-');
  const bindings = { ...wranglerVars(), ...vars, ADMIN_TOKEN: token, ...secrets };
  // A config copy outside the checkout: the developer's own .dev.vars (npm start's) must not leak into the test.
  const args = ['dev', '--config', isolatedWranglerConfig(state), '--ip', '127.0.0.1', '--port', String(port), '--persist-to', join(state, 'state'),
    '--show-interactive-dev-session=false'];
  for (const [k, v] of Object.entries(bindings)) {
    if (v !== null && v !== undefined) args.push('--var', `${k}:${v}`); // null removes a wrangler.toml var
  }
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: ROOT,
    detached: true, // its own process group: stop() ends wrangler and workerd together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      XDG_CONFIG_HOME: join(state, 'config'),
    },
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((ok) => child.on('exit', ok));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(state, { recursive: true, force: true });
  };
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${url}/api/status`);
      if (r.status < 500) break;
    } catch { /* not up yet */ }
    if (Date.now() > until) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url} within 60 s:\n${log}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  if (snapshot) {
    try {
      run(CLI, ['publish', snapshot, '--url', url, '--token', token]);
    } catch (e) {
      await stop();
      throw e;
    }
  }
  return { url, stop, log: () => log };
}
