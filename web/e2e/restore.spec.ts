// A point-in-time restore from the console against the real runtime: rows written before and after a
// moment, the wizard shows the window that can be reached and refuses a time outside it, restores to that
// moment into a new cluster, which becomes Ready with exactly the rows written before it. The rows are
// written and read with psql (the browser cannot speak the Postgres protocol); everything else is the UI.
import { expect, test, type Page } from '@playwright/test';
import { env, shots, cluster, clusterLink, connectionUri, logIn, sql } from './runtime';

const restored = `${cluster}-pitr`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('restore to a point in time into a new cluster from the Backups page', async ({ page }) => {
  test.setTimeout(300_000);
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  const source = await connectionUri(page, cluster, 'primary');
  sql(source, 'CREATE TABLE e2e_restore (id int PRIMARY KEY); INSERT INTO e2e_restore SELECT generate_series(1, 3)');
  await pause(1500);
  const moment = sql(source, `SELECT to_char(date_trunc('second', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);
  await pause(1500);
  sql(source, 'INSERT INTO e2e_restore SELECT generate_series(4, 6)');

  await page.goto(`${clusterLink}/backups`);
  await page.getByTestId('restore-wizard').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/restore$`));
  await expect(page.getByTestId('recovery-window')).toContainText('now: a restore has the primary switch');
  // A time before the oldest backup cannot be chosen: no manifest, nothing to press.
  await page.getByTestId('target-at').fill('2000-01-01T00:00:00Z');
  await expect(page.getByTestId('target-problem')).toContainText('before the oldest backup finished');
  await expect(page.getByTestId('dry-run')).toBeDisabled();

  await page.getByTestId('restore-name').fill(restored);
  await page.getByTestId('target-at').fill(moment);
  await expect(page.getByTestId('target-problem')).toHaveCount(0);
  await expect(page.getByTestId('restore-manifest')).toContainText(`"restoreToTimestamp": "${moment}"`);
  await expect(page.getByTestId('restore')).toBeDisabled();
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('restore-accepted')).toBeVisible();
  await page.screenshot({ path: `${shots}/restore.png`, fullPage: true });
  await page.getByTestId('restore').click();

  await expect(page).toHaveURL(new RegExp(`/ui/namespaces/default/sgclusters/${restored}$`));
  await expect(page.getByTestId('health')).toHaveText('Ready', { timeout: 240_000 });
  const copy = await connectionUri(page, restored, 'primary');
  expect(sql(copy, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM e2e_restore')).toBe('1,2,3');
  // Its history begins with the restore's end (from the backup, at the target Postgres reached), not a failover.
  const first = page.getByTestId('history').locator('tbody tr').last();
  await expect(first).toContainText('restore', { timeout: 30_000 });
  await expect(first).toContainText('backup ');
  await expect(first).toContainText('stopped replaying WAL at its target');

  // Done: the copy goes (its data directory stays on the host, as for every deleted cluster).
  await page.getByTestId('action-delete').click();
  await page.getByTestId('confirm-typed').fill(restored);
  await page.getByTestId('confirm-ok').click();
  await expect(page).toHaveURL(/\/ui\/$/);
  sql(source, 'DROP TABLE e2e_restore');
});
