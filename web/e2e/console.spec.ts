// The console against a real runtime: an admin's overview and cluster page, a viewer's disabled
// controls (and the API refusing them anyway), a deep link under the controller's CSP.
import { expect, test } from '@playwright/test';
import { env, cluster, shots, clusterLink, logIn } from './runtime';

test('an admin sees the overview, the cluster page with its members, and logs out', async ({ page }) => {
  // A visitor who has not logged in gets the login page without asking the API (no 401 in the console).
  const beforeLogin: string[] = [];
  const watch = (message: { type(): string; text(): string }) => {
    if (message.type() === 'error' || message.type() === 'warning') beforeLogin.push(`${message.type()}: ${message.text()}`);
  };
  page.on('console', watch);
  await page.goto('/ui/');
  await expect(page.getByTestId('login-form')).toBeVisible();
  page.off('console', watch);
  expect(beforeLogin).toEqual([]);
  await page.screenshot({ path: `${shots}/login.png` });
  await page.getByTestId('username').fill(env('PGSTACK_ADMIN_USER'));
  await page.getByTestId('password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText('Wrong user name or password.');

  // From the keyboard: Enter in the password field submits.
  await page.getByTestId('password').fill(env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('password').press('Enter');
  const row = page.getByTestId(`cluster-${cluster}`);
  await expect(row.getByTestId('health')).toHaveText('Ready');
  await expect(row.getByTestId('members-count')).toHaveText('1/1');
  await expect(row).toContainText(`${cluster}-0`);
  await expect(row).toContainText('15.');
  await page.screenshot({ path: `${shots}/overview.png` });
  // Times in UTC by default, or in the browser's zone; the choice is kept.
  await expect(page.getByTestId('updated')).toContainText(' UTC,');
  await page.getByTestId('time-zone').click();
  await expect(page.getByTestId('time-zone')).toHaveText('Local time');
  await expect(page.getByTestId('updated')).toContainText(/ UTC[+-]\d\d:\d\d,/);
  await page.getByTestId('time-zone').click();
  await expect(page.getByTestId('time-zone')).toHaveText('UTC');

  await row.getByRole('link', { name: cluster }).click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}$`));
  const member = page.getByTestId(`member-${cluster}-0`);
  await expect(member).toContainText('primary');
  await expect(member).toContainText('running');
  await expect(page.getByTestId('condition-Ready')).toContainText('True');
  // The figures the leading controller reads from Prometheus (console_e2e runs one); a primary has no lag.
  await expect(page.getByTestId('cluster-figures')).toHaveText(/^\d+\.\d transactions\/s · \d+ of \d+ connections$/);
  await expect(page.getByTestId(`lag-seconds-${cluster}-0`)).toHaveText('–');
  for (const action of ['switchover', 'restart', 'delete']) await expect(page.getByTestId(`action-${action}`)).toBeEnabled();
  await expect(page.getByTestId('uri-0')).toContainText('postgresql://');
  await expect(page.getByTestId('uri-0')).not.toContainText('@');
  await page.getByTestId('reveal-password').click();
  await expect(page.getByTestId('uri-0')).toContainText('@');
  await page.getByTestId('hide-password').click();
  await expect(page.getByTestId('uri-0')).not.toContainText('@');

  // Delete asks for the cluster's name before it can be confirmed; cancelled here.
  await page.getByTestId('action-delete').click();
  await expect(page.getByTestId('confirm-ok')).toBeDisabled();
  await page.getByTestId('confirm-typed').fill(cluster);
  await expect(page.getByTestId('confirm-ok')).toBeEnabled();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.screenshot({ path: `${shots}/cluster.png`, fullPage: true });

  await page.getByTestId('logout').click();
  await expect(page.getByTestId('login-form')).toBeVisible();
  await page.goto(clusterLink);
  await expect(page).toHaveURL(/\/ui\/login$/);

  // A session that ended elsewhere (here: logged out through the API behind the page's back) brings the
  // login page back on the next load, and the deep link is kept for after the login.
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  const loggedOut = await page.evaluate(async () => {
    const answer = await fetch('/auth/logout', { method: 'POST', headers: { 'X-Pgstack-Csrf': '1' }, credentials: 'same-origin' });
    return answer.status;
  });
  expect(loggedOut).toBe(200);
  await page.goto(clusterLink);
  await expect(page).toHaveURL(/\/ui\/login$/);
  await page.getByTestId('username').fill(env('PGSTACK_ADMIN_USER'));
  await page.getByTestId('password').fill(env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}$`));
});

