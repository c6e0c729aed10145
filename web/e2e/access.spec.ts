// Users, tokens and the audit trail against the real runtime: an admin makes a user, changes its roles,
// sees a server refusal, makes a token that is shown once and revokes it, finds all of it in the audit
// trail, deletes the user; a viewer manages only their own tokens and the API refuses the rest.
import { expect, test, type Page } from '@playwright/test';
import { env, shots, logIn } from './runtime';

async function status(page: Page, path: string): Promise<number> {
  return page.evaluate(async (path) => (await fetch(path, { cache: 'no-store' })).status, path);
}

test('an admin manages a user, a token, and reads the audit trail', async ({ page }) => {
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('nav-access').click();
  await expect(page).toHaveURL(/\/ui\/admin\/users$/);
  await expect(page.getByTestId(`user-${env('PGSTACK_VIEWER_USER')}`)).toContainText('viewer in default');

  // The server's rule (12 bytes at least) comes back as its message; no user is made.
  await page.getByTestId('new-user-name').fill('otto');
  await page.getByTestId('new-user-password').fill('short');
  await page.getByTestId('new-user-roles').fill('operator in default');
  await page.getByTestId('new-user-submit').click();
  await expect(page.getByTestId('error')).toContainText('password');
  expect(await status(page, '/apis/pgstack.io/v1/users/otto')).toBe(404);
  // A role that does not exist is caught before anything is sent.
  await page.getByTestId('new-user-password').fill('otto-password-123');
  await page.getByTestId('new-user-roles').fill('boss in default');
  await page.getByTestId('new-user-submit').click();
  await expect(page.getByTestId('error')).toContainText('boss in default');
  await page.getByTestId('new-user-roles').fill('operator in default');
  await page.getByTestId('new-user-submit').click();
  await expect(page.getByTestId('users-outcome')).toContainText('User otto created');
  await expect(page.getByTestId('user-otto')).toContainText('operator in default');

  await page.getByTestId('edit-roles-otto').click();
  await page.getByTestId('roles-input').fill('viewer in default, viewer in staging');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('user-otto')).toContainText('viewer in default, viewer in staging');
  await page.screenshot({ path: `${shots}/access-users.png`, fullPage: true });

  // A token: its secret once, then only its id.
  await page.getByTestId('admin-tokens').click();
  await page.getByTestId('token-description').fill('e2e token');
  await page.getByTestId('token-create').click();
  await expect(page.getByTestId('token-text')).toHaveText(/^pgs_[0-9a-f]{16}_/);
  const token = (await page.getByTestId('token-text').textContent()) ?? '';
  const id = token.split('_')[1] ?? '';
  await expect(page.getByTestId(`token-${id}`)).toContainText('e2e token');
  await page.screenshot({ path: `${shots}/access-tokens.png`, fullPage: true });
  await page.reload();
  await expect(page.getByTestId(`token-${id}`)).toContainText('e2e token');
  expect(await page.content()).not.toContain(token);
  await page.getByTestId(`revoke-${id}`).click();
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId(`token-${id}`)).toHaveCount(0);

  await page.getByTestId('admin-users').click();
  await page.getByTestId('delete-user-otto').click();
  await page.getByTestId('confirm-typed').fill('otto');
  await page.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('user-otto')).toHaveCount(0);

  // Everything above is in the audit trail, the refused creation too.
  await page.getByTestId('admin-audit').click();
  await page.getByTestId('audit-filter').fill('/users');
  await expect(page.getByTestId('audit')).toContainText('POST /apis/pgstack.io/v1/users');
  await expect(page.getByTestId('audit')).toContainText('DELETE /apis/pgstack.io/v1/users/otto');
  await page.getByTestId('audit-refused').check();
  await expect(page.getByTestId('audit')).toContainText('422');
  await expect(page.getByTestId('audit')).not.toContainText('DELETE /apis/pgstack.io/v1/users/otto');
  await page.getByTestId('audit-refused').uncheck();
  await page.getByTestId('audit-filter').fill('');
  await page.screenshot({ path: `${shots}/access-audit.png` });
});

test('a viewer manages their own tokens only', async ({ page }) => {
  await logIn(page, env('PGSTACK_VIEWER_USER'), env('PGSTACK_VIEWER_PASSWORD'));
  await expect(page.getByTestId('nav-access')).toHaveText('Tokens');
  await page.getByTestId('nav-access').click();
  await expect(page).toHaveURL(/\/ui\/admin\/tokens$/);
  await expect(page.getByTestId('tokens-all')).toHaveCount(0);
  await page.goto('/ui/admin/users');
  await expect(page.getByTestId('users-not-allowed')).toContainText('list users');
  await page.goto('/ui/admin/audit');
  await expect(page.getByTestId('audit-not-allowed')).toContainText('list audit');
  expect(await status(page, '/apis/pgstack.io/v1/users')).toBe(403);
  expect(await status(page, '/apis/pgstack.io/v1/audit')).toBe(403);
  expect(await status(page, '/apis/pgstack.io/v1/tokens?all=true')).toBe(403);
});
