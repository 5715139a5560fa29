// `npm start`: build the worker, the CLI and the demo snapshot, serve them with `wrangler dev` on
// 127.0.0.1:8787, publish the demo feed into its local storage, and print what to open. Ctrl-C stops everything.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8787);
const URL_BASE = `http://${HOST}:${PORT}`;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed`);
    process.exit(1);
  }
}

const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'taxii-edge-demo-password';
const DEMO_PUBLIC = 'Public phishing feed';

/**
 * Local settings and secrets for wrangler dev, in .dev.vars (git-ignored), made once per checkout: an admin token
 * and paging key of its own, the demo's public collection, and the demo user (a salted hash, made by the CLI).
 */
function devVars() {
  const file = join(ROOT, '.dev.vars');
  const vars = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = line.match(/^([A-Z0-9_]+)=(.*)$/);
      if (m) vars[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
    }
  }
  const missing = {};
  if (!vars.ADMIN_TOKEN) missing.ADMIN_TOKEN = randomBytes(18).toString('base64url');
  if (!vars.NEXT_SECRET) missing.NEXT_SECRET = randomBytes(32).toString('base64url');
  if (!vars.PUBLIC_COLLECTIONS) missing.PUBLIC_COLLECTIONS = DEMO_PUBLIC;
  if (!vars.TAXII_USERS) {
    const r = spawnSync(join(ROOT, 'target', 'debug', 'taxii-edge'), ['user', 'add', DEMO_USER, '--collections', '*', '--password-stdin'], {
      cwd: ROOT,
      input: DEMO_PASSWORD + '\n',
      encoding: 'utf8',
    });
    const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim().startsWith('TAXII_USERS='));
    if (r.status !== 0 || !line) throw new Error(`taxii-edge user add failed:\n${r.stdout}\n${r.stderr}`);
    missing.TAXII_USERS = line.trim().slice('TAXII_USERS='.length).replace(/^'(.*)'$/, '$1');
  }
  if (Object.keys(missing).length) {
    const text = Object.entries(missing).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n';
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileSync(file, before + (before && !before.endsWith('\n') ? '\n' : '') + text, { mode: 0o600 });
    Object.assign(vars, missing);
  }
  return vars;
}

async function waitUntilUp(child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('wrangler dev exited');
    try {
      const r = await fetch(`${URL_BASE}/taxii2/`, { signal: AbortSignal.timeout(2000) });
      if (r.status) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('wrangler dev did not answer within a minute');
}

console.log('building the worker and the CLI…');
run('bash', ['scripts/build-worker.sh']);
console.log('building the demo snapshot…');
run('bash', ['scripts/build-demo.sh']);
const vars = devVars();

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};
const wrangler = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), ['dev', '--ip', HOST, '--port', String(PORT), '--show-interactive-dev-session=false'], {
  cwd: ROOT,
  env,
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stop = () => {
  try { process.kill(-wrangler.pid, 'SIGTERM'); } catch {}
  setTimeout(() => {
    try { process.kill(-wrangler.pid, 'SIGKILL'); } catch {}
    process.exit(0);
  }, 500);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
wrangler.on('exit', (code) => {
  console.error(`wrangler dev stopped (${code})`);
  process.exit(code ?? 1);
});

try {
  await waitUntilUp(wrangler);
} catch (e) {
  console.error(e.message);
  stop();
}
// --rollback: the local storage persists, so the demo may have been current before something else published since;
// `npm start` means to serve the demo again (the worker otherwise refuses to move the pointer back).
run(join(ROOT, 'target', 'debug', 'taxii-edge'), ['publish', 'demo/snapshot', '--url', URL_BASE, '--token', vars.ADMIN_TOKEN, '--rollback']);

const auth = 'Basic ' + Buffer.from(`${DEMO_USER}:${DEMO_PASSWORD}`).toString('base64');
const status = await (await fetch(`${URL_BASE}/api/status`, { headers: { authorization: auth } })).json();
console.log(`
taxii-edge is serving the demo feed.

  console          ${URL_BASE}/
  TAXII 2.1        ${URL_BASE}/taxii2/
  TAXII 2.0        ${URL_BASE}/taxii/
  API root         ${status.api_root}
  admin token      ${vars.ADMIN_TOKEN}   (in .dev.vars; for taxii-edge publish --token)

  "${vars.PUBLIC_COLLECTIONS}" is public; every collection is readable by
  user ${DEMO_USER}, password ${DEMO_PASSWORD} (HTTP Basic; the console asks for them)

  try: curl -u ${DEMO_USER}:${DEMO_PASSWORD} -H 'Accept: application/taxii+json;version=2.1' ${URL_BASE}/taxii2/

collections:
${status.collections.map((c) => `  ${c.id}  ${String(c.count).padStart(5)}  ${c.title}`).join('\n')}

Ctrl-C stops the server.
`);
