// The status page: rendered on the server, its auto-refresh an island, styled for both themes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, PASSWORD, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('status page', () => {
  const suite = serverAndBrowser();

  test('signing in and reading the status work without JavaScript', async () => {
    const { page, close } = await openPage(suite.browser, { javaScriptEnabled: false });
    await page.goto(`${suite.server.baseUrl}/`);
    assert.equal(new URL(page.url()).pathname, '/login', 'a visitor is sent to the login page');
    await page.fill('input[name=email]', USERS.viewer);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${suite.server.baseUrl}/d/tenant-overview`), page.click('#login-form button[type=submit]')]);
    await page.goto(`${suite.server.baseUrl}/status`);
    const html = await page.content();
    assert.match(html, /<h1>System status<\/h1>/);
    assert.match(html, /data-check="migrations"/);
    const database = page.locator('tr[data-check="database"]');
    assert.equal(await database.locator('.pill').textContent(), 'healthy');
    assert.match(await page.locator('.overall-text').textContent(), /^\d of \d checks passed$/);
    assert.equal(await page.locator('.main-nav a').first().textContent(), 'Dashboards');
    await close();
  });

  test('the auto-refresh toggle reacts once hydrated and refreshes the status', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/status');
    const toggle = page.locator('#auto-refresh');
    // The toggle is an island: it reacts once the bundle has hydrated it.
    await page.locator('#auto-refresh[data-ready]').waitFor();
    assert.equal(await toggle.textContent(), 'Auto-refresh: off');
    const before = await page.locator('.overall').getAttribute('data-checked-at');

    await toggle.click();
    await page.waitForFunction(() => document.querySelector('#auto-refresh').textContent === 'Auto-refresh: on');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    // The next refresh comes from the server function, so the check time moves on.
    await page.waitForFunction(
      (previous) => document.querySelector('.overall')?.getAttribute('data-checked-at') !== previous,
      before,
      { timeout: 15_000 },
    );

    await page.screenshot({ path: join(SCREENSHOTS, 'home.png'), fullPage: true });
    await toggle.click();
    await page.waitForFunction(() => document.querySelector('#auto-refresh').textContent === 'Auto-refresh: off');
    assert.deepEqual(problems, []);
    await close();
  });

  test('the dark theme follows the system preference', async () => {
    const background = async (colorScheme) => {
      const { page, close } = await openPage(suite.browser, { colorScheme });
      await login(page, suite.server.baseUrl, USERS.manager);
      if (colorScheme === 'dark') await page.screenshot({ path: join(SCREENSHOTS, 'home-dark.png') });
      const color = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await close();
      return color;
    };
    assert.equal(await background('light'), 'rgb(246, 247, 249)');
    assert.equal(await background('dark'), 'rgb(15, 19, 25)');
  });

  test('an unknown address answers 404 with a page in the shell', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    const response = await page.goto(`${suite.server.baseUrl}/no/such/page`);
    assert.equal(response.status(), 404);
    assert.equal(await page.locator('h1').textContent(), 'Page not found');
    assert.equal(await page.locator('.brand').textContent(), 'Meridian');
    // The 404 itself is reported by Chromium as a failed resource; anything else is a problem.
    assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
    await close();
  });
});
