// Times the console's overview (bench/console/run): logs in as the admin, then loads /ui/ ROUNDS + 1
// times and prints, one per line in ms, how long each took from navigation to the row of the last of
// CLUSTERS clusters (c001 ... cNNN) on screen with every row there. The first line is the first load
// after logging in; the median is taken over the others.
// The controller's certificate comes from the installation's CA, which this throwaway browser does not
// know; the bench talks to loopback only and ignores certificate errors.
import { chromium } from '../../web/node_modules/playwright-core/index.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run bench/console/run`);
  return value;
};
const base = env('PGSTACK_URL');
const clusters = Number(env('CLUSTERS'));
const rounds = Number(env('ROUNDS'));
const last = `cluster-c${String(clusters).padStart(3, '0')}`;

const browser = await chromium.launch({
  executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/ui/`);
  await page.getByTestId('username').fill(env('PGSTACK_ADMIN_USER'));
  await page.getByTestId('password').fill(env('PGSTACK_ADMIN_PASSWORD'));
  await page.getByTestId('login-submit').click();
  await page.getByTestId(last).waitFor({ timeout: 30_000 });
  for (let round = 0; round <= rounds; ++round) {
    const started = performance.now();
    await page.goto(`${base}/ui/`, { waitUntil: 'commit' });
    await page.getByTestId(last).waitFor({ timeout: 30_000 });
    const elapsed = performance.now() - started;
    const rows = await page.locator('[data-testid="clusters"] tbody tr').count();
    if (rows !== clusters) throw new Error(`the overview shows ${rows} rows, expected ${clusters}`);
    console.log(elapsed.toFixed(1));
  }
} finally {
  await browser.close();
}
