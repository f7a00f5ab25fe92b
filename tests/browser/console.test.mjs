// The console in a real browser, as a newcomer uses it: `vpcep serve` on an empty database prints
// a credential; the owner pastes that JSON line into the sign-in form (AK/SK: every request is
// signed in the page), creates a service with approval and edits its whitelist; a consumer (a
// second project of the same account, made with `vpcep credentials create` while the server
// runs) signs in with its token and connects twice; the owner accepts, edits two connection
// descriptions (one refused first, the error next to its field), saves them in one request,
// reloads, rejects one; the API then holds exactly what the page showed. The consumer deletes an
// endpoint and watches it go. Creations and deletions take a second (--transition-delay), so the
// pages must refresh by themselves.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';

import {
  CHROMIUM, ROOT, SCREENSHOT_DIR, startServer, createCredential, apiCall, launchBrowser, watchedPage,
} from './harness.mjs';

const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;
const WAIT = { timeout: 15000 };

/** The rows of the connections table as the page shows them. */
async function shownConnections(page) {
  return page.$$eval('#conn-table tbody tr', (rows) => rows.map((tr) => {
    const cells = tr.querySelectorAll('td');
    return {
      id: cells[0].textContent.trim(),
      marker_id: Number(cells[1].textContent.trim()),
      status: cells[2].querySelector('.badge').textContent.trim(),
      domain_id: cells[3].textContent.trim(),
      created_at: cells[4].textContent.trim(),
      updated_at: cells[5].textContent.trim(),
      description: cells[6].querySelector('input').value,
    };
  }));
}

function row(page, id) {
  return page.locator(`#conn-table tbody tr[data-id="${id}"]`);
}

async function shot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

