// tests/browser/totp.mjs — issue 6's acceptance in a real browser:
// the demo user signs in to the account page, sets up TOTP from the QR
// page (the code comes from the independent `oathtool`), signs out, and
// signs in to a relying party with password + TOTP.  The Python side
// (tests/integration/test_browser_totp.py) redeems the code and checks the
// ID token (acr AAL2, amr pwd + otp).  Same launch flags and TLS pinning
// as login.mjs (see there).  Prints one JSON object of facts.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(new URL('../interop/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const env = (k, d) => { const v = process.env[k] ?? d; if (v === undefined) throw new Error(`${k} not set`); return v; };
const facts = {};
let step = 'launch';
let context;

function totp(key, offset) {
  const at = Math.floor(Date.now() / 1000) + offset;
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${at}`, key]).toString().trim();
}

async function signIn(page, user, password) {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByLabel('Password').press('Enter')]);
}

try {
  context = await chromium.launchPersistentContext(env('SKM_USER_DATA_DIR'), {
    executablePath: env('SKM_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    ignoreHTTPSErrors: false,
    locale: 'en-US',
    viewport: { width: 1024, height: 900 },
    timeout: 30000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-proxy-server',
      `--ignore-certificate-errors-spki-list=${env('SKM_SPKI')}`,
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const issuer = env('SKM_ISSUER');

  step = 'account sign-in';
  await page.goto(`${issuer}/account?lang=en`);
  await signIn(page, env('SKM_USERNAME'), env('SKM_PASSWORD'));
  facts.account_url = new URL(page.url()).pathname;

  step = 'start TOTP';
  await Promise.all([page.waitForLoadState('load'), page.locator('#totp-action').click()]);
  const qr = page.locator('#qr');
  facts.qr_src_prefix = (await qr.getAttribute('src')).slice(0, 26);
  facts.qr_alt = await qr.getAttribute('alt');
  facts.qr_loaded = await qr.evaluate((img) => img.complete && img.naturalWidth > 0);
  const key = (await page.locator('#totp-key').textContent()).trim();
  facts.key_length = key.replace(/=/g, '').length;
  await page.screenshot({ path: join(env('SKM_OUT_DIR'), 'totp-enrol.png'), fullPage: true });

  step = 'confirm TOTP';
  await page.getByLabel('Code').fill(totp(key, 0));
  await Promise.all([page.waitForLoadState('load'), page.getByLabel('Code').press('Enter')]);
  facts.recovery_codes = await page.locator('#recovery li').count();

  step = 'sign out';
  await page.goto(`${issuer}/account?lang=en`);
  facts.totp_state = (await page.locator('#totp-state').textContent()).trim();
  await Promise.all([page.waitForLoadState('load'), page.locator('#signout').click()]);
  facts.signed_out = (await page.locator('h1').textContent()).trim();

  step = 'sign in to the relying party';
  await page.goto(env('SKM_AUTH_URL'));
  await signIn(page, env('SKM_USERNAME'), env('SKM_PASSWORD'));
  facts.second_step = new URL(page.url()).pathname;
  // the next time step: the enrolment used this one (never accepted twice)
  await page.getByLabel('Code').fill(totp(key, 30));
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(env('SKM_CALLBACK')), { timeout: 15000 }),
    page.getByLabel('Code').press('Enter'),
  ]);
  facts.callback = page.url();
  console.log(JSON.stringify(facts));
  await context.close();
  process.exit(0);
} catch (e) {
  facts.failed = step;
  facts.message = String(e && e.message || e).slice(0, 2000);
  console.log(JSON.stringify(facts));
  if (context) await context.close().catch(() => {});
  process.exit(1);
}
