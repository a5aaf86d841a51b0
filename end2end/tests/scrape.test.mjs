// Scrape jobs in the browser: a tenant editor adds a job in the form (with errors beside the
// field), the scraper pulls the target and the page shows it up; the editor disables it; a
// viewer sees the jobs but no form; the admin sees the built-in self-scrape of `system`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, openPage, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

describe('scrape jobs', () => {
  const suite = serverAndBrowser();

  test('an editor adds a job, sees its target up, and disables it', async () => {
    const { page, problems, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.editor, '/scrape');
    const form = page.locator('#create-scrape-job');
    assert.equal(await form.locator('select[name=tenant]').count(), 0, 'an editor’s jobs go to their own tenant');
    const target = new URL(suite.server.baseUrl).host;

    await form.locator('input[name=name]').fill('shop');
    await form.locator('textarea[name=targets]').fill(`http://${target}/metrics`);
    await form.locator('button[type=submit]').click();
    const error = page.locator('.field-error[data-field=targets]');
    await error.waitFor();
    assert.match(await error.textContent(), /give host:port only/);
    // That refusal was a 422 the browser logs; nothing after it may fail.
    problems.length = 0;

    await form.locator('textarea[name=targets]').fill(target);
    await form.locator('input[name=interval_seconds]').fill('1');
    await form.locator('input[name=timeout_seconds]').fill('1');
    await form.locator('textarea[name=labels]').fill('env=demo');
    await form.locator('button[type=submit]').click();
    const row = page.locator('tr[data-job=shop]');
    await row.waitFor();
    assert.match(await row.textContent(), /env="demo"/);

    // The scraper picks the job up at once; the page shows the next scrape's result on reload.
    let health = '';
    for (let i = 0; i < 40 && health !== 'up'; i++) {
      await page.waitForTimeout(500);
      await page.reload({ waitUntil: 'networkidle' });
      health = (await row.locator('.targets .pill').textContent()).trim();
    }
    assert.equal(health, 'up');
    assert.match(await row.locator('.targets').textContent(), /samples in/);
    await page.screenshot({ path: join(SCREENSHOTS, 'scrape-jobs.png'), fullPage: true });

    await row.locator('summary:has-text("Edit")').click();
    await row.locator('input[name=enabled]').uncheck();
    await row.locator('button:has-text("Save")').click();
    await page.locator('tr[data-job=shop] .pill:has-text("disabled")').waitFor();
    assert.deepEqual(problems, []);
    await close();
  });

  test('a viewer sees the jobs without the forms', async () => {
    const { page, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.viewer, '/scrape');
    await page.locator('h1:has-text("Scrape jobs")').waitFor();
    assert.equal(await page.locator('#create-scrape-job').count(), 0);
    assert.equal(await page.locator('summary:has-text("Edit")').count(), 0);
    await close();
  });

  test('the admin sees Meridian scraping itself into the system tenant', async () => {
    const { page, close } = await openPage(suite.browser);
    await login(page, suite.server.baseUrl, USERS.admin, '/scrape');
    const row = page.locator('tr[data-job=meridian]');
    await row.waitFor();
    assert.match(await row.textContent(), /system/);
    assert.match(await row.textContent(), /built-in/);
    assert.equal(await page.locator('#create-scrape-job select[name=tenant]').count(), 1);
    await close();
  });
});