test('a viewer sees disabled controls naming the missing permission, and the API refuses anyway', async ({ page }) => {
  await logIn(page, env('PGSTACK_VIEWER_USER'), env('PGSTACK_VIEWER_PASSWORD'));
  await expect(page.getByTestId(`cluster-${cluster}`).getByTestId('health')).toHaveText('Ready');
  await page.goto(clusterLink);
  await expect(page.getByTestId(`member-${cluster}-0`)).toContainText('primary');
  const missing = {
    'action-switchover': 'create sgclusters/switchover in namespace "default"',
    'action-restart': 'create sgclusters/restart in namespace "default"',
    'action-delete': 'delete sgclusters in namespace "default"',
    'reveal-password': 'get sgclusters/credentials in namespace "default"',
  };
  for (const [control, permission] of Object.entries(missing)) {
    await expect(page.getByTestId(control)).toBeDisabled();
    await expect(page.getByTestId(`${control}-missing`)).toHaveText(`needs ${permission}`);
  }
  await expect(page.getByTestId('uri-0')).not.toContainText('@');
  await page.screenshot({ path: `${shots}/cluster-viewer.png`, fullPage: true });

  // The same requests the buttons would send, with the viewer's session: refused by the server.
  const refused = await page.evaluate(async (path) => {
    const headers = { 'X-Pgstack-Csrf': '1' };
    const switchover = await fetch(`${path}/switchover`, { method: 'POST', headers });
    const credentials = await fetch(`${path}/credentials`);
    return { switchover: switchover.status, body: await switchover.json(), credentials: credentials.status };
  }, `/apis/stackgres.io/v1/namespaces/default/sgclusters/${cluster}`);
  expect(refused.switchover).toBe(403);
  expect(refused.body.missingPermission).toEqual({ verb: 'create', resource: 'sgclusters/switchover', namespace: 'default' });
  expect(refused.credentials).toBe(403);
});

test('a deep link loads under the CSP with no console errors, at phone width and in dark mode', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const login = await context.newPage();
  await logIn(login, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await login.close();

  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const assets: { url: string; cacheControl: string }[] = [];
  page.on('response', (answer) => {
    if (answer.url().includes('/ui/assets/')) assets.push({ url: answer.url(), cacheControl: answer.headers()['cache-control'] ?? '' });
  });
  const response = await page.goto(clusterLink);
  expect(response?.status()).toBe(200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe');
  expect(response?.headers()['x-content-type-options']).toBe('nosniff');
  expect(response?.headers()['cache-control']).toBe('no-cache');
  await expect(page.getByTestId('cluster-name')).toHaveText(cluster);
  await expect(page.getByTestId(`member-${cluster}-0`)).toContainText('primary');
  await page.screenshot({ path: `${shots}/cluster-phone-dark.png`, fullPage: true });
  await page.reload();
  await expect(page.getByTestId(`member-${cluster}-0`)).toContainText('primary');
  expect(problems).toEqual([]);
  // Vite's hashed script and stylesheet are cached for good; index.html is revalidated (above).
  expect(assets.length).toBeGreaterThanOrEqual(2);
  for (const asset of assets) expect(asset.cacheControl, asset.url).toBe('public, max-age=31536000, immutable');

  // At phone width no page is wider than the screen (the header once was, by 100 px, and a restore's
  // manifest): wide tables and text scroll in their own boxes.
  for (const path of [clusterLink, `${clusterLink}/backups`, `${clusterLink}/restore`, `${clusterLink}/metrics`, `${clusterLink}/operations`, '/ui/configurations', '/ui/admin/users', '/ui/new/sgcluster']) {
    await page.goto(path);
    await expect(page.locator('h1')).toBeVisible();
    await page.waitForLoadState('networkidle');
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
  }
  await context.close();
});
