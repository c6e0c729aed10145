// Day-2 operations from the cluster page against the real runtime: a bad value is refused by the server at
// its field; a vacuum and a short pgbench benchmark run to Completed with their results on the page; a
// viewer cannot ask for one, and the API refuses them anyway.
import { expect, test } from '@playwright/test';
import { env, shots, clusterLink, logIn } from './runtime';

test('an admin runs a vacuum and a benchmark and sees their results', async ({ page }) => {
  test.setTimeout(240_000);
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.goto(clusterLink);
  await page.getByTestId('link-operations').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/operations$`));

  await page.getByTestId('op-kind').selectOption('vacuum');
  await page.getByTestId('op-submit').click();
  await expect(page.getByTestId('op-queued')).toContainText('-vacuum-');
  const vacuum = page.getByTestId('operations').locator('tbody tr', { hasText: 'vacuum' }).first();
  await expect(vacuum.getByTestId('op-state')).toHaveText('Completed', { timeout: 90_000 });
  await expect(vacuum.getByTestId('op-result')).toContainText('postgres');

  await page.getByTestId('op-kind').selectOption('benchmark');
  await page.getByTestId('op-duration').fill('five seconds');
  await page.getByTestId('op-submit').click();
  await expect(page.getByTestId('other-errors')).toContainText('duration');
  await page.getByTestId('op-duration').fill('PT5S');
  await page.getByTestId('op-clients').fill('2');
  await page.getByTestId('op-databaseSize').fill('16Mi');
  await page.getByTestId('op-submit').click();
  await expect(page.getByTestId('op-queued')).toContainText('-benchmark-');
  const benchmark = page.getByTestId('operations').locator('tbody tr', { hasText: 'benchmark' }).first();
  await expect(benchmark.getByTestId('op-state')).toHaveText('Completed', { timeout: 150_000 });
  await expect(benchmark.getByTestId('op-result')).toContainText(/\d+ tps, latency p50 [\d.]+ ms/);
  await page.screenshot({ path: `${shots}/operations.png`, fullPage: true });
});

test('a viewer sees the operations but cannot ask for one', async ({ page }) => {
  await logIn(page, env('PGSTACK_VIEWER_USER'), env('PGSTACK_VIEWER_PASSWORD'));
  await page.goto(`${clusterLink}/operations`);
  await expect(page.getByTestId('operations')).toContainText('vacuum');
  await expect(page.getByTestId('op-submit')).toBeDisabled();
  await expect(page.getByTestId('op-submit-missing')).toContainText('create sgdbops');
  const refused = await page.evaluate(async () => {
    const response = await fetch('/apis/stackgres.io/v1/namespaces/default/sgdbops', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Pgstack-Csrf': '1' },
      body: JSON.stringify({ apiVersion: 'stackgres.io/v1', kind: 'SGDbOps', metadata: { name: 'sneaky' }, spec: { sgCluster: 'demo', op: 'vacuum' } }),
    });
    return response.status;
  });
  expect(refused).toBe(403);
});
