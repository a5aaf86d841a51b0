// Each role signs in and sees the navigation and pages it may; admins manage tenants, users
// and tokens in forms; the audit page filters and shows a change as a diff.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, PASSWORD, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('roles, administration and the audit trail', () => {
  const suite = serverAndBrowser();

  const navigation = async (page) => page.locator('.main-nav a').allTextContents();

  test('each role sees the navigation it may use', async () => {
    for (const [role, email, expected] of [
      ['admin', USERS.admin, ['Dashboards', 'Alerts', 'Notifications', 'Explore', 'Scrape jobs', 'Audit', 'Status', 'Admin']],
      ['manager', USERS.manager, ['Dashboards', 'Alerts', 'Notifications', 'Scrape jobs', 'Audit', 'Status']],
      ['editor', USERS.editor, ['Dashboards', 'Alerts', 'Notifications', 'Explore', 'Scrape jobs', 'Audit', 'Status']],
      ['viewer', USERS.viewer, ['Dashboards', 'Alerts', 'Notifications', 'Scrape jobs', 'Audit', 'Status']],
    ]) {
      const { page, problems, close } = await openPage(suite.browser);
      await login(page, suite.server.baseUrl, email);
      assert.deepEqual(await navigation(page), expected, role);
      assert.match(await page.locator('.user-menu').textContent(), new RegExp(email.replace('.', '\\.')));
      await page.click('.main-nav a:has-text("Audit")');
      await page.waitForSelector('#audit-events');
      assert.deepEqual(problems, [], role);
      await close();
    }
  });

  test('a tenant viewer typing an admin address gets the not-allowed page', async () => {
    const { page, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.viewer);
    const response = await page.goto(`${suite.server.baseUrl}/admin/users`);
    assert.equal(response.status(), 403);
    assert.equal(await page.locator('h1').textContent(), 'Not allowed');
    assert.equal(await page.locator('#users').count(), 0, 'no user data on the page');
    await page.screenshot({ path: join(SCREENSHOTS, 'forbidden.png') });
    await close();
  });

  test('wrong credentials show an error beside the password', async () => {
    const { page, close } = await openPage(suite.browser);
    await page.goto(`${suite.server.baseUrl}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', USERS.admin);
    await page.fill('input[name=password]', 'not the password at all');
    await page.click('#login-form button[type=submit]');
    const error = page.locator('.field-error[data-field=password]');
    await error.waitFor();
    assert.equal(await error.textContent(), 'Wrong email or password.');
    await close();
  });

  test('an admin creates a tenant, sees validation beside the field, and makes a token', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/admin/tenants');
    await page.fill('#create-tenant input[name=name]', 'umbrella');
    await page.click('#create-tenant button[type=submit]');
    await page.locator('tr[data-tenant=umbrella]').waitFor();

    await page.fill('#create-tenant input[name=name]', 'Umbrella');
    await page.click('#create-tenant button[type=submit]');
    const error = page.locator('#create-tenant .field-error[data-field=name]');
    await error.waitFor();
    assert.equal(await error.textContent(), 'a tenant with this name exists');
    await page.screenshot({ path: join(SCREENSHOTS, 'tenants.png'), fullPage: true });

    await page.click('.sub-nav a:has-text("API tokens")');
    await page.locator('#create-token').waitFor();
    await page.selectOption('#create-token select[name=tenant]', { label: 'umbrella' });
    await page.fill('#create-token input[name=name]', 'prometheus');
    await page.check('#create-token input[name=scope_read]');
    await page.click('#create-token button[type=submit]');
    const secret = page.locator('#new-token code.secret');
    await secret.waitFor();
    assert.match(await secret.textContent(), /^mrd_[A-Za-z0-9]{40}$/);
    await page.locator('tr[data-token=prometheus]').waitFor();
    const shown = await page.locator('tr[data-token=prometheus] code').textContent();
    assert.equal(shown, `${(await secret.textContent()).slice(0, 12)}…`, 'the list shows only the prefix');
    await page.screenshot({ path: join(SCREENSHOTS, 'tokens.png'), fullPage: true });
    // The refused duplicate is answered 422, which Chromium reports as a failed load.
    assert.deepEqual(problems.filter((p) => !p.includes('422')), []);
    await close();
  });

  test('without JavaScript a form error comes back beside its field', async () => {
    const { page, close } = await openPage(suite.browser, { javaScriptEnabled: false });
    await page.goto(`${suite.server.baseUrl}/login?next=/admin/tenants`);
    await page.fill('input[name=email]', USERS.admin);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${suite.server.baseUrl}/admin/tenants`), page.click('#login-form button[type=submit]')]);
    await page.fill('#create-tenant input[name=name]', 'bad/name');
    await Promise.all([page.waitForLoadState('load'), page.click('#create-tenant button[type=submit]')]);
    assert.match(page.url(), /form=create_tenant/);
    assert.equal(await page.locator('#create-tenant .field-error[data-field=name]').textContent(), "may not contain '/'");
    await close();
  });

  test('the audit page filters by action and shows a rename as a diff', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/admin/tenants');
    const row = page.locator('tr[data-tenant=initech]');
    await row.locator('input[name=name]').fill('initech-2');
    await row.locator('button:has-text("Rename")').click();
    await page.locator('tr[data-tenant="initech-2"]').waitFor();

    await page.goto(`${suite.server.baseUrl}/audit`, { waitUntil: 'networkidle' });
    await page.fill('#audit-filters input[name=action]', 'tenant.rename');
    await Promise.all([
      page.waitForURL(/action=tenant\.rename/, { waitUntil: 'commit' }),
      page.click('#audit-filters button[type=submit]'),
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll('#audit-events .audit-event')]
      .every((e) => e.dataset.action === 'tenant.rename'));
    const events = page.locator('#audit-events .audit-event');
    assert.equal(await events.count(), 1);
    await events.first().locator('summary').click();
    const diff = events.first().locator('table.diff tbody tr');
    assert.equal(await diff.count(), 1, 'only the name changed');
    assert.deepEqual(await diff.first().locator('td').allTextContents(), ['name', 'initech', 'initech-2']);
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await close();
  });
});
