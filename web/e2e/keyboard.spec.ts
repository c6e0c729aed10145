// The console from the keyboard alone: log in, reach a cluster, open and dismiss a dialog, move between
// its pages, and every control reached this way shows a focus ring. No mouse event is sent.
import { expect, test, type Page } from '@playwright/test';
import { env, cluster, shots, clusterLink } from './runtime';

// Presses Tab until the focused element matches, at most `limit` times; returns what it pressed through.
async function tabTo(page: Page, matches: (element: { tag: string; text: string; testId: string }) => boolean, limit = 40) {
  for (let presses = 0; presses < limit; ++presses) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      return {
        tag: element?.tagName.toLowerCase() ?? '',
        text: (element?.textContent ?? '').trim(),
        testId: element?.getAttribute('data-testid') ?? '',
        outline: element ? getComputedStyle(element).outlineStyle : 'none',
      };
    });
    // A keyboard user must see where they are.
    if (focused.tag !== 'body') expect(focused.outline, `${focused.tag} "${focused.text}" has no focus ring`).not.toBe('none');
    if (matches(focused)) return;
  }
  throw new Error(`nothing matching was reached in ${limit} presses of Tab`);
}

test('log in, reach a cluster, open and dismiss a dialog, and change pages with the keyboard only', async ({ page }) => {
  await page.goto('/ui/');
  await expect(page.getByTestId('username')).toBeFocused(); // the login form starts in the user name
  await page.keyboard.type(env('PGSTACK_ADMIN_USER'));
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('password')).toBeFocused();
  await page.keyboard.type(env('PGSTACK_ADMIN_PASSWORD'));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('who')).toContainText(env('PGSTACK_ADMIN_USER'));

  await tabTo(page, (element) => element.tag === 'a' && element.text === cluster);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`${clusterLink}$`));

  // A dialog traps the focus and Escape dismisses it, leaving the cluster as it was.
  await tabTo(page, (element) => element.testId === 'action-delete');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await expect(page.getByTestId('confirm-typed')).toBeFocused();
  await page.screenshot({ path: `${shots}/keyboard-dialog.png` });
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0);
  await expect(page.getByTestId('cluster-name')).toHaveText(cluster);

  await tabTo(page, (element) => element.testId === 'link-backups');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/backups$`));
  await tabTo(page, (element) => element.tag === 'a' && element.text === 'Configurations');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/ui\/configurations$/);
  await tabTo(page, (element) => element.testId === 'logout');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('login-form')).toBeVisible();
});
