// What the browser tests share: a real `vpcep serve` on a temporary SQLite file and a free port,
// the `vpcep credentials` command on the same database, a plain API client (token) to check what
// the page showed, and Debian's Chromium driven by playwright-core (no browser download).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const VPCEP_BIN = process.env.VPCEP_BIN || path.join(ROOT, 'target/debug/vpcep');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = process.env.VPCEP_SCREENSHOT_DIR || path.join(ROOT, 'target/browser-screenshots');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `vpcep serve` on a fresh database; resolves once it listens, with the credential it printed. */
export async function startServer(extraArgs = []) {
  if (!existsSync(VPCEP_BIN)) throw new Error(`no vpcep binary at ${VPCEP_BIN} (set VPCEP_BIN)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vpcep-browser-'));
  const database = `sqlite://${path.join(dir, 'vpcep.db')}`;
  const port = await freePort();
  const child = spawn(VPCEP_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--database', database, ...extraArgs], {
    stdio: ['ignore', 'pipe', process.env.TEST_LOG ? 'inherit' : 'ignore'],
  });
  const lines = createInterface({ input: child.stdout });
  const started = await new Promise((resolve, reject) => {
    let firstLine = null;
    const timer = setTimeout(() => reject(new Error('vpcep did not start within 20 s')), 20000);
    child.on('exit', (code) => reject(new Error(`vpcep exited with ${code} before listening`)));
    lines.on('line', (line) => {
      if (line.startsWith('{') && firstLine === null) firstLine = line;
      if (line.startsWith('vpcep listening on ')) {
        clearTimeout(timer);
        resolve({ credentialLine: firstLine, base: line.slice('vpcep listening on '.length).trim() });
      }
    });
  });
  if (!started.credentialLine) throw new Error('vpcep printed no credential on an empty database');
  return {
    base: started.base,
    port,
    database,
    credentialLine: started.credentialLine,
    owner: JSON.parse(started.credentialLine),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `vpcep credentials create` on the server's database (it serves new credentials at once). */
export function createCredential(database, args) {
  const out = execFileSync(VPCEP_BIN, ['credentials', 'create', '--database', database, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.toString().trim());
}

/** A plain API call with a token, to check through the API what the page showed. */
export async function apiCall(base, cred, method, rest, body) {
  const res = await fetch(`${base}/v1/${cred.project_id}${rest}`, {
    method,
    headers: { 'X-Auth-Token': cred.token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run'];

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}

/** A page that records what must not happen: script errors, console errors (CSP violations are
 * reported there), requests to another origin, a secret key in any URL or header (it is only
 * ever used to sign), a token in a URL. */
export async function watchedPage(browser, base, { secretKeys = [], tokens = [] } = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs every 4xx answer; the tests provoke some on purpose (refusals shown).
    const refusal = /^Failed to load resource: the server responded with a status of 4\d\d/;
    if (m.type() === 'error' && !refusal.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('request', async (r) => {
    const url = r.url();
    if (!url.startsWith(base + '/') && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
    for (const s of [...secretKeys, ...tokens]) {
      if (url.includes(s)) problems.push(`a secret in a URL: ${r.method()} ${r.url().split('?')[0]}`);
    }
    const headers = await r.allHeaders().catch(() => r.headers());
    const body = r.postData() ?? '';
    for (const s of secretKeys) {
      if (Object.values(headers).some((v) => v.includes(s)) || body.includes(s)) {
        problems.push(`a secret key sent: ${r.method()} ${url.split('?')[0]}`);
      }
    }
  });
  page.on('dialog', (d) => d.accept());
  return { context, page, problems };
}
