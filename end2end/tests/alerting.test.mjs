// Alert rules in the browser: an admin opens the rule form, sees an expression error at its
// position, previews the rule, backtests it over the demo week, saves it, sees it fire on the
// alerts page and acknowledges the alert with a comment; the pages work on a phone and without
// JavaScript.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('alerting', () => {
  const suite = serverAndBrowser();

  test('an admin creates a rule, previews and backtests it, saves it, sees it fire and acknowledges it', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    const base = suite.server.baseUrl;
    await login(page, base, USERS.admin);
    // The demo's rules are provisioned once the demo week is in: wait for them.
    for (let attempt = 0; ; attempt++) {
      await page.goto(`${base}/alerting/list?tenant=acme`, { waitUntil: 'networkidle' });
      if (await page.locator('.rule-group[data-group=service-health]').count()) break;
      assert.ok(attempt < 90, 'the demo rules did not arrive');
      await page.waitForTimeout(1000);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-rules.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/alerting\/new/), page.click('#new-rule')]);

    const form = '#rule-form';
    await page.fill(`${form} input[name=group]`, 'checkout');
    await page.fill(`${form} input[name=interval]`, '10s');
    await page.fill(`${form} input[name=name]`, 'ApiInstanceUp');
    await page.fill(`${form} textarea[name=expr]`, 'up{job="api"} == 1)');
    await page.fill(`${form} input[name=for_text]`, '0s');
    await page.selectOption(`${form} select[name=severity]`, 'info');
    await page.fill(`${form} input[name=summary]`, '{{ $labels.instance }} answers');
    // A syntax error comes back beside the expression with a caret under its position.
    await Promise.all([page.waitForURL(/intent=preview/), page.click('#preview-rule')]);
    const caret = page.locator(`${form} pre.field-error`);
    assert.match(await caret.textContent(), /1:\d+: .*\n.*\n\s*\^$/);

    // Preview: the API instances that answer now would fire at once (api-2 is down only in
    // the demo's incidents).
    await page.fill(`${form} textarea[name=expr]`, 'up{job="api"} == 1');
    await Promise.all([page.waitForURL(/intent=preview/), page.click('#preview-rule')]);
    const preview = page.locator('#rule-preview');
    await preview.waitFor();
    const answering = await preview.locator('li').count();
    assert.ok(answering >= 1);
    assert.equal(await preview.locator('li[data-state=firing]').count(), answering);
    assert.match(await preview.textContent(), /api-1:8080 answers/);

    // Backtest over the demo week: api-2 goes down in the incidents, so its alert resolves and
    // fires again; the summary counts what would have been sent.
    await Promise.all([page.waitForURL(/intent=backtest/), page.click('#backtest-rule')]);
    const backtest = page.locator('#rule-backtest');
    await backtest.waitFor();
    assert.match(await page.locator('#backtest-summary').textContent(), /evaluations every 10s .* 2 alert\(s\), \d+ firing and \d+ resolved/);
    assert.equal(await backtest.locator('.backtest-row').count(), 2);
    assert.ok(await backtest.locator('rect.tl-firing').count() >= 2);
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-backtest.png'), fullPage: true });

    // Saved: the rules page shows it; the evaluator fires it at the group's next slot.
    await Promise.all([page.waitForURL(/\/alerting\/list/), page.click('#save-rule')]);
    await page.locator('tr[data-rule=ApiInstanceUp]').waitFor();
    let row;
    for (let attempt = 0; ; attempt++) {
      await page.goto(`${base}/alerts?labels=${encodeURIComponent('alertname="ApiInstanceUp"')}`, { waitUntil: 'networkidle' });
      row = page.locator('#alerts tr[data-alert=ApiInstanceUp][data-state=firing]');
      if ((await row.count()) >= 1) break;
      assert.ok(attempt < 40, 'the new rule did not fire');
      await page.waitForTimeout(1000);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-alerts.png'), fullPage: true });

    // Acknowledged with a comment: shown on the alert and in the list.
    await Promise.all([page.waitForURL(/\/alerts\/[0-9a-f-]+$/), row.first().locator('a').click()]);
    await page.fill('#acknowledgement textarea[name=comment]', 'expected: a test rule');
    await page.click('#acknowledge');
    await page.locator('#acknowledgement.acknowledged').waitFor();
    assert.match(await page.locator('#acknowledgement').textContent(), /Acknowledged by admin@meridian\.demo.*expected: a test rule/s);
    assert.ok(await page.locator('.alert-timeline rect.tl-firing').count() >= 1);
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-alert.png'), fullPage: true });
    await page.goto(`${base}/alerts?labels=${encodeURIComponent('alertname="ApiInstanceUp"')}`, { waitUntil: 'networkidle' });
    assert.equal(await page.locator('#alerts .ack').count(), 1);
    assert.deepEqual(problems, []);
    await close();
  });

  test('the alerts pages work on a phone and without JavaScript', async () => {
    const { page, close } = await openPage(suite.browser, { viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    const base = suite.server.baseUrl;
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', USERS.editor);
    await page.fill('input[name=password]', 'meridian-demo-password');
    await Promise.all([page.waitForURL(`${base}/d/tenant-overview`), page.click('#login-form button[type=submit]')]);
    await page.goto(`${base}/alerts?state=all`);
    assert.ok(await page.locator('#alerts tbody tr').count() > 0, 'the demo week has alerts');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scroll: ${width}px`);
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-alerts-phone.png') });
    // The editor's preview without JavaScript: a plain form post and a page.
    await page.goto(`${base}/alerting/new`);
    await page.fill('#rule-form input[name=group]', 'phone');
    await page.fill('#rule-form input[name=name]', 'Up');
    await page.fill('#rule-form textarea[name=expr]', 'up');
    await Promise.all([page.waitForNavigation(), page.click('#preview-rule')]);
    assert.ok(await page.locator('#rule-preview li').count() >= 2);

    // A rule file uploaded through the import page, without JavaScript: a bad one comes back
    // with its line, a good one lands in the editor's tenant and shows on the rules page.
    await page.goto(`${base}/alerting/list`);
    await Promise.all([page.waitForURL(/\/alerting\/import/), page.click('#import-rules')]);
    await page.fill('#rule-import-form textarea[name=yaml]', 'groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: sum(up\n');
    await Promise.all([page.waitForURL(/error=/), page.click('#rule-import-form button[type=submit]')]);
    assert.match(await page.locator('#import-error').textContent(), /line 5/);
    const file = 'groups:\n  - name: uploaded\n    interval: 30s\n    rules:\n      - alert: NoTargets\n        expr: count(up) == 0\n        labels: {severity: warning}\n';
    await page.setInputFiles('#rule-import-form input[name=file]', { name: 'uploaded.yml', mimeType: 'application/yaml', buffer: Buffer.from(file) });
    await Promise.all([page.waitForURL(/\/alerting\/import\?done/), page.click('#rule-import-form button[type=submit]')]);
    assert.match(await page.locator('#rule-import-report').textContent(), /created: uploaded/);
    await page.screenshot({ path: join(SCREENSHOTS, 'alerting-import-phone.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/alerting\/list/), page.click('#rule-import-report h2 a')]);
    assert.equal(await page.locator('.rule-group[data-group=uploaded] tr[data-rule=NoTargets]').count(), 1);
    await close();
  });
});
