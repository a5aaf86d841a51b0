// Dashboards in the browser: each role lands on its dashboard with charts drawn on the server;
// the time range, refresh and variables redraw the panels in place; the hover crosshair shows
// values in every time panel; a panel's data downloads as CSV; a tenant sees only its own data;
// phones get one panel a row and no sideways scroll; without JavaScript it all still works; an
// editor imports a Grafana dashboard through the upload form and reads what was not carried over.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LANDING, login, openPage, PASSWORD, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('dashboards', () => {
  const suite = serverAndBrowser();

  /// The page is live once its island has hydrated.
  const live = (page) => page.locator('.live-dashboard[data-live=ready]').waitFor();
  const redraws = (page) => page.locator('.live-dashboard').getAttribute('data-redraws').then((n) => Number(n ?? 0));

  test('a manager lands on Executive with charts from every tenant', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    await login(page, suite.server.baseUrl, USERS.manager);
    assert.equal(new URL(page.url()).pathname, LANDING.manager);
    // The demo backfills a week of metrics after it starts: wait until they are there.
    for (let attempt = 0; (await page.locator('#panel-1 .stat').count()) < 3; attempt++) {
      assert.ok(attempt < 60, 'the demo metrics did not arrive');
      await page.waitForTimeout(1000);
      await page.reload({ waitUntil: 'networkidle' });
    }
    assert.equal(await page.locator('.dash-title h1').textContent(), 'Executive overview');
    assert.equal(await page.locator('.panel').count(), 11);
    // Availability per tenant: one value a tenant, in its threshold colour.
    const availability = page.locator('#panel-1 .stat');
    assert.equal(await availability.count(), 3);
    assert.deepEqual((await page.locator('#panel-1 .stat-name').allTextContents()).sort(), ['acme', 'globex', 'initech']);
    for (const value of await page.locator('#panel-1 .stat-value').allTextContents()) {
      assert.match(value, /^\d{2,3}\.\d{2}%$/);
    }
    // Request rate per tenant: a line a tenant, its legend a table of mean, max and last.
    assert.equal(await page.locator('#panel-6 svg path.series').count(), 3);
    assert.match(await page.locator('#panel-6 .legend-table').textContent(), /Mean.*Max.*Last \*/);
    assert.match(await page.locator('#panel-6 .legend-table tbody').textContent(), /req\/s/);
    await live(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-executive.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await close();

    const dark = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 }, colorScheme: 'dark' });
    await login(dark.page, suite.server.baseUrl, USERS.manager);
    await dark.page.screenshot({ path: join(SCREENSHOTS, 'dashboard-executive-dark.png'), fullPage: true });
    await dark.close();
  });

  test('changing the range and refreshing redraw the panels without leaving the page', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    await login(page, suite.server.baseUrl, USERS.manager);
    await live(page);
    await page.evaluate(() => { window.__samePage = true; });
    const before = await redraws(page);

    await page.click('#time-range');
    await page.click('.presets a:has-text("Last 1 hour")');
    await page.waitForFunction(() => document.querySelector('#time-range')?.textContent.includes('Last 1 hour'));
    assert.match(page.url(), /from=now-1h/, 'the URL carries the view');
    assert.equal(await redraws(page), before + 1);
    assert.equal(await page.evaluate(() => window.__samePage), true, 'no page load');

    await page.click('#refresh-now');
    await page.waitForFunction((n) => Number(document.querySelector('.live-dashboard').dataset.redraws) > n, before + 1);

    // Auto-refresh every 5 s redraws by itself.
    await page.selectOption('#refresh-form select[name=refresh]', '5s');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('refresh') === '5s');
    const now = await redraws(page);
    await page.waitForFunction((n) => Number(document.querySelector('.live-dashboard').dataset.redraws) >= n + 2, now, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.__samePage), true);

    // The tenant variable narrows every panel to the chosen tenants.
    await page.click('.var-picker summary');
    await page.uncheck('.var-menu input[value="$__all"]');
    await page.check('.var-menu input[value=acme]');
    await page.click('.var-menu button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#panel-1 .stat').length === 1);
    assert.equal(await page.locator('#panel-1 .stat-name').count(), 0, 'one tenant needs no name');
    assert.match(page.url(), /var-tenant=acme/);
    assert.equal(await page.evaluate(() => window.__samePage), true);

    // Back goes to the previous view.
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('#panel-1 .stat').length === 3);
    assert.deepEqual(problems, []);
    await close();
  });

  test('hovering a chart shows the values at that moment in every time panel', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    await login(page, suite.server.baseUrl, USERS.manager);
    await live(page);
    const chart = page.locator('#panel-6 .chart svg');
    const box = await chart.boundingBox();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    // The values load on the first hover; move again once they are there.
    await page.waitForTimeout(1500);
    await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.4);
    await page.waitForFunction(() => [...document.querySelectorAll('.hover-box')]
      .filter((b) => b.style.display === 'block' && b.querySelector('.hover-row')).length >= 2);
    const rows = await page.locator('#panel-6 .hover-box .hover-row').allTextContents();
    assert.equal(rows.length, 3, rows.join(' | '));
    assert.match(rows.join(' '), /acme.*req\/s/);
    assert.equal(await page.locator('#panel-7 .hover-box .hover-row').count(), 3, 'the error rate panel too');
    assert.match(await page.locator('#panel-7 .hover-box b').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-hover.png') });

    // Dragging across a chart zooms to that span.
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => /from=\d{13}&to=\d{13}/.test(location.search));
    const from = Number(new URL(page.url()).searchParams.get('from'));
    const to = Number(new URL(page.url()).searchParams.get('to'));
    assert.ok(to - from > 30 * 60_000 && to - from < 2 * 3_600_000, `${to - from} ms: about a fifth of 6 hours`);
    await page.waitForFunction(() => !document.querySelector('#time-range').textContent.includes('Last'));
    assert.deepEqual(problems, []);
    await close();
  });

  test("a panel's data downloads as CSV", async () => {
    const { page, close } = await openPage(suite.browser, { acceptDownloads: true });
    await login(page, suite.server.baseUrl, USERS.manager, '/d/executive?from=now-1h&to=now&timezone=utc');
    await page.hover('#panel-6');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#panel-6 .panel-menu a:has-text("CSV")')]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'Time,acme,globex,initech');
    assert.ok(lines.length > 50, `${lines.length} rows`);
    assert.match(lines[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,[\d.]+,[\d.]+,[\d.]+$/);
    await close();
  });

  test("acme's viewer sees acme's numbers only; globex's dashboard does not exist for them", async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    await login(page, suite.server.baseUrl, USERS.viewer);
    assert.equal(new URL(page.url()).pathname, LANDING.viewer);
    assert.equal(await page.locator('.dash-owner').textContent(), 'acme');
    assert.equal(await page.locator('.dash-vars').count(), 0, 'no tenant to choose');
    const text = await page.locator('.dash-grid').textContent();
    assert.ok(!/globex|initech/.test(text), 'no other tenant anywhere on the page');
    // Asking for another tenant in the URL changes nothing but a notice.
    await page.goto(`${suite.server.baseUrl}/d/tenant-overview?var-tenant=globex`);
    assert.match(await page.locator('.notices').textContent(), /"globex" is not a value of \$tenant/);
    assert.ok(!/globex/.test(await page.locator('.dash-grid').textContent()));
    const list = await page.goto(`${suite.server.baseUrl}/dashboards`);
    assert.equal(list.status(), 200);
    const titles = await page.locator('#dashboards tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.uid));
    assert.deepEqual(titles.sort(), ['acme-agents', 'tenant-overview']);
    const theirs = await page.goto(`${suite.server.baseUrl}/d/globex-agents`);
    assert.equal(theirs.status(), 404);
    const ours = await page.goto(`${suite.server.baseUrl}/d/acme-agents`);
    assert.equal(ours.status(), 200);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-agents.png'), fullPage: true });
    assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
    await close();
  });

  test('at phone width the panels stack and nothing scrolls sideways', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
    await login(page, suite.server.baseUrl, USERS.viewer);
    await live(page);
    await page.waitForLoadState('networkidle');
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(widths[0] <= widths[1], `page ${widths[0]} px wide in a ${widths[1]} px window`);
    const lefts = await page.locator('.panel').evaluateAll((panels) => panels.map((p) => Math.round(p.getBoundingClientRect().left)));
    assert.equal(new Set(lefts).size, 1, 'one panel a row');
    const tops = await page.locator('.panel').evaluateAll((panels) => panels.map((p) => p.getBoundingClientRect().top));
    assert.deepEqual(tops, [...tops].sort((a, b) => a - b), 'in reading order');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await close();
  });

  test('without JavaScript the dashboard renders and the range form works', async () => {
    const { page, close } = await openPage(suite.browser, { javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    await page.goto(`${suite.server.baseUrl}/login`);
    await page.fill('input[name=email]', USERS.manager);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${suite.server.baseUrl}${LANDING.manager}`), page.click('#login-form button[type=submit]')]);
    assert.equal(await page.locator('.panel').count(), 11);
    assert.ok(await page.locator('#panel-6 svg path.series').count() > 0, 'the charts are in the page');
    await page.click('#time-range');
    await page.fill('#range-form input[name=from]', 'now-3h');
    await Promise.all([page.waitForURL(/from=now-3h/), page.click('#range-form button[type=submit]')]);
    assert.match(await page.locator('#time-range').textContent(), /Last 3 hours/);
    await Promise.all([page.waitForURL(/from=now-6h/), page.click('#time-range'), page.click('.presets a:has-text("Last 6 hours")')]);
    await page.click('.var-picker summary');
    await page.uncheck('.var-menu input[value="$__all"]');
    await page.check('.var-menu input[value=globex]');
    await Promise.all([page.waitForURL(/var-tenant=globex/), page.click('.var-menu button[type=submit]')]);
    assert.equal(await page.locator('#panel-1 .stat').count(), 1);
    await close();
  });

  test('the list finds dashboards by title and tag', async () => {
    const { page, close } = await openPage(suite.browser, { viewport: { width: 1280, height: 800 } });
    await login(page, suite.server.baseUrl, USERS.admin);
    assert.equal(new URL(page.url()).pathname, LANDING.admin);
    const uids = () => page.locator('#dashboards tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.uid));
    assert.ok((await uids()).length >= 8, (await uids()).join(', '));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboards-list.png'), fullPage: true });
    await page.fill('#dashboard-search input[name=query]', 'secur');
    await Promise.all([page.waitForURL(/query=secur/), page.click('#dashboard-search button[type=submit]')]);
    assert.deepEqual(await uids(), ['security']);
    await page.goto(`${suite.server.baseUrl}/dashboards?tag=agents`);
    assert.deepEqual((await uids()).sort(), ['acme-agents', 'globex-agents', 'initech-agents']);
    await close();
  });

  test('an editor imports a Grafana dashboard file and reads the report', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1280, height: 900 } });
    await login(page, suite.server.baseUrl, USERS.editor);
    await page.goto(`${suite.server.baseUrl}/dashboards`);
    await Promise.all([page.waitForURL(/\/dashboards\/import$/), page.click('#import-dashboard')]);

    // A syntax error comes back beside the form, naming its line and column.
    await page.fill('#import-form textarea[name=json]', '{"title": "Broken",\n  "panels": [}');
    await Promise.all([page.waitForURL(/error=/), page.click('#import-form button[type=submit]')]);
    assert.match(await page.locator('#import-error').textContent(), /line 2, column 14/);

    // dockprom's Docker Containers: schema 12, rows[] of graph and singlestat panels, no uid.
    const file = new URL('../../crates/viz/tests/dashboards/dockprom/docker_containers.json', import.meta.url).pathname;
    await page.setInputFiles('#import-form input[name=file]', file);
    await Promise.all([page.waitForURL(/\/dashboards\/import\?done/), page.click('#import-form button[type=submit]')]);
    const report = page.locator('#import-report');
    assert.match(await report.locator('h2').textContent(), /Imported: Docker Containers/);
    const panels = Number((await report.locator('p.muted').textContent()).match(/^(\d+) panels/)[1]);
    assert.ok(panels >= 8, `${panels} panels`);
    const noted = await report.locator('.report-panels tbody tr').count();
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-import-report.png'), fullPage: true });
    // The report is shown once; reloading the page shows the bare form.
    await page.reload();
    assert.equal(await page.locator('#import-report').count(), 0);

    // The dashboard is acme's: in the list, drawn, and each panel's notes are under it.
    await page.goto(`${suite.server.baseUrl}/dashboards?query=docker`);
    const row = page.locator('#dashboards tbody tr');
    assert.equal(await row.count(), 1);
    await Promise.all([page.waitForURL(/\/d\//), row.locator('a').first().click()]);
    assert.equal(await page.locator('.dash-title h1').textContent(), 'Docker Containers');
    assert.equal(await page.locator('.panel').count(), panels);
    assert.equal(await page.locator('.panel:has(.panel-unsupported)').count(), noted);
    await live(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-imported.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await close();

    // A viewer may not import: no button, and the page is refused.
    const viewer = await openPage(suite.browser, { viewport: { width: 1280, height: 900 } });
    await login(viewer.page, suite.server.baseUrl, USERS.viewer);
    await viewer.page.goto(`${suite.server.baseUrl}/dashboards`);
    assert.equal(await viewer.page.locator('#import-dashboard').count(), 0);
    await viewer.close();
  });
});
