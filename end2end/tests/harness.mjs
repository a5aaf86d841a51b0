// Starts a real Meridian server (the release build) on a free port with a fresh database,
// and Debian's Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(ROOT, 'end2end', 'screenshots');
const DATABASE = 'meridian_e2e';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitUntilAnswering(url, child, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}; see target/e2e-server.log`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not answer ${url} within ${seconds} s`);
}

export async function startServer() {
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc',
    `drop database if exists ${DATABASE} with (force)`]);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const log = createWriteStream(join(ROOT, 'target', 'e2e-server.log'));
  const child = spawn(join(ROOT, 'target', 'release', 'server'), ['serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      MERIDIAN_LISTEN: `127.0.0.1:${port}`,
      MERIDIAN_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DATABASE}`,
      MERIDIAN_LOG_FORMAT: 'json',
      MERIDIAN_SITE_ROOT: join(ROOT, 'target', 'site'),
      // Demo mode seeds the tenants and one user per role that the tests sign in as.
      MERIDIAN_DEMO: 'true',
      MERIDIAN_DATA_DIR: join(ROOT, 'target', 'e2e-data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  await waitUntilAnswering(`${baseUrl}/health/live`, child);
  return {
    baseUrl,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function launchBrowser() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const PASSWORD = 'meridian-demo-password';
export const USERS = {
  admin: 'admin@meridian.demo',
  manager: 'manager@meridian.demo',
  editor: 'editor@acme.demo',
  viewer: 'viewer@acme.demo',
};

/// Signs in through the login form and waits for the page it leads to (for `/`, the role's
/// landing page, which `/` redirects to).
export async function login(page, baseUrl, email, next = '/') {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`, { waitUntil: 'networkidle' });
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  const target = next.split('?')[0];
  await Promise.all([
    page.waitForURL((url) => (target === '/' ? !['/', '/login'].includes(url.pathname) : url.pathname === target)),
    page.click('#login-form button[type=submit]'),
  ]);
  await page.waitForLoadState('networkidle');
}

/// Where each demo role lands after signing in.
export const LANDING = {
  admin: '/dashboards',
  manager: '/d/executive',
  editor: '/d/tenant-overview',
  viewer: '/d/tenant-overview',
};

/// A page that records console errors and failed requests, so a test can assert there were none.
export async function openPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
  return { page, problems, close: () => context.close() };
}

/// For a `describe`: starts a server and the browser before its tests and stops both after them.
/// `server` and `browser` are set on the returned object once the tests run.
export function serverAndBrowser() {
  const suite = {};
  before(async () => {
    suite.server = await startServer();
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}
