// Every signed-in page, loaded again and again, hydrates its islands without an error.
//
// Why a loop: a page behind the role check used to be built twice on the server whenever the
// signed-in user had loaded before leptos' dry run of the view. That is a race, lost about once
// in 60 loads on this machine, so one load per page proved nothing. The browser then hydrated
// against the first copy's data and panicked in tachys (hydration.rs, "unreachable").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { login, openPage, serverAndBrowser, USERS } from './harness.mjs';

const ROUNDS = 12;
const PAGES = {
  admin: ['/dashboards', '/d/executive', '/status', '/scrape', '/audit', '/explore', '/admin/tenants',
    '/admin/users', '/admin/tokens', '/admin/limits', '/admin/datasources'],
  editor: ['/d/tenant-overview', '/d/acme-agents', '/status', '/scrape', '/audit', '/explore'],
};

describe('hydration', () => {
  const suite = serverAndBrowser();

  for (const [role, paths] of Object.entries(PAGES)) {
    test(`an ${role}'s pages hydrate on every one of ${ROUNDS} loads`, async () => {
      const { page, problems, close } = await openPage(suite.browser);
      await login(page, suite.server.baseUrl, USERS[role]);
      const failed = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const path of paths) {
          problems.length = 0;
          await page.goto(suite.server.baseUrl + path);
          // The bundle marks the body once hydration has finished; a panic stops it before.
          await page.locator('body[data-hydrated]').waitFor({ timeout: 5000 })
            .catch(() => problems.push('not hydrated within 5 s'));
          // A request the next navigation cut off (the favicon, say) is not a failure of this page.
          const errors = problems.filter((p) => !p.endsWith('net::ERR_ABORTED'));
          if (errors.length) failed.push(`${path} (load ${round + 1}): ${errors[0].split('\n')[0]}`);
        }
      }
      assert.deepEqual(failed, []);
      await close();
    });
  }
});
