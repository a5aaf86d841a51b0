// Explore in the browser: an editor graphs and tabulates the demo tenant's metrics, sees a
// syntax error under the expression at its position; an admin chooses the tenant; a viewer
// is not offered the page. An admin points a tenant at an external data source and back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('explore', () => {
  const suite = serverAndBrowser();

  const run = async (page, expr, mode) => {
    await page.fill('#explore-form textarea[name=expr]', expr);
    await page.selectOption('#explore-form select[name=mode]', mode);
    await Promise.all([
      page.waitForURL(/expr=/, { waitUntil: 'commit' }),
      page.click('#explore-form button[type=submit]'),
    ]);
  };

  test('an editor graphs and tabulates a query and sees where a syntax error is', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.editor, '/explore');
    assert.equal(await page.locator('#explore-form select[name=tenant]').count(), 0, 'an editor explores their own tenant');

    // The demo backfills a week of metrics after it starts: run until the last hour is there.
    const rate = 'sum by (status) (rate(http_requests_total[5m]))';
    for (let attempt = 0; ; attempt++) {
      await page.goto(`${suite.server.baseUrl}/explore?expr=${encodeURIComponent(rate)}&mode=graph`, { waitUntil: 'networkidle' });
      if ((await page.locator('#explore-graph .legend li').count()) === 4) break;
      assert.ok(attempt < 60, 'the demo metrics did not arrive');
      await page.waitForTimeout(1000);
    }
    // The form shows the query it answers, and runs it again from there.
    assert.equal(await page.inputValue('#explore-form textarea[name=expr]'), rate);
    await run(page, rate, 'graph');
    // One line a series, in its legend colour (the axes are grey).
    const strokes = await page.locator('#explore-graph .chart svg polyline').evaluateAll(
      (lines) => lines.map((l) => l.getAttribute('stroke').toLowerCase()).filter((s) => s !== '#808080'));
    const colours = await page.locator('#explore-graph .legend .swatch').evaluateAll(
      (swatches) => swatches.map((s) => s.style.background));
    assert.equal(new Set(strokes).size, 4, strokes.join(' '));
    assert.equal(colours.length, 4);
    const legend = await page.locator('#explore-graph .legend li code').allTextContents();
    assert.deepEqual(legend.toSorted(), ['{status="200"}', '{status="404"}', '{status="500"}', '{status="503"}']);
    assert.match(await page.locator('#explore-graph .summary').textContent(), /^matrix · 4 series · \d+ ms · step 14s$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'explore-graph.png'), fullPage: true });

    await run(page, 'count by (status) (http_requests_total)', 'table');
    const rows = page.locator('#explore-table tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 4);
    assert.match(await rows.first().locator('td').first().textContent(), /^\{status="\d{3}"\}$/);

    await run(page, 'sum(rate(http_requests_total[5m]) +)', 'table');
    const error = page.locator('#parse-error');
    await error.waitFor();
    assert.match(await error.locator('.message').textContent(), /^1:36: parse error: unexpected "\)"/);
    assert.equal(await error.locator('.caret').textContent(),
      'sum(rate(http_requests_total[5m]) +)\n' + ' '.repeat(35) + '^');
    await page.screenshot({ path: join(SCREENSHOTS, 'explore-error.png'), fullPage: true });

    // A link to a query shows its answer when loaded afresh (server-rendered, then hydrated).
    await page.goto(`${suite.server.baseUrl}/explore?expr=${encodeURIComponent('vector(42)')}&mode=table`, { waitUntil: 'networkidle' });
    assert.equal(await page.locator('#explore-table tbody td.value').textContent(), '42');
    assert.deepEqual(problems, []);
    await close();
  });

  test('an admin chooses the tenant; a viewer is not offered Explore', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/explore');
    const tenants = await page.locator('#explore-form select[name=tenant] option').allTextContents();
    assert.ok(tenants.includes('acme'), tenants.join(', '));
    await page.selectOption('#explore-form select[name=tenant]', { label: 'acme' });
    await run(page, 'count(up)', 'table');
    await page.locator('#explore-table tbody tr').first().waitFor();
    assert.deepEqual(problems, []);
    await close();

    const viewer = await openPage(suite.browser);
    await login(viewer.page, suite.server.baseUrl, USERS.viewer);
    assert.equal(await viewer.page.locator('.main-nav a:has-text("Explore")').count(), 0);
    const response = await viewer.page.goto(`${suite.server.baseUrl}/explore`);
    assert.equal(response.status(), 403);
    await viewer.close();
  });

  test('an admin points a tenant at an external data source and back', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/admin/datasources');
    const row = () => page.locator('tr[data-tenant=globex]');
    const save = async () => {
      await row().locator('button:has-text("Save")').click();
    };

    await row().locator('input[name=url]').fill('prometheus:9090');
    await save();
    const error = page.locator('.form-error');
    await error.waitFor();
    assert.equal(await error.textContent(), 'url: must start with http:// or https://');
    problems.length = 0; // the refusal was a 422 the browser logs

    const down = 'http://127.0.0.1:9';
    await row().locator('input[name=url]').fill(down);
    await row().locator('input[name=bearer_token]').fill('s3cret');
    await row().locator('input[name=org_id]').fill('team-a');
    await save();
    await page.waitForFunction(() => document.querySelector('tr[data-tenant=globex] input[name=bearer_token]')
      ?.placeholder === 'set: empty keeps it');
    await page.reload({ waitUntil: 'networkidle' });
    assert.equal(await row().locator('input[name=url]').inputValue(), down);
    assert.equal(await row().locator('input[name=org_id]').inputValue(), 'team-a');
    assert.equal(await row().locator('input[name=bearer_token]').inputValue(), '', 'the token is never sent back');
    assert.ok(!(await page.content()).includes('s3cret'));

    await row().locator('button:has-text("Test")').click();
    const check = page.locator('#datasource-check');
    await check.waitFor();
    assert.match(await check.textContent(), /^url: data source http:\/\/127\.0\.0\.1:9: /);
    await page.screenshot({ path: join(SCREENSHOTS, 'datasources.png'), fullPage: true });
    problems.length = 0; // the failed test was a 422 too

    await row().locator('input[name=url]').fill('');
    await save();
    await page.waitForFunction(() => document.querySelector('tr[data-tenant=globex] input[name=url]')?.value === ''
      && !document.querySelector('tr[data-tenant=globex] button.check'));
    assert.equal(await row().locator('button:has-text("Test")').count(), 0);
    assert.deepEqual(problems, []);
    await close();
  });
});
