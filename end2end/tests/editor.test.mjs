// The dashboard editor in the browser: an editor creates a dashboard, builds two panels while the
// preview follows the typing (a syntax error shown at its position), drags a panel on the grid,
// renames the dashboard and restores version 1 from the history; without JavaScript the forms
// and the preview still work; a viewer sees no edit controls.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, PASSWORD, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('dashboard editor', () => {
  const suite = serverAndBrowser();
  const ready = (page) => page.locator('body[data-editor=ready]').waitFor();
  const expr = (i) => `#panel-editor textarea[name="panel[targets][${i}][expr]"]`;

  test('an editor creates a dashboard with two panels, sees the preview follow the typing, renames it and restores version 1', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    const base = suite.server.baseUrl;
    await login(page, base, USERS.editor);
    await page.goto(`${base}/dashboards`);
    await Promise.all([page.waitForURL(/\/dashboard\/new$/), page.click('#new-dashboard')]);
    await page.fill('#new-dashboard input[name=title]', 'Checkout');
    await Promise.all([page.waitForURL(/\/d\/[^/?]+\?editPanel=new$/), page.click('#new-dashboard button[type=submit]')]);
    const uid = new URL(page.url()).pathname.split('/')[2];
    await ready(page);

    // A query that does not parse: its error, with its position, beside the field.
    await page.fill('#panel-editor input[name="panel[title]"]', 'Orders');
    await page.fill(expr(0), 'sum(rate(orders_total[5m]) by (job)');
    const exprError = page.locator('#panel-editor .field-error[data-field="targets[0][expr]"]');
    await exprError.waitFor({ state: 'visible' });
    assert.match(await exprError.textContent(), /^1:\d+: parse error/);
    // Fixed: the error goes and the preview draws the series; as a stat it shows the value.
    await page.fill(expr(0), 'vector(42)');
    await exprError.waitFor({ state: 'hidden' });
    await page.locator('#panel-preview svg path.series').first().waitFor({ state: 'attached' });
    assert.equal(await page.locator('#panel-preview-frame .panel-title').textContent(), 'Orders');
    await page.selectOption('#panel-kind', 'stat');
    await page.locator('#panel-preview .stat-value').waitFor();
    assert.equal(await page.locator('#panel-preview .stat-value').textContent(), '42');
    await page.fill('#panel-editor input[name="panel[unit]"]', 'percent');
    await page.waitForFunction(() => document.querySelector('#panel-preview .stat-value')?.textContent === '42%');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-panel.png'), fullPage: true });
    await Promise.all([page.waitForURL(new RegExp(`/d/${uid}#panel-1$`)), page.click('#save-panel')]);
    assert.equal(await page.locator('.panel').count(), 1);

    // The second panel, from the dashboard's own button.
    await Promise.all([page.waitForURL(/editPanel=new/), page.click('#dash-add-panel')]);
    await ready(page);
    await page.fill('#panel-editor input[name="panel[title]"]', 'Latency');
    await page.fill(expr(0), 'vector(0.25)');
    await page.fill('#panel-editor input[name="panel[targets][0][legend]"]', 'p99');
    await page.locator('#panel-preview svg path.series').first().waitFor({ state: 'attached' });
    await Promise.all([page.waitForURL(new RegExp(`#panel-2$`)), page.click('#save-panel')]);
    assert.deepEqual(await page.locator('.panel-title').allTextContents(), ['Orders', 'Latency']);

    // The layout: drag Latency (under Orders, half width) to the right half.
    await page.goto(`${base}/d/${uid}?editview=layout`);
    await ready(page);
    const box = page.locator('.layout-box[data-id="2"]');
    const grid = await page.locator('#layout-grid').boundingBox();
    const from = await box.boundingBox();
    await page.mouse.move(from.x + 20, from.y + 8);
    await page.mouse.down();
    await page.mouse.move(from.x + 20 + grid.width / 2, from.y - 150, { steps: 8 });
    await page.mouse.up();
    assert.equal(await page.inputValue('#layout-form tr[data-id="2"] input[data-dim=x]'), '12');
    assert.equal(await page.inputValue('#layout-form tr[data-id="2"] input[data-dim=y]'), '0');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-layout.png'), fullPage: true });
    await Promise.all([page.waitForURL(new RegExp(`/d/${uid}$`)), page.click('#save-layout')]);
    assert.equal(await page.locator('#panel-2').getAttribute('style').then((s) => s.match(/grid-column:([^;]+)/)[1].trim()), '13 / span 12');

    // Rename in the settings.
    await Promise.all([page.waitForURL(/editview=settings/), page.click('#dash-edit')]);
    await page.fill('#settings-form input[name="settings[title]"]', 'Checkout service');
    await page.fill('#settings-form input[name="settings[tags]"]', 'payments, sla');
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-settings.png'), fullPage: true });
    await Promise.all([page.waitForURL(new RegExp(`/d/${uid}$`)), page.click('#save-settings')]);
    assert.equal(await page.locator('.dash-title h1').textContent(), 'Checkout service');

    // The history: five versions, the latest compared with the one before; restore version 1.
    await page.goto(`${base}/d/${uid}?editview=versions`);
    assert.equal(await page.locator('#versions tbody tr').count(), 5);
    assert.match(await page.locator('#version-diff .diff-summary').textContent(), /Title changed: Checkout → Checkout service/);
    await page.screenshot({ path: join(SCREENSHOTS, 'editor-versions.png'), fullPage: true });
    await Promise.all([page.waitForLoadState('load'), page.click('button[data-restore="1"]')]);
    await page.locator('#versions tbody tr[data-version="6"]').waitFor();
    assert.match(await page.locator('#versions tbody tr[data-version="6"]').textContent(), /restored version 1/);
    await page.goto(`${base}/d/${uid}`);
    assert.equal(await page.locator('.dash-title h1').textContent(), 'Checkout');
    assert.equal(await page.locator('.panel').count(), 0);
    assert.deepEqual(problems, []);
    await close();

    // At phone width the preview sits above the form.
    const phone = await openPage(suite.browser, { viewport: { width: 390, height: 844 }, isMobile: true });
    await login(phone.page, base, USERS.editor);
    await phone.page.goto(`${base}/d/acme-agents?editPanel=1`);
    await phone.page.screenshot({ path: join(SCREENSHOTS, 'editor-panel-phone.png'), fullPage: true });
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `scrolls sideways by ${overflow}px`);
    await phone.close();
  });

  test('without JavaScript the panel form previews and saves', async () => {
    const { page, close } = await openPage(suite.browser, { javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const base = suite.server.baseUrl;
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', USERS.editor);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(/\/d\//), page.click('#login-form button[type=submit]')]);
    await page.goto(`${base}/d/acme-agents?editPanel=2`);
    const title = await page.inputValue('#panel-editor input[name="panel[title]"]');
    await page.fill('#panel-editor input[name="panel[title]"]', `${title} (edited)`);
    await page.fill('#panel-editor input[name="panel[decimals]"]', 'two');
    await Promise.all([page.waitForURL(/draft=1/), page.click('#panel-editor button[value=preview]')]);
    assert.equal(await page.locator('#panel-preview-frame .panel-title').textContent(), `${title} (edited)`);
    assert.match(await page.locator('#preview-errors').textContent(), /decimals|whole number/);
    await page.fill('#panel-editor input[name="panel[decimals]"]', '1');
    await Promise.all([page.waitForURL(/\/d\/acme-agents#panel-2$/), page.click('#save-panel')]);
    assert.equal(await page.locator('#panel-2 .panel-title').textContent(), `${title} (edited)`);
    await close();
  });

  test('a viewer sees no edit controls and the editor is refused', async () => {
    const { page, close } = await openPage(suite.browser, { viewport: { width: 1280, height: 900 } });
    const base = suite.server.baseUrl;
    await login(page, base, USERS.viewer);
    await page.goto(`${base}/d/acme-agents`);
    assert.equal(await page.locator('#dash-edit, #dash-add-panel, .edit-panel').count(), 0);
    await page.goto(`${base}/dashboards`);
    assert.equal(await page.locator('#new-dashboard, #import-dashboard').count(), 0);
    const response = await page.goto(`${base}/d/acme-agents?editview=settings`);
    assert.equal(response.status(), 403);
    assert.equal(await page.locator('#settings-form').count(), 0);
    await close();
  });
});
