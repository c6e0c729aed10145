// The Logs and Backups pages against a real runtime (tests/integration/console): the cluster ships its
// logs to a log store and backs up to a filesystem repository. The C++ part ran a query that failed with
// a marker (PGSTACK_LOG_MARKER) before these start.
import { expect, test } from '@playwright/test';
import { env, cluster, shots, clusterLink, logIn } from './runtime';

test('the Logs page finds a failed query by text and severity, shows its details, and follows new lines', async ({ page }) => {
  const marker = env('PGSTACK_LOG_MARKER');
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.goto(clusterLink);
  await page.getByTestId('link-logs').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/logs(\\?.*)?$`));
  // The newest lines of the last hour come first, without any filter.
  await expect(page.getByTestId('log-line').first()).toBeVisible();

  await page.getByTestId('log-text').fill(marker);
  await page.getByTestId('log-level').selectOption('error');
  await page.getByTestId('log-search').click();
  const lines = page.getByTestId('log-line');
  await expect(lines).toHaveCount(1);
  await expect(lines.first().getByTestId('log-severity')).toHaveText('ERROR');
  await expect(lines.first().getByTestId('log-message')).toHaveText(`relation "${marker}" does not exist`);
  await expect(lines.first()).toContainText(`${cluster}-0 primary`);
  await expect(lines.first()).toContainText('postgres');
  await expect(lines.first()).toContainText('42P01');
  // The search is in the URL: a reload asks the same.
  await expect(page).toHaveURL(new RegExp(`text=${marker}`));
  await lines.first().getByTestId('log-expand').click();
  await expect(page.getByTestId('log-details')).toContainText(`SELECT * FROM ${marker}`);
  await expect(page.getByTestId('log-details')).toContainText('42P01');
  await page.screenshot({ path: `${shots}/logs.png`, fullPage: true });

  // A severity the line is below finds nothing; the text alone finds it again.
  await page.getByTestId('log-level').selectOption('fatal');
  await page.getByTestId('log-search').click();
  await expect(page.getByTestId('no-log-lines')).toBeVisible();
  await expect(lines).toHaveCount(0);

  // Postgres's own fields: its SQLSTATE (any case) and the primary's role find it without the text; the
  // replicas' role does not.
  await page.getByTestId('log-level').selectOption('');
  await page.getByTestId('log-text').fill('');
  await page.getByTestId('log-sqlstate').fill('42p01');
  await page.getByTestId('log-role').selectOption('primary');
  await page.getByTestId('log-search').click();
  await expect(page).toHaveURL(/sqlState=42p01/);
  await expect(lines.filter({ hasText: marker })).toHaveCount(1);
  await page.getByTestId('log-role').selectOption('replica');
  await page.getByTestId('log-search').click();
  await expect(lines.filter({ hasText: marker })).toHaveCount(0);
  await page.getByTestId('log-role').selectOption('');
  await page.getByTestId('log-sqlstate').fill('');

  // Following Patroni's lines (it logs every loop, 2 s): newer lines arrive on top without a search.
  await page.getByTestId('log-type').selectOption('patroni');
  await page.getByTestId('log-member').selectOption(`${cluster}-0`);
  await page.getByTestId('log-search').click();
  await expect(lines.first()).toContainText('patroni');
  const newestBefore = await lines.first().locator('.log-time').textContent();
  await page.getByTestId('log-follow').click();
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'true');
  await expect(lines.first().locator('.log-time')).not.toHaveText(newestBefore ?? '', { timeout: 30_000 });
  await expect(lines.first()).toContainText('patroni');
  await page.getByTestId('log-follow').click();
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'false');

  // The host's own lines (the agent's about this cluster) under the host's name, offered beside the members.
  await page.getByTestId('log-type').selectOption('agent');
  await page.getByTestId('log-member').selectOption('e2e-host');
  await expect(page.getByTestId('log-member').locator('option:checked')).toHaveText('e2e-host (host: proxy, agent)');
  await page.getByTestId('log-search').click();
  await expect(lines.first()).toContainText('e2e-host');
  await expect(lines.filter({ hasNotText: 'e2e-host' })).toHaveCount(0);

  // From a line's details to every line of its session: the failed query's session holds it.
  await page.getByTestId('log-type').selectOption('');
  await page.getByTestId('log-member').selectOption('');
  await page.getByTestId('log-text').fill(marker);
  await page.getByTestId('log-search').click();
  await expect(lines).toHaveCount(1);
  await lines.first().getByTestId('log-expand').click();
  await page.getByTestId('log-session-lines').click();
  await expect(page).toHaveURL(/session=[0-9a-f]+\.[0-9a-f]+/);
  await expect(page.getByTestId('log-session')).toHaveValue(/^[0-9a-f]+\.[0-9a-f]+$/);
  await expect(page.getByTestId('log-text')).toHaveValue('');
  await expect(lines.filter({ hasText: marker })).toHaveCount(1);
  await expect(lines.filter({ hasNotText: 'postgres' })).toHaveCount(0);
});

test('a backup taken from the Backups page completes and is verified', async ({ page }) => {
  test.setTimeout(180_000);
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.goto(clusterLink);
  await page.getByTestId('link-backups').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/backups$`));
  await expect(page.getByTestId('backup-facts')).toContainText('SGObjectStorage disk');

  await page.getByTestId('backup-type').selectOption('full');
  await page.getByTestId('backup-now').click();
  await expect(page.getByTestId('backup-outcome')).toContainText('requested');
  const outcome = (await page.getByTestId('backup-outcome').textContent()) ?? '';
  const name = /Backup (\S+) requested/.exec(outcome)?.[1];
  expect(name, outcome).toMatch(new RegExp(`^${cluster}-\\d{14}(-\\d)?$`));
  const row = page.getByTestId(`backup-${name}`);
  await expect(row.getByTestId('backup-phase')).toHaveText('Completed', { timeout: 120_000 });
  await expect(row).toContainText('full');
  await expect(row).toContainText('timeline 1');
  await expect(row).toContainText(/LSN \d+\/[0-9A-F]+ … \d+\/[0-9A-F]+/);
  await expect(row).toContainText(/MiB/);
  // Every backup is verified by a restore into a scratch instance.
  await expect(row.getByTestId('verification-phase')).toHaveText('Passed', { timeout: 120_000 });
  await expect(row).toContainText('usable after');
  await expect(page.getByTestId('archiving')).toContainText('archived');
  await page.screenshot({ path: `${shots}/backups.png`, fullPage: true });

  // Verify again on request: the API accepts it and the row shows it waiting or running.
  await row.getByTestId('backup-verify').click();
  await expect(page.getByTestId('backup-outcome')).toBeVisible();
  await expect(row.getByTestId('verification-phase')).toHaveText(/Pending|Running/);
  await expect(row.getByTestId('backup-verify')).toBeDisabled();
});

