// tests/browser/passkey.mjs — a passkey through the real pages in headless
// Chromium (Debian's chromium, driven by playwright-core), for
// tests/integration/test_browser_passkey.py.
//
// The authenticator is Chromium's DevTools virtual authenticator
// (WebAuthn.enable + WebAuthn.addVirtualAuthenticator over CDP: CTAP2,
// transport internal, resident keys, user verification that succeeds), so
// navigator.credentials.create/get run for real in the page, through
// /static/webauthn.js, and the broker verifies what Chromium produced.
//
// Environment (set by the Python test):
//   SKM_BASE            https://localhost:PORT (the WebAuthn origin)
//   SKM_USERNAME, SKM_PASSWORD
//   SKM_SPKI            base64 SHA-256 of the broker certificate's SPKI
//   SKM_USER_DATA_DIR   a new, empty profile directory
//   SKM_CHROMIUM        the browser (default /usr/bin/chromium)
//
// TLS stays verified as in login.mjs: ignoreHTTPSErrors is false and only
// a certificate with the pinned public key is accepted
// (--ignore-certificate-errors-spki-list, honoured with --user-data-dir).
//
// Steps: sign in with the password on the account page; register a passkey
// there (label, button, the script); check the key list and the virtual
// authenticator's credential; sign out; sign in again with "Sign in with a
// passkey" (usernameless: no user name typed); check the account page.
// Prints one JSON object of facts; on a failed step adds {"failed": step,
// "message": ...} and exits 1.  The browser is closed in every case.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../interop/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};

const BASE = env('SKM_BASE');
const TIMEOUT = 15000;
const facts = { console: [], security_log: [] };
let step = 'launch';
let context;

function check(cond, what, detail) {
  if (!cond) throw new Error(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
}

try {
  context = await chromium.launchPersistentContext(env('SKM_USER_DATA_DIR'), {
    executablePath: env('SKM_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    ignoreHTTPSErrors: false,
    locale: 'en-US',
    viewport: { width: 1024, height: 768 },
    timeout: 30000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--no-proxy-server',
      `--ignore-certificate-errors-spki-list=${env('SKM_SPKI')}`,
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      facts.console.push({ type: m.type(), text: m.text() });
    }
  });
  page.on('pageerror', (e) => facts.console.push({ type: 'pageerror', text: String(e) }));
  const cdp = await context.newCDPSession(page);
  cdp.on('Log.entryAdded', ({ entry }) => {
    if (entry.source === 'security') {
      facts.security_log.push({ level: entry.level, text: entry.text });
    }
  });
  await cdp.send('Log.enable');

  step = 'add the virtual authenticator';
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  step = 'sign in with the password';
  await page.goto(`${BASE}/account`);
  check(new URL(page.url()).pathname === '/login', 'the account page asks to sign in', page.url());
  facts.login_page_passkey_button = await page.locator('#passkey').isVisible();
  await page.fill('#username', env('SKM_USERNAME'));
  await page.fill('#password', env('SKM_PASSWORD'));
  await Promise.all([
    page.waitForURL(`${BASE}/account`),
    page.click('form[action="/login"] button[type=submit]'),
  ]);
  facts.level_password = (await page.textContent('#level')).trim();

  step = 'register a passkey on the account page';
  check(await page.locator('#wa-add-passkey').isVisible(), 'the register button is shown');
  await page.fill('#wa-label-passkey', 'Laptop passkey');
  await Promise.all([
    page.waitForURL(`${BASE}/account`, { waitUntil: 'load' }),
    page.waitForResponse((r) => r.url() === `${BASE}/account/webauthn` && r.request().method() === 'POST'),
    page.click('#wa-add-passkey'),
  ]);
  await page.waitForSelector('#wa-keys li[data-state="active"]');
  facts.keys = await page.$$eval('#wa-keys li', (els) => els.map((e) => ({
    state: e.dataset.state, label: e.querySelector('strong').textContent,
  })));
  const creds = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  facts.authenticator = creds.map((c) => ({
    resident: c.isResidentCredential, rpId: c.rpId, signCount: c.signCount,
  }));

  step = 'sign out';
  await Promise.all([
    page.waitForLoadState('load'),
    page.click('#signout'),
  ]);
  await page.goto(`${BASE}/account`);
  check(new URL(page.url()).pathname === '/login', 'signed out', page.url());

  step = 'sign in with the passkey (usernameless)';
  await page.waitForSelector('#passkey', { state: 'visible' });
  await Promise.all([
    page.waitForURL(`${BASE}/account`),
    page.click('#passkey'),
  ]);
  facts.signed_in_as = (await page.textContent('p.lead')).trim();
  facts.level_passkey = (await page.textContent('#level')).trim();
  facts.authenticator_after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId }))
    .credentials.map((c) => ({ signCount: c.signCount }));
  step = 'done';
  facts.ok = true;
} catch (e) {
  facts.failed = step;
  facts.message = String(e && e.message ? e.message : e);
} finally {
  if (context) await context.close().catch(() => {});
}
console.log(JSON.stringify(facts));
process.exit(facts.ok ? 0 : 1);
