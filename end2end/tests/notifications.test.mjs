// Notifications in the browser: a rule fires and its notification lands in the on-call inbox
// (with the unread count in the header); an admin sends a test notification from a contact
// point and sees it delivered, previews where labels are routed, is told the line of a broken
// configuration, silences the alert from its page in one click and expires the silence; builds
// a time interval, a nested muted policy, an inhibition rule and an escalation in forms, each
// error shown beside its field, and removes them; the pages work on a phone and without
// JavaScript.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { login, openPage, SCREENSHOTS, serverAndBrowser, USERS } from './harness.mjs';

/// The parts of the messages a local SMTP server (aiosmtpd's debugging handler) printed,
/// decoded from quoted-printable or base64.
function mailParts(printed) {
  const parts = [];
  for (const chunk of printed.split(/\n--[^\n]+\n/)) {
    const [head, ...rest] = chunk.split(/\r?\n\r?\n/);
    const body = rest.join('\n\n');
    if (/Content-Transfer-Encoding: base64/i.test(head)) parts.push(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'));
    else if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) {
      parts.push(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
    } else parts.push(chunk);
  }
  return parts.join('\n');
}

/// Reloads `url` until `selector` is there (at most `seconds`).
async function until(page, url, selector, seconds, what) {
  for (let attempt = 0; ; attempt++) {
    await page.goto(url, { waitUntil: 'networkidle' });
    if (await page.locator(selector).count()) return;
    assert.ok(attempt < seconds, what);
    await page.waitForTimeout(1000);
  }
}

describe('notifications', () => {
  const suite = serverAndBrowser();

  test('a firing rule reaches the inbox; test, preview, silence and expire', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    const base = suite.server.baseUrl;
    await login(page, base, USERS.admin);

    // A rule that fires at once, critical: the demo routes it to the on-call inbox.
    await page.goto(`${base}/alerting/import?tenant=acme`, { waitUntil: 'networkidle' });
    const rules = 'groups:\n  - name: e2e-notify\n    interval: 5s\n    rules:\n      - alert: E2ePaging\n        expr: vector(1)\n        labels: {severity: critical, service: e2e}\n        annotations: {summary: paging the on-call person}\n';
    await page.fill('#rule-import-form textarea[name=yaml]', rules);
    await Promise.all([page.waitForURL(/\/alerting\/import\?done/), page.click('#rule-import-form button[type=submit]')]);

    // group_wait is 10 s in the demo's routing: the notification comes within half a minute.
    // (The demo's weekly digest may be unread already; the inbox is checked for the alert.)
    await until(page, `${base}/dashboards`, '#unread-count', 60, 'no unread notification arrived');
    await until(page, `${base}/inbox?tenant=acme`, '#inbox .inbox-item:has-text("E2ePaging")', 60, 'the alert did not reach the inbox');
    const item = page.locator('#inbox .inbox-item', { hasText: 'E2ePaging' }).first();
    assert.match(await item.textContent(), /to on-call/);
    assert.match(await item.textContent(), /paging the on-call person/);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-inbox.png'), fullPage: true });
    // Its acknowledgement link works without a login (as from an e-mail), once.
    const ackHref = await item.locator('a.ack-link').getAttribute('href');
    const anonymous = await openPage(suite.browser, { viewport: { width: 390, height: 844 } });
    await anonymous.page.goto(`${base}${ackHref}`, { waitUntil: 'networkidle' });
    assert.match(await anonymous.page.locator('h1').textContent(), /Acknowledge E2ePaging/);
    await anonymous.page.screenshot({ path: join(SCREENSHOTS, 'notifications-ack-link-phone.png'), fullPage: true });
    await Promise.all([anonymous.page.waitForNavigation(), anonymous.page.click('#acknowledge-link')]);
    await anonymous.page.locator('#acknowledged').waitFor();
    await anonymous.page.goto(`${base}${ackHref}`, { waitUntil: 'networkidle' });
    assert.match(await anonymous.page.textContent('main'), /Already acknowledged/);
    await anonymous.close();
    // Opened (the admin's other tenants' inboxes too, which hold their weekly digests):
    // nothing is unread any more.
    for (const tenant of ['globex', 'initech']) await page.goto(`${base}/inbox?tenant=${tenant}`, { waitUntil: 'networkidle' });
    await page.goto(`${base}/dashboards`, { waitUntil: 'networkidle' });
    assert.equal(await page.locator('#unread-count').count(), 0);

    // A test notification through the team's contact point, delivered and logged.
    await page.goto(`${base}/alerting/notifications?tenant=acme`, { waitUntil: 'networkidle' });
    const team = page.locator('.contact-point[data-receiver=team]');
    assert.match(await team.textContent(), /Meridian inbox/);
    await Promise.all([page.waitForNavigation(), team.locator('button.send-test').click()]);
    await until(page, `${base}/alerting/notifications?tenant=acme`,
      '.contact-point[data-receiver=team] tr[data-state=delivered]', 20, 'the test notification was not delivered');
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-contact-points.png'), fullPage: true });

    // The routing preview: a critical alert goes to on-call, grouped by alertname and service.
    const labels = 'alertname="HighErrorRatio", severity="critical", service="checkout"';
    await page.goto(`${base}/alerting/routes?tenant=acme&labels=${encodeURIComponent(labels)}`, { waitUntil: 'networkidle' });
    const row = page.locator('#preview-result tr[data-receiver=on-call]');
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /alertname="HighErrorRatio", service="checkout"/);
    assert.equal(await page.locator('#route-tree .route').count(), 4);
    assert.match(await page.locator('#escalation .parts').textContent(), /after 15m → on-call-lead/);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-policies.png'), fullPage: true });
    // A broken configuration is refused with its line; the routing stays as it was.
    const yaml = await page.locator('#config-form textarea[name=yaml]').inputValue();
    await page.fill('#config-form textarea[name=yaml]', yaml.replace('receiver: on-call', 'receiver: nobody'));
    await page.click('#config-form button[type=submit]');
    const error = page.locator('#config-form .field-error[data-field=yaml]');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /line \d+.*undefined receiver "nobody"/);

    // Silenced from the alert's page in one click; the silences page shows what it mutes.
    await until(page, `${base}/alerts?labels=${encodeURIComponent('alertname="E2ePaging"')}`,
      '#alerts tr[data-alert=E2ePaging][data-state=firing]', 30, 'the rule did not fire');
    await Promise.all([page.waitForURL(/\/alerts\/[0-9a-f-]+$/), page.locator('#alerts tr[data-alert=E2ePaging] a').first().click()]);
    await Promise.all([page.waitForNavigation(), page.click('#silence-alert')]);
    assert.match(await page.locator('#silence').textContent(), /Silenced.*alertname="E2ePaging".*admin@meridian\.demo/s);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-alert-silenced.png'), fullPage: true });
    await page.goto(`${base}/alerting/silences?tenant=acme`, { waitUntil: 'networkidle' });
    const silence = page.locator('#silences tr[data-state=active]', { hasText: 'E2ePaging' });
    assert.match(await silence.textContent(), /1 alert\(s\)/);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-silences.png'), fullPage: true });
    await silence.locator('button.expire').click();
    await page.locator('#silences tr[data-state=expired]', { hasText: 'E2ePaging' }).waitFor();
    // The refused configuration is the one failed request the browser saw.
    assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
    assert.equal(problems.length, 1);
    await close();
  });

  test('the notification pages work on a phone and without JavaScript', async () => {
    const { page, close } = await openPage(suite.browser, { viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    const base = suite.server.baseUrl;
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', USERS.editor);
    await page.fill('input[name=password]', 'meridian-demo-password');
    await Promise.all([page.waitForURL(`${base}/d/tenant-overview`), page.click('#login-form button[type=submit]')]);
    for (const path of ['/alerting/notifications', '/alerting/routes', '/alerting/silences', '/alerting/templates', '/inbox']) {
      await page.goto(`${base}${path}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${path}: no sideways scroll (${width}px)`);
    }
    await page.goto(`${base}/alerting/routes`);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-policies-phone.png'), fullPage: true });
    // A silence made with a plain form post.
    await page.goto(`${base}/alerting/silences?matchers=${encodeURIComponent('alertname="SlowResponses"')}`);
    await page.fill('#new-silence input[name=comment]', 'load test tonight');
    await Promise.all([page.waitForNavigation(), page.click('#create-silence')]);
    assert.match(await page.locator('#silences').textContent(), /alertname="SlowResponses".*editor@acme\.demo/s);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-silences-phone.png'), fullPage: true });
    await close();
  });
  test('an admin adds a template, an e-mail contact point and a policy; the e-mail acknowledges', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const smtp = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`]);
    let printed = '';
    smtp.stdout.on('data', (d) => { printed += d; });
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    const base = suite.server.baseUrl;
    try {
      await login(page, base, USERS.admin);

      // A template file, previewed against a sample alert before it is saved.
      await page.goto(`${base}/alerting/templates?tenant=acme`, { waitUntil: 'networkidle' });
      await page.fill('#template-form input[name=file]', 'oncall.tmpl');
      await page.fill('#template-form textarea[name=content]',
        '{{ define "oncall.subject" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.service }}{{ end }}');
      await page.fill('#template-form input[name=title]', '{{ template "oncall.subject" . }}');
      await Promise.all([page.waitForNavigation(), page.click('#preview-template')]);
      assert.equal(await page.locator('#preview-title').textContent(), '[FIRING] HighErrorRatio on checkout');
      await page.screenshot({ path: join(SCREENSHOTS, 'notifications-templates.png'), fullPage: true });
      await Promise.all([page.waitForNavigation(), page.click('#save-template')]);
      await page.locator('#template-files li[data-file="oncall.tmpl"]').waitFor();

      // An e-mail contact point whose subject is the template, made in the form.
      await page.goto(`${base}/alerting/notifications?tenant=acme`, { waitUntil: 'networkidle' });
      const form = page.locator('#new-contact-point');
      await form.locator('input[name=name]').fill('e2e-mail');
      await form.locator('select[name=kind]').selectOption('email');
      await form.locator('input[name=to]').fill('oncall@acme.example');
      await form.locator('input[name=smarthost]').fill(`127.0.0.1:${port}`);
      await form.locator('input[name=from]').fill('meridian@acme.example');
      await form.locator('input[name=require_tls]').uncheck();
      await form.locator('input[name=title]').fill('{{ template "oncall.subject" . }}');
      await form.locator('#add-contact-point').click();
      await page.locator('.contact-point[data-receiver=e2e-mail]').waitFor();

      // A policy sending the alert there, first among the policies.
      await page.goto(`${base}/alerting/routes?tenant=acme`, { waitUntil: 'networkidle' });
      const route = page.locator('#new-route');
      await route.locator('input[name=matchers]').fill('alertname="E2eMail"');
      await route.locator('select[name=receiver]').selectOption('e2e-mail');
      await route.locator('input[name=group_wait]').fill('1s');
      await route.locator('#add-route').click();
      await page.locator('#route-tree .route[data-receiver=e2e-mail]').waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'notifications-new-route.png'), fullPage: true });

      // A rule that fires: its e-mail arrives with the template's subject and an acknowledge link.
      await page.goto(`${base}/alerting/import?tenant=acme`, { waitUntil: 'networkidle' });
      const rules = 'groups:\n  - name: e2e-mail\n    interval: 5s\n    rules:\n      - alert: E2eMail\n        expr: vector(1)\n        labels: {severity: critical, service: e2e}\n        annotations: {summary: mailed to the on-call person}\n';
      await page.fill('#rule-import-form textarea[name=yaml]', rules);
      await Promise.all([page.waitForURL(/\/alerting\/import\?done/), page.click('#rule-import-form button[type=submit]')]);
      for (let i = 0; !/Subject: \[FIRING\] E2eMail on e2e/.test(printed); i++) {
        assert.ok(i < 60, `no e-mail arrived: ${printed.slice(0, 2000)}`);
        await page.waitForTimeout(1000);
      }
      const link = mailParts(printed).match(/https?:\/\/[^\s"<>]+\/ack\/[A-Za-z0-9._-]+/);
      assert.ok(link, `the e-mail has an acknowledge link: ${mailParts(printed).slice(0, 3000)}`);
      const ackPath = new URL(link[0]).pathname;

      // Followed from the e-mail, without a login: acknowledged once.
      const anonymous = await openPage(suite.browser, { viewport: { width: 390, height: 844 } });
      await anonymous.page.goto(`${base}${ackPath}`, { waitUntil: 'networkidle' });
      assert.match(await anonymous.page.locator('h1').textContent(), /Acknowledge E2eMail/);
      await Promise.all([anonymous.page.waitForNavigation(), anonymous.page.click('#acknowledge-link')]);
      await anonymous.page.locator('#acknowledged').waitFor();
      await anonymous.close();
      assert.deepEqual(problems, []);
    } finally {
      smtp.kill();
      await close();
    }
  });

  test('an admin builds routing in forms: time interval, nested policy, inhibition, escalation', async () => {
    const { page, problems, close } = await openPage(suite.browser, { viewport: { width: 1440, height: 1000 } });
    const base = suite.server.baseUrl;
    await login(page, base, USERS.admin);
    const routes = `${base}/alerting/routes?tenant=acme`;
    await page.goto(routes, { waitUntil: 'networkidle' });

    // A time interval: a range that is not one is refused beside its field, the box stays open.
    await page.click('#new-time-interval summary');
    const interval = page.locator('#new-time-interval');
    await interval.locator('input[name=name]').fill('e2e-weekends');
    await interval.locator('input[name=weekdays]').fill('saturday, sunday');
    await interval.locator('input[name=times]').fill('9 to 5');
    await interval.locator('input[name=location]').fill('Europe/Berlin');
    await interval.locator('#add-time-interval').click();
    const timesError = page.locator('#new-time-interval .field-error[data-field=times]');
    await timesError.waitFor({ state: 'visible' });
    assert.match(await timesError.textContent(), /09:00-17:00/);
    await page.locator('#new-time-interval input[name=times]').fill('');
    await page.locator('#new-time-interval input[name=weekdays]').fill('saturday, sunday');
    await page.locator('#new-time-interval input[name=name]').fill('e2e-weekends');
    await page.locator('#new-time-interval input[name=location]').fill('Europe/Berlin');
    await page.locator('#add-time-interval').click();
    await page.locator('#time-intervals li[data-key=e2e-weekends]').waitFor();
    assert.match(await page.locator('#time-intervals li[data-key=e2e-weekends]').textContent(), /saturday, sunday · Europe\/Berlin/);

    // A policy under the first one, muted on weekends.
    const route = page.locator('#new-route');
    await route.locator('select[name=parent]').selectOption('0.0');
    await route.locator('input[name=matchers]').fill('alertname="E2eNested"');
    await route.locator('select[name=receiver]').selectOption('team');
    await route.locator('select[name=mute_time_interval]').selectOption('e2e-weekends');
    await route.locator('#add-route').click();
    const nested = page.locator('#route-tree .route[data-path="0.0.0"]');
    await nested.waitFor();
    assert.match(await nested.textContent(), /alertname="E2eNested".*team.*muted during e2e-weekends/s);

    // An inhibition rule.
    await page.click('#new-inhibit-rule summary');
    const inhibit = page.locator('#new-inhibit-rule');
    await inhibit.locator('input[name=source_matchers]').fill('alertname="E2eSource"');
    await inhibit.locator('input[name=target_matchers]').fill('alertname="E2eTarget"');
    await inhibit.locator('input[name=equal]').fill('service');
    await inhibit.locator('#add-inhibit-rule').click();
    const rule = page.locator('#inhibition li', { hasText: 'E2eSource' });
    await rule.waitFor();
    assert.match(await rule.textContent(), /alertname="E2eSource" mutes alertname="E2eTarget" when service are equal/);

    // An escalation whose second step comes before its first is refused at that step.
    await page.click('#new-escalation summary');
    const escalation = page.locator('#new-escalation');
    const fillEscalation = async (second) => {
      await page.locator('#new-escalation input[name=name]').fill('e2e-escalation');
      await page.locator('#new-escalation input[name=matchers]').fill('alertname="E2eEscalation"');
      await page.locator('#new-escalation input[name=after_1]').fill('15m');
      await page.locator('#new-escalation select[name=receiver_1]').selectOption('team');
      await page.locator('#new-escalation input[name=after_2]').fill(second);
      await page.locator('#new-escalation select[name=receiver_2]').selectOption('on-call');
      await page.locator('#add-escalation').click();
    };
    await fillEscalation('5m');
    const stepError = escalation.locator('.field-error[data-field=after_2]');
    await stepError.waitFor({ state: 'visible' });
    assert.match(await stepError.textContent(), /later than the one before/);
    await fillEscalation('1h');
    const policy = page.locator('#escalation li[data-key=e2e-escalation]');
    await policy.waitFor();
    assert.match(await policy.textContent(), /after 15m → team, then after 1h → on-call/);
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications-routing-forms.png'), fullPage: true });

    // All of it is in the configuration's YAML, as Alertmanager writes it.
    const yaml = await page.locator('#config-form textarea[name=yaml]').inputValue();
    for (const part of ['name: e2e-weekends', 'mute_time_intervals:', 'E2eNested', 'source_matchers:', 'name: e2e-escalation']) {
      assert.ok(yaml.includes(part), `${part} in\n${yaml}`);
    }

    // A time interval in use is not removed from under its policy; once the policy is gone, it is.
    await page.locator('#time-intervals li[data-key=e2e-weekends] button.remove').click();
    const inUse = page.locator('#time-intervals li[data-key=e2e-weekends] .form-error');
    await inUse.waitFor({ state: 'visible' });
    assert.match(await inUse.textContent(), /undefined time interval "e2e-weekends"/);
    await nested.locator('button.remove').click();
    await page.locator('#route-tree .route', { hasText: 'E2eNested' }).waitFor({ state: 'detached' });
    await page.locator('#time-intervals li[data-key=e2e-weekends] button.remove').click();
    await page.locator('#time-intervals li[data-key=e2e-weekends]').waitFor({ state: 'detached' });
    await rule.locator('button.remove').click();
    await rule.waitFor({ state: 'detached' });
    await policy.locator('button.remove').click();
    await policy.waitFor({ state: 'detached' });
    assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
    await close();
  });
});