test('a viewer reads logs and backups but cannot take or verify a backup, and the API refuses anyway', async ({ page }) => {
  await logIn(page, env('PGSTACK_VIEWER_USER'), env('PGSTACK_VIEWER_PASSWORD'));
  await page.goto(`${clusterLink}/logs?since=1h&level=error&text=${env('PGSTACK_LOG_MARKER')}`);
  await expect(page.getByTestId('log-line')).toHaveCount(1);

  await page.goto(`${clusterLink}/backups`);
  await expect(page.getByTestId('backups')).toBeVisible();
  await expect(page.getByTestId('backup-now')).toBeDisabled();
  await expect(page.getByTestId('backup-now-missing')).toHaveText('needs create sgbackups in namespace "default"');
  await expect(page.getByTestId('verify-missing')).toHaveText('Verify needs create sgbackups/verify in namespace "default"');
  for (const button of await page.getByTestId('backup-verify').all()) await expect(button).toBeDisabled();
  await page.screenshot({ path: `${shots}/backups-viewer.png`, fullPage: true });

  const refused = await page.evaluate(async (cluster) => {
    const headers = { 'X-Pgstack-Csrf': '1', 'Content-Type': 'application/json' };
    const body = JSON.stringify({ apiVersion: 'stackgres.io/v1', kind: 'SGBackup', metadata: { name: `${cluster}-viewer` }, spec: { sgCluster: cluster } });
    const created = await fetch('/apis/stackgres.io/v1/namespaces/default/sgbackups', { method: 'POST', headers, body });
    return { status: created.status, body: await created.json() };
  }, cluster);
  expect(refused.status).toBe(403);
  expect(refused.body.missingPermission).toEqual({ verb: 'create', resource: 'sgbackups', namespace: 'default' });
});
