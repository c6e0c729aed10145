// End-to-end tests of the console against a real pgstack (tests/integration/console starts etcd,
// the controller, an agent with Patroni and Postgres, and runs these with the URL and credentials
// in the environment). Debian's Chromium, never a downloaded browser.
import { defineConfig } from '@playwright/test';

const output = process.env['PGSTACK_E2E_OUTPUT'] ?? 'test-results';
// The controller's certificate comes from the installation's own CA: trust exactly its key (the
// base64 SHA-256 of its SubjectPublicKeyInfo), not every certificate.
const spki = process.env['PGSTACK_API_SPKI'];

export default defineConfig({
  testDir: './e2e',
  outputDir: `${output}/artifacts`,
  // Two browsers at once: the spec files touch different clusters and objects (create-edit its own
  // cluster, restore a new one), and console_e2e runs alone on the machine, whose cores one browser
  // left half idle while the runtime worked.
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env['PGSTACK_URL'] ?? 'http://127.0.0.1:8080',
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        ...(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : []),
      ],
    },
  },
});
