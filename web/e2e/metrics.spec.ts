// The Metrics page against a real runtime with a real Prometheus scraping the cluster (console_e2e starts
// it): figures, uPlot charts drawn from the metrics summary, each member's figures, the window kept in the
// URL, and no CSP violation or script error while uPlot's chunk loads and draws.
import { expect, test } from '@playwright/test';
import { env, cluster, shots, clusterLink, connectionUri, logIn, sql } from './runtime';

test('the metrics page charts the cluster from Prometheus, in its own chunk, under the CSP', async ({ page }) => {
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const chunks: string[] = [];
  page.on('response', (answer) => {
    if (answer.url().includes('/ui/assets/metrics-')) chunks.push(answer.url());
  });
  await logIn(page, env('PGSTACK_ADMIN_USER'), env('PGSTACK_ADMIN_PASSWORD'));
  expect(chunks).toEqual([]); // not part of the first load
  // Watched from here: before the login, the session check's 401 is expected.
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

  // Traffic through the proxy: reads on each endpoint and one error (42P01, class 42), for its figures.
  const readWrite = await connectionUri(page, cluster, 'proxy-rw');
  const readOnly = await connectionUri(page, cluster, 'proxy-ro');
  const fail = () => expect(() => sql(readWrite, 'SELECT * FROM no_such_table_for_the_proxy')).toThrow(/no_such_table_for_the_proxy/);
  // A counter's first sample is its start (increase() counts from there): errors after Prometheus saw it.
  fail();
  for (let round = 0; round < 10; ++round) {
    sql(readWrite, 'SELECT 1', 'SELECT 2');
    sql(readOnly, 'SELECT 1', 'SELECT 2', 'SELECT 3');
  }
  await page.waitForTimeout(5000);
  fail();
  fail();

  await page.goto(clusterLink);
  await page.getByTestId('link-metrics').click();
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/metrics$`));
  await expect(page.getByTestId('metrics-tps')).toHaveText(/^\d+\.\d$/);
  await expect(page.getByTestId('metrics-connections')).toHaveText(/^\d+ \/ \d+$/);
  expect(chunks.length).toBeGreaterThanOrEqual(1);
  const member = page.getByTestId(`metrics-member-${cluster}-0`);
  await expect(member).toContainText('primary');
  await expect(member).toContainText('up');
  // uPlot drew each chart: a canvas with a size, and a legend naming the series.
  for (const chart of ['chart-tps', 'chart-connections', 'chart-wal', 'chart-host-cpu', 'chart-host-memory']) {
    const canvas = page.getByTestId(chart).locator('canvas');
    await expect(canvas).toHaveCount(1);
    const box = await canvas.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(200);
    expect(box?.height ?? 0).toBeGreaterThan(100);
  }
  await expect(page.getByTestId('chart-tps').locator('.u-legend')).toContainText('TPS');
  // The member's host (the runtime's agent), its figures from node_exporter as percentages.
  await expect(page.getByTestId('chart-host-cpu').locator('.u-legend')).toContainText('e2e-host');
  const host = page.getByTestId('metrics-host-e2e-host');
  await expect(host).toHaveText(/e2e-host\s*\d+\.\d %\s*\d+\.\d %\s*\d+\.\d %/);
  // A cluster of one member: no replica to chart, and the page says so.
  await expect(page.getByTestId('chart-lag')).toContainText('No replica reports a lag');
  // The proxy's own figures, once Prometheus scraped the traffic above (every 2 s; the page reloads its figures).
  await expect(page.getByTestId('proxy-p50')).toHaveText(/^\d+\.\d+ ms$/, { timeout: 45_000 });
  await expect(page.getByTestId('proxy-split')).toHaveText(/^\d+% \/ \d+%$/);
  await expect(page.getByTestId('proxy-errors')).toContainText('42 syntax error or access rule violation', { timeout: 45_000 });
  await page.screenshot({ path: `${shots}/metrics.png`, fullPage: true });

  // The window is kept in the URL and survives a reload.
  await page.getByTestId('metrics-window').selectOption('10');
  await expect(page).toHaveURL(new RegExp(`${clusterLink}/metrics\\?minutes=10$`));
  await page.reload();
  await expect(page.getByTestId('metrics-window')).toHaveValue('10');
  await expect(page.getByTestId('metrics-tps')).toHaveText(/^\d+\.\d$/);
  expect(problems).toEqual([]);
});
