// What every spec needs from the runtime tests/integration/console starts: its environment, where the
// screenshots go, and logging in through the login page.
import { expect, type Page } from '@playwright/test';

export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these through ctest (console_e2e)`);
  return value;
};
export const cluster = process.env['PGSTACK_CLUSTER'] ?? 'demo';
export const shots = `${process.env['PGSTACK_E2E_OUTPUT'] ?? 'test-results'}/screenshots`;
export const clusterLink = `/ui/namespaces/default/sgclusters/${cluster}`;

export async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto('/ui/');
  await expect(page).toHaveURL(/\/ui\/login$/);
  await page.getByTestId('username').fill(user);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('who')).toContainText(user);
}
