// The other kinds against the real runtime: an SGPostgresConfig created from the manifest editor (the
// server's dry run refuses a bad value first, and nothing is stored), edited with the diff shown, deleted;
// an object storage a cluster uses cannot be deleted and the page says who uses it; a Secret shows its key
// names, never a value; a viewer's controls are disabled and the API refuses them anyway.
import { expect, test, type Page } from '@playwright/test';
import { env, shots, logIn } from './runtime';

const config = '/apis/stackgres.io/v1/namespaces/default/sgpgconfigs/e2e-tuned';

async function status(page: Page, path: string, method = 'GET'): Promise<number> {
  return page.evaluate(
    async ({ path, method }) => (await fetch(path, { method, cache: 'no-store', headers: { 'X-Pgstack-Csrf': '1' } })).status,
    { path, method },
  );
}

const manifest = (workMem: string) => `apiVersion: stackgres.io/v1
kind: SGPostgresConfig
metadata:
  name: e2e-tuned
spec:
  postgresVersion: "15"
  postgresql.conf:
    work_mem: ${workMem}
`;

test('an admin creates, edits and deletes an SGPostgresConfig and a Secret', async ({ page }) => {
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('nav-configurations').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await expect(page.getByTestId('kind-sgobjectstorages')).toContainText('disk');

  await page.getByTestId('new-sgpgconfigs').click();
  await expect(page).toHaveURL(/\/ui\/namespaces\/default\/sgpgconfigs\/new$/);
  await page.getByTestId('manifest-text').fill(manifest('lots'));
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('other-errors')).toContainText('work_mem');
  await expect(page.getByTestId('apply')).toBeDisabled();
  expect(await status(page, config)).toBe(404);
  await page.screenshot({ path: `${shots}/configuration-error.png`, fullPage: true });

  await page.getByTestId('manifest-text').fill(manifest('32MB'));
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('dry-run-result')).toContainText('accepts this new SGPostgresConfig');
  expect(await status(page, config)).toBe(404);
  await page.getByTestId('apply').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await page.getByTestId('sgpgconfigs-e2e-tuned').getByRole('link', { name: 'e2e-tuned' }).click();
  await expect(page).toHaveURL(/\/sgpgconfigs\/e2e-tuned\/edit$/);
  const stored = await page.getByTestId('manifest-text').inputValue();
  expect(stored).toContain('"32MB"');
  await page.getByTestId('manifest-text').fill(stored.replace('"32MB"', '"64MB"'));
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('diff')).toContainText('work_mem');
  await expect(page.getByTestId('diff')).toContainText('64MB');
  await page.screenshot({ path: `${shots}/configuration-edit.png`, fullPage: true });
  await page.getByTestId('apply').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await page.getByTestId('sgpgconfigs-e2e-tuned').getByRole('link', { name: 'e2e-tuned' }).click();
  await expect(page.getByTestId('manifest-text')).toHaveValue(/"64MB"/);
  await page.getByTestId('delete').click();
  await page.getByTestId('confirm-typed').fill('e2e-tuned');
  await page.getByTestId('confirm-ok').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await expect(page.getByTestId('sgpgconfigs-e2e-tuned')).toHaveCount(0);
  expect(await status(page, config)).toBe(404);

  // The storage the demo cluster backs up to: the server refuses, naming the cluster.
  await page.getByTestId('sgobjectstorages-disk').getByRole('link', { name: 'disk' }).click();
  await page.getByTestId('delete').click();
  await page.getByTestId('confirm-typed').fill('disk');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('error')).toContainText('demo');
  expect(await status(page, '/apis/stackgres.io/v1beta1/namespaces/default/sgobjectstorages/disk')).toBe(200);

  // A Secret: key names listed, the value never on a page.
  await page.getByTestId('nav-configurations').click();
  await page.getByTestId('new-secrets').click();
  await page.getByTestId('input-name').fill('e2e-keys');
  await page.getByTestId('secret-key-0').fill('accessKeyId');
  await page.getByTestId('secret-value-0').fill('e2e-secret-value-1');
  await page.getByTestId('apply').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await expect(page.getByTestId('secrets-e2e-keys')).toContainText('accessKeyId');
  await page.screenshot({ path: `${shots}/configurations.png`, fullPage: true });
  expect(await page.content()).not.toContain('e2e-secret-value-1');
  await page.getByTestId('secrets-e2e-keys').getByRole('link', { name: 'e2e-keys' }).click();
  await expect(page.getByTestId('secret-key-0')).toHaveValue('accessKeyId');
  await expect(page.getByTestId('secret-value-0')).toHaveValue('');
  await page.getByTestId('delete').click();
  await page.getByTestId('confirm-typed').fill('e2e-keys');
  await page.getByTestId('confirm-ok').click();
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await expect(page.getByTestId('secrets-e2e-keys')).toHaveCount(0);
});

test('a viewer sees the configurations but may not change them', async ({ page }) => {
  await logIn(page, env('PGSTACK_VIEWER_USER'), env('PGSTACK_VIEWER_PASSWORD'));
  await page.getByTestId('nav-configurations').click();
  await expect(page.getByTestId('kind-sgobjectstorages')).toContainText('disk');
  await expect(page.getByTestId('new-sgpgconfigs')).toBeDisabled();
  await expect(page.getByTestId('new-sgpgconfigs-missing')).toContainText('create sgpgconfigs');
  await page.getByTestId('sgobjectstorages-disk').getByRole('link', { name: 'disk' }).click();
  await expect(page.getByTestId('delete')).toBeDisabled();
  await expect(page.getByTestId('dry-run')).toBeDisabled();
  expect(await status(page, '/apis/stackgres.io/v1beta1/namespaces/default/sgobjectstorages/disk', 'DELETE')).toBe(403);
});
