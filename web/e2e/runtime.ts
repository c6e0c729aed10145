// What every spec needs from the runtime tests/integration/console starts: its environment, where the
// screenshots go, and logging in through the login page.
import { execFileSync } from 'node:child_process';
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

// A connection URI of the cluster, through the API the browser reaches (it trusts the runtime's CA):
// `primary` is the primary's Postgres as the superuser; `proxy-rw` / `proxy-ro` pgstack-proxy's endpoints as
// the application user.
export async function connectionUri(page: Page, name: string, to: 'primary' | 'proxy-rw' | 'proxy-ro'): Promise<string> {
  return page.evaluate(
    async ({ name, to }) => {
      const base = `/apis/stackgres.io/v1/namespaces/default/sgclusters/${name}`;
      const status = await (await fetch(`${base}/status`, { cache: 'no-store' })).json();
      const credentials = await (await fetch(`${base}/credentials`, { cache: 'no-store' })).json();
      const login = (user: { username: string; password: string }) =>
        `${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}`;
      if (to === 'primary') {
        const primary = status.members.find((member: { role?: string }) => member.role === 'primary');
        return `postgresql://${login(credentials.superuser)}@${primary.endpoints.postgres}/postgres`;
      }
      const endpoint = (to === 'proxy-rw' ? status.endpoints.proxyReadWrite : status.endpoints.proxyReadOnly)[0];
      return `postgresql://${login(credentials.application)}@${endpoint}/${credentials.application.database}`;
    },
    { name, to },
  );
}

// psql (the browser cannot speak the Postgres protocol): the statements' output, or the error it threw.
export function sql(uri: string, ...statements: string[]): string {
  const args = [uri, '-XAtq', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((statement) => ['-c', statement])];
  return execFileSync('psql', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
