// New cluster and Edit against the real runtime: the server's dry run refuses a bad value at its field
// and nothing is created; a good one is created and becomes Ready; Edit scales it to 2 after showing
// the diff and that no restart is needed; the manifest editor shows the server's errors too; Delete.
import { expect, test, type Page } from '@playwright/test';
import { env, shots, logIn } from './runtime';

const name = 'orders';
const api = `/apis/stackgres.io/v1/namespaces/default/sgclusters/${name}`;

// The API as the browser reaches it (its session; Chromium trusts the runtime's CA, Node does not).
async function apiGet(page: Page): Promise<{ status: number; body: { spec?: { instances?: number } } }> {
  return page.evaluate(async (path) => {
    const response = await fetch(path, { cache: 'no-store' });
    return { status: response.status, body: (await response.json()) as { spec?: { instances?: number } } };
  }, api);
}

test('create a cluster from the form, scale it with Edit, delete it', async ({ page }) => {
  test.setTimeout(300_000);
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('new-cluster').click();
  await expect(page).toHaveURL(/\/ui\/new\/sgcluster$/);
  await page.getByTestId('input-name').fill(name);
  await page.getByTestId('input-version').fill('15');
  await page.getByTestId('input-volume').fill('ten gigs');
  await expect(page.getByTestId('apply')).toBeDisabled();
  await page.getByTestId('dry-run').click();
  // The server's message, at the field it names; nothing was created.
  await expect(page.getByTestId('error-volume')).toContainText('ten gigs');
  await expect(page.getByTestId('field-volume')).toHaveClass(/invalid/);
  await expect(page.getByTestId('apply')).toBeDisabled();
  await page.screenshot({ path: `${shots}/create-error.png`, fullPage: true });
  expect((await apiGet(page)).status).toBe(404);

  await page.getByTestId('input-volume').fill('1Gi');
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('dry-run-result')).toContainText('accepts this new cluster');
  await expect(page.getByTestId('error-volume')).toHaveCount(0);
  expect((await apiGet(page)).status).toBe(404);
  await page.screenshot({ path: `${shots}/create-form.png`, fullPage: true });
  await page.getByTestId('apply').click();
  await expect(page).toHaveURL(new RegExp(`/ui/namespaces/default/sgclusters/${name}$`));
  await expect(page.getByTestId('health')).toHaveText('Ready', { timeout: 180_000 });
  await expect(page.getByTestId(`member-${name}-0`)).toContainText('primary');

  // Edit: the manifest editor sends YAML as written; the server's error names the field.
  await page.getByTestId('action-edit').click();
  await expect(page).toHaveURL(new RegExp(`/sgclusters/${name}/edit$`));
  await expect(page.getByTestId('input-instances')).toHaveValue('1');
  await page.getByTestId('tab-editor').click();
  await page
    .getByTestId('manifest-text')
    .fill(
      `apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: ${name}\nspec:\n  instances: two\n` +
        `  postgres:\n    version: '15'\n  pods:\n    persistentVolume:\n      size: 1Gi\n`,
    );
  await page.getByTestId('dry-run').click();
  await expect(page.getByTestId('other-errors')).toContainText('spec.instances');
  await page.screenshot({ path: `${shots}/edit-manifest-error.png`, fullPage: true });
  // Back to the form: the stored manifest again (reloaded), scaled to 2 there.
  await page.reload();
  await expect(page.getByTestId('input-instances')).toHaveValue('1');
  await page.getByTestId('input-instances').fill('2');
  await page.getByTestId('dry-run').click();
  const diff = page.getByTestId('diff-spec.instances');
  await expect(diff).toContainText('1');
  await expect(diff).toContainText('2');
  await expect(page.getByTestId('diff').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('restart-not-required')).toBeVisible();
  await page.screenshot({ path: `${shots}/edit-diff.png`, fullPage: true });
  expect((await apiGet(page)).body.spec?.instances).toBe(1);
  await page.getByTestId('apply').click();
  await expect(page).toHaveURL(new RegExp(`/ui/namespaces/default/sgclusters/${name}$`));
  await expect(page.getByTestId(`member-${name}-1`)).toContainText('replica', { timeout: 180_000 });
  await expect(page.getByTestId('health')).toHaveText('Ready', { timeout: 120_000 });
  await expect(page.getByTestId('no-history')).toContainText('the first primary still leads');

  // Switchover to the chosen replica: the roles change, and the history says who asked and how long it took.
  await expect(page.getByTestId(`member-${name}-1`)).toContainText(/streaming|running/, { timeout: 60_000 });
  await page.getByTestId('action-switchover').click();
  await page.getByTestId('switchover-candidate').selectOption(`${name}-1`);
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('action-outcome')).toHaveText(`Switched over from ${name}-0 to ${name}-1.`, { timeout: 90_000 });
  await expect(page.getByTestId(`member-${name}-1`)).toContainText('primary');
  await expect(page.getByTestId(`member-${name}-0`)).toContainText('replica', { timeout: 60_000 });
  const switched = page.getByTestId('history').locator('tbody tr').first();
  await expect(switched).toContainText('switchover', { timeout: 30_000 });
  await expect(switched).toContainText(`${name}-0 → ${name}-1`);
  await expect(switched).toContainText(`user ${env('PGSTACK_ADMIN_USER')} (REST API)`);
  await expect(switched).toContainText(/\d+\.\d s/);
  await page.screenshot({ path: `${shots}/cluster-history.png`, fullPage: true });

  await page.getByTestId('action-delete').click();
  await page.getByTestId('confirm-typed').fill(name);
  await page.getByTestId('confirm-ok').click();
  await expect(page).toHaveURL(/\/ui\/$/);
  expect((await apiGet(page)).status).toBe(404);
});

test('a viewer cannot create or edit: the controls say which permission is missing', async ({ page }) => {
  await page.goto('/ui/');
  await page.getByTestId('username').fill(env('PGSTACK_VIEWER_USER'));
  await page.getByTestId('password').fill(env('PGSTACK_VIEWER_PASSWORD'));
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('new-cluster')).toBeDisabled();
  await expect(page.getByTestId('new-cluster-missing')).toHaveText('needs create sgclusters in namespace "default"');
  await page.goto(`/ui/namespaces/default/sgclusters/${process.env['PGSTACK_CLUSTER'] ?? 'demo'}/edit`);
  await expect(page.getByTestId('input-instances')).toHaveValue(/\d/);
  await expect(page.getByTestId('dry-run')).toBeDisabled();
  await expect(page.getByTestId('dry-run-missing')).toHaveText('needs update sgclusters in namespace "default"');
});