describe('the console in Chromium', { skip }, () => {
  let server;
  let browser;
  let consumer;
  let owner; // { page, problems, context }
  let buyer;
  let serviceId;
  const endpointIds = [];

  before(async () => {
    server = await startServer(['--transition-delay', '1s']);
    // While it runs: the server serves credentials made after its start.
    consumer = createCredential(server.database, ['--name', 'consumer', '--domain-id', server.owner.domain_id]);
    browser = await launchBrowser();
    const watch = {
      secretKeys: [server.owner.secret_key, consumer.secret_key],
      tokens: [server.owner.token, consumer.token],
    };
    owner = await watchedPage(browser, server.base, watch);
    buyer = await watchedPage(browser, server.base, watch);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('signs the owner in with the pasted JSON line (AK/SK, signed in the page)', async () => {
    const { page } = owner;
    await page.goto(`${server.base}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel("Paste the credential's JSON line").fill(server.credentialLine);
    assert.equal(await page.getByRole('textbox', { name: 'Access key', exact: true }).inputValue(), server.owner.access_key);
    assert.equal(await page.getByLabel('Secret key', { exact: true }).inputValue(), server.owner.secret_key);
    assert.ok(await page.getByRole('radio', { name: /Access key and secret key/ }).isChecked());
    // Keyboard only: Enter in the secret key field submits.
    await page.getByLabel('Secret key', { exact: true }).press('Enter');
    await page.getByRole('heading', { name: 'My endpoint services' }).waitFor(WAIT);
    await page.locator('#who-text').filter({ hasText: `project ${server.owner.project_id}` }).waitFor();
    const stored = await page.evaluate(() => sessionStorage.getItem('vpcep-console-session'));
    assert.ok(stored.includes(server.owner.secret_key), 'the secret stays in session storage');
    const local = await page.evaluate(() => JSON.stringify(localStorage));
    assert.ok(!local.includes(server.owner.secret_key), 'nothing in local storage');
  });

  it('creates a service with approval; it settles by itself', async () => {
    const { page } = owner;
    await page.getByText('No endpoint service yet').waitFor(WAIT);
    await page.getByLabel('Short name (optional)').fill('web');
    assert.ok(await page.getByLabel('Connections need my approval').isChecked());
    await page.getByRole('button', { name: 'Create service' }).click();
    await page.getByRole('status').filter({ hasText: 'Created' }).waitFor(WAIT);
    const link = page.locator('#services-table tbody tr a');
    await link.waitFor(WAIT);
    assert.match(await link.textContent(), /^local-1\.web\.[0-9a-f-]{36}$/);
    serviceId = (await page.locator('#services-table tbody tr td:nth-child(2)').textContent()).trim();
    // Created as `creating`; the page polls until it is `available`.
    await page.locator('#services-table tbody tr .badge', { hasText: 'available' }).waitFor(WAIT);
    const r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}`);
    assert.equal(r.json.status, 'available');
    assert.equal(r.json.approval_enabled, true);
  });

  it('switches approval off and on from the list', async () => {
    const { page } = owner;
    const approval = page.locator('#services-table tbody tr .approval');
    await approval.getByRole('button', { name: /Stop requiring approval/ }).click();
    await approval.filter({ hasText: 'not required' }).waitFor(WAIT);
    let r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}`);
    assert.equal(r.json.approval_enabled, false);
    await approval.getByRole('button', { name: /^Require approval/ }).click();
    await approval.getByRole('button', { name: /Stop requiring approval/ }).waitFor(WAIT);
    r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}`);
    assert.equal(r.json.approval_enabled, true);
  });

  it('edits the whitelist of the service', async () => {
    const { page } = owner;
    await page.locator('#services-table tbody tr a').click();
    await page.getByRole('heading', { name: /^local-1\.web\./ }).waitFor(WAIT);
    await page.getByText('The whitelist is empty').waitFor(WAIT);
    const entry = 'iam:domain::0123456789abcdef0123456789abcdef';
    await page.getByLabel('Entry to add').fill(entry);
    await page.getByLabel('Its description (optional)').fill('partner <team>');
    await page.getByRole('button', { name: 'Add to the whitelist' }).click();
    // The API's refusal, as text, next to the form.
    await page.locator('#wl-form-error').filter({ hasText: "'<'" }).waitFor(WAIT);
    await page.getByLabel('Its description (optional)').fill('partner team');
    await page.getByRole('button', { name: 'Add to the whitelist' }).click();
    await page.locator('#whitelist-table td', { hasText: entry }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Add to the whitelist' }).focus();
    await page.getByLabel('Entry to add').fill('*');
    await page.getByLabel('Entry to add').press('Enter');
    await page.locator('#whitelist-table tbody tr').nth(1).waitFor(WAIT);
    await page.getByRole('button', { name: 'Remove * from the whitelist' }).click();
    await page.locator('#whitelist-table tbody tr').nth(1).waitFor({ state: 'detached', ...WAIT });
    const r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}/permissions`);
    assert.deepEqual(r.json.permissions.map((p) => [p.permission, p.description]), [[entry, 'partner team']]);
  });

  it('signs the consumer in with its token and connects twice', async () => {
    const { page } = buyer;
    await page.goto(`${server.base}/console/#/endpoints`);
    await page.getByRole('radio', { name: 'Token' }).check();
    await page.getByLabel('Token', { exact: true }).and(page.locator('input[type=password]')).fill(consumer.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My endpoints' }).waitFor(WAIT);
    await page.locator('#who-text').filter({ hasText: `project ${consumer.project_id}` }).waitFor();
    await page.getByText('No endpoint yet').waitFor(WAIT);
    for (const description of ['first', 'second']) {
      await page.getByLabel('Endpoint service id').fill(serviceId);
      await page.getByLabel('Endpoint description (optional)').fill(`consumer's ${description}`);
      await page.getByRole('button', { name: 'Create endpoint' }).click();
      await page.getByRole('status').filter({ hasText: 'Created endpoint' }).waitFor(WAIT);
    }
    const rows = page.locator('#endpoints-table tbody tr');
    await rows.nth(1).waitFor(WAIT);
    // `creating` for a second, then `pendingAcceptance` without a click.
    await page.locator('#endpoints-table .badge', { hasText: 'pendingAcceptance' }).nth(1).waitFor(WAIT);
    for (const id of await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.id))) endpointIds.push(id);
    assert.equal(endpointIds.length, 2);
  });

  it('a refused connection is shown as the API said', async () => {
    const { page } = buyer;
    await page.getByLabel('Endpoint service id').fill('00000000-0000-0000-0000-000000000000');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.locator('#create-endpoint-error').filter({ hasText: 'EndPoint.2003' }).waitFor(WAIT);
  });

  it('the owner sees both connections, accepts them, filters by status', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await row(page, endpointIds[1]).waitFor(WAIT);
    let shown = await shownConnections(page);
    assert.deepEqual(shown.map((c) => c.status), ['pendingAcceptance', 'pendingAcceptance']);
    assert.ok(shown.every((c) => c.domain_id === consumer.domain_id && c.description === ''));
    for (const id of endpointIds) {
      await page.getByRole('button', { name: `Accept endpoint ${id}` }).click();
      await row(page, id).locator('.badge', { hasText: 'accepted' }).waitFor(WAIT);
    }
    await page.getByLabel('Show').selectOption('pendingAcceptance');
    await page.getByText('No connection is pendingAcceptance.').waitFor(WAIT);
    await page.getByLabel('Show').selectOption('accepted');
    await row(page, endpointIds[1]).waitFor(WAIT);
    shown = await shownConnections(page);
    assert.equal(shown.length, 2);
    await page.getByLabel('Show').selectOption('');
    await row(page, endpointIds[1]).waitFor(WAIT);
  });

  it('edits two descriptions inline: the refusal sits next to its field, then one request saves both', async () => {
    const { page } = owner;
    const [a, b] = endpointIds;
    const seedRequests = [];
    page.on('request', (r) => {
      if (r.method() === 'PUT' && r.url().endsWith('/connections/description')) seedRequests.push(r.postDataJSON());
    });
    await page.getByLabel(`Connection description of endpoint ${a}`).fill('billing team, ticket 42');
    await page.getByLabel(`Connection description of endpoint ${b}`).fill('search <beta>');
    await page.getByText('2 unsaved changes.').waitFor();
    await page.getByRole('button', { name: 'Save descriptions' }).click();
    const fieldError = row(page, b).locator('.field-error');
    await fieldError.filter({ hasText: "connections[1].description contains '<'" }).waitFor(WAIT);
    assert.equal(await row(page, a).locator('.field-error').textContent(), '');
    assert.equal(await page.getByLabel(`Connection description of endpoint ${b}`).getAttribute('aria-invalid'), 'true');
    await page.locator('#conn-form-error').filter({ hasText: 'Nothing was saved' }).waitFor();
    await shot(page, 'console-connections-refused.png');
    // All or nothing: neither was written.
    let r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}/connections?limit=1000`);
    assert.deepEqual(r.json.connections.map((c) => c.description), ['', '']);
    // The field with the error has the focus: correct it and press Enter.
    await page.keyboard.press('Control+A');
    await page.keyboard.type('search beta, équipe');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved 2 connection descriptions.' }).waitFor(WAIT);
    await page.getByText('No unsaved change.').waitFor();
    assert.equal(seedRequests.length, 2);
    assert.deepEqual(seedRequests[1], {
      connections: [{ id: a, description: 'billing team, ticket 42' }, { id: b, description: 'search beta, équipe' }],
    });
    r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}/connections?limit=1000`);
    const byId = new Map(r.json.connections.map((c) => [c.id, c.description]));
    assert.equal(byId.get(a), 'billing team, ticket 42');
    assert.equal(byId.get(b), 'search beta, équipe');
  });

  it('after a reload the descriptions are there; rejecting one keeps them', async () => {
    const { page } = owner;
    await page.reload();
    await page.getByRole('heading', { name: /^local-1\.web\./ }).waitFor(WAIT);
    await row(page, endpointIds[1]).waitFor(WAIT);
    assert.equal(await page.getByLabel(`Connection description of endpoint ${endpointIds[0]}`).inputValue(),
      'billing team, ticket 42');
    assert.equal(await page.getByLabel(`Connection description of endpoint ${endpointIds[1]}`).inputValue(),
      'search beta, équipe');
    await page.getByRole('button', { name: `Reject endpoint ${endpointIds[1]}` }).click();
    await row(page, endpointIds[1]).locator('.badge', { hasText: 'rejected' }).waitFor(WAIT);
    await page.getByRole('status').filter({ hasText: 'Rejected' }).waitFor(WAIT);
  });

  it('the API holds exactly what the page shows', async () => {
    const { page } = owner;
    const shown = await shownConnections(page);
    const r = await apiCall(server.base, server.owner, 'GET', `/vpc-endpoint-services/${serviceId}/connections?limit=1000`);
    assert.equal(r.status, 200);
    const when = (ts) => ts.replace('T', ' ').replace('Z', ' UTC');
    const api = r.json.connections.map((c) => ({
      id: c.id, marker_id: c.marker_id, status: c.status, domain_id: c.domain_id,
      created_at: when(c.created_at), updated_at: when(c.updated_at), description: c.description,
    }));
    assert.deepEqual(shown, api);
    assert.deepEqual(new Map(shown.map((c) => [c.id, c.status])), new Map([
      [endpointIds[0], 'accepted'], [endpointIds[1], 'rejected'],
    ]));
    // The services list counts what the service holds: one accepted connection.
    const list = await apiCall(server.base, server.owner, 'GET', '/vpc-endpoint-services');
    assert.equal(list.json.endpoint_services[0].connection_count, 1);
    const file = await shot(page, 'console-connections.png');
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(file, path.join(ROOT, 'docs/console-connections.png'));
    await page.getByRole('link', { name: 'My endpoint services' }).click();
    await page.locator('#services-table td', { hasText: '1 connected, 0 pending' }).waitFor(WAIT);
    await shot(page, 'console-services.png');
  });

  it('the consumer deletes an endpoint and sees it go by itself', async () => {
    const { page } = buyer;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await shot(page, 'console-endpoints.png');
    await page.getByRole('button', { name: `Delete endpoint ${endpointIds[1]}` }).click();
    const gone = page.locator(`#endpoints-table tbody tr[data-id="${endpointIds[1]}"]`);
    await gone.locator('.badge', { hasText: 'deleting' }).waitFor(WAIT);
    await gone.waitFor({ state: 'detached', ...WAIT });
    const r = await apiCall(server.base, consumer, 'GET', '/vpc-endpoints?limit=1000');
    assert.deepEqual(r.json.endpoints.map((e) => e.id), [endpointIds[0]]);
  });

  it('signs out, and the session is gone', async () => {
    const { page } = owner;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('vpcep-console-session')), null);
    await shot(page, 'console-signin.png');
  });

  it('nothing broke the rules: no script or CSP error, no other origin, no secret sent', () => {
    assert.deepEqual(owner.problems, []);
    assert.deepEqual(buyer.problems, []);
  });
});
