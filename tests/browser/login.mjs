// tests/browser/login.mjs — the Staff SSO login page in a real browser
// (Debian's chromium, driven by playwright-core), for
// tests/integration/test_browser.py.
//
// Environment (all set by the Python test):
//   SKM_AUTH_URL        the /authorize URL (PKCE challenge, state, nonce)
//   SKM_CALLBACK        the registered redirect_uri (loopback receiver)
//   SKM_USERNAME, SKM_PASSWORD, SKM_BAD_PASSWORD
//   SKM_SPKI            base64 SHA-256 of the broker certificate's SPKI
//   SKM_USER_DATA_DIR   a new, empty profile directory
//   SKM_OUT_DIR         where the screenshots go (tests/out)
//   SKM_CHROMIUM        the browser (default /usr/bin/chromium)
//
// TLS: ignoreHTTPSErrors stays false.  Chromium on Linux trusts only its
// NSS store, so instead of a blanket "ignore certificate errors" we pass
// --ignore-certificate-errors-spki-list with the hash of the broker's own
// public key: only a certificate carrying exactly that key is accepted
// (Chromium honours the switch only together with --user-data-dir, which
// launchPersistentContext passes).  Any other certificate still fails.
//
// --no-proxy-server (besides the flags the test plan lists): the broker and
// the receiver are on loopback; an inherited proxy must not get in between.
//
// What it does: opens the authorization URL (locale ja-JP, so Accept-
// Language asks for Japanese); on the Japanese login page checks lang, the
// heading, label/input association (getByLabel), the Tab order and the
// visible focus ring, text contrast (WCAG AA 4.5:1), that nothing sticks out
// of the card at 1024 px and at 320 px (WCAG reflow), and takes a
// screenshot; switches to English with the language link and checks the
// same; submits a wrong password with the keyboard and checks the alert
// (role=alert, the SKM- code, the request id of that very response); then
// signs in with the keyboard only and follows the 303 to the receiver.
// Browser-side facts (CSP violations from the "security" log, the raw
// POST /login responses) are collected over CDP.
//
// Prints one JSON object of facts (the Python test asserts on them); when a
// step cannot go on it adds {"failed": step, "message": ...} and exits 1.
// The browser is closed in every case; the Python side also kills the
// process group on a timeout.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// playwright-core is installed (pinned) with the other npm test packages in
// tests/interop/node_modules; resolve it from there.
const require = createRequire(new URL('../interop/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};

const AUTH_URL = env('SKM_AUTH_URL');
const CALLBACK = env('SKM_CALLBACK');
const OUT = env('SKM_OUT_DIR');
const TIMEOUT = 10000;

let step = 'launch';
const facts = { pages: {}, console: [], tab_order: {} };

class CheckError extends Error {}
function check(cond, what, detail) {
  if (!cond) {
    throw new CheckError(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
}

// -- helpers that run in the page --------------------------------------------

// Visible form controls and how they are labelled.
async function controls(page) {
  return page.evaluate(() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')].map((el) => ({
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute('name'),
    type: el.getAttribute('type'),
    labels: el.labels ? [...el.labels].map((l) => l.textContent.trim()) : [],
    aria_label: el.getAttribute('aria-label'),
    text: el.tagName === 'BUTTON' ? el.textContent.trim() : null,
  })));
}

// WCAG 2.x contrast ratio of an element's text against the first opaque
// background behind it.
async function contrast(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const rgb = (s) => s.match(/[\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    let bg = null;
    for (let n = el; n; n = n.parentElement) {
      const v = rgb(getComputedStyle(n).backgroundColor);
      if (v.length < 4 || v[3] > 0) { bg = v; break; }
    }
    bg = bg || [255, 255, 255];
    const fg = rgb(getComputedStyle(el).color);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
  }, selector);
}

// The focused element, and whether its focus ring is visible.
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id || null,
      type: el.getAttribute('type'),
      focus_visible: el.matches(':focus-visible'),
      outline_style: cs.outlineStyle,
      outline_width: parseFloat(cs.outlineWidth) || 0,
    };
  });
}

// Layout: elements of the card that stick out of its content box (text
// that does not wrap, a field wider than the card), at the current width.
async function overflow(page) {
  return page.evaluate(() => {
    const card = document.querySelector('main.card') || document.body;
    const cs = getComputedStyle(card);
    const box = card.getBoundingClientRect();
    const left = box.left + parseFloat(cs.paddingLeft);
    const right = box.right - parseFloat(cs.paddingRight);
    const out = [];
    for (const el of card.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const over = Math.max(r.right - right, left - r.left);
      if (over > 1) {
        out.push({ tag: el.tagName.toLowerCase(), cls: el.className || null,
          text: el.textContent.trim().slice(0, 40), px: Math.round(over) });
      }
    }
    return { viewport: window.innerWidth,
      page_scrolls_sideways: document.documentElement.scrollWidth > window.innerWidth,
      elements: out };
  });
}

// overflow() at the desktop viewport and at 320 CSS px (WCAG 2.1 SC 1.4.10
// Reflow: no horizontal scrolling at 320 px).
async function layout(page) {
  const desk = await overflow(page);
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 740 });
  const phone = await overflow(page);
  await page.setViewportSize(vp);
  return [desk, phone];
}

async function stylesheetHasFocusVisible(page) {
  return page.evaluate(() => [...document.styleSheets].some((s) => {
    try {
      return [...s.cssRules].some((r) => (r.selectorText || '')
        .includes(':focus-visible') && r.style.outlineStyle !== 'none');
    } catch { return false; }
  }));
}

// Keyboard only: Tab from the focused field through the form, recording
// where the focus goes and whether the ring shows.
async function tabOrder(page, n) {
  const seq = [await focused(page)];
  for (let i = 0; i < n; i++) {
    await page.keyboard.press('Tab');
    seq.push(await focused(page));
  }
  return seq;
}

// afterPost: the page is the answer to POST /login (URL without ?tx=)
async function checkLoginPage(page, lang, t, afterPost = false) {
  step = `login page (${lang}${afterPost ? ', after POST' : ''})`;
  await page.waitForLoadState('load');
  const url = new URL(page.url());
  check(url.pathname === '/login' && (afterPost || url.searchParams.get('tx')),
    'not on /login?tx=', page.url());
  const htmlLang = await page.locator('html').getAttribute('lang');
  check(htmlLang === lang, 'html lang', htmlLang);
  const h1 = page.getByRole('heading', { level: 1, name: t.heading, exact: true });
  await h1.waitFor({ state: 'visible', timeout: TIMEOUT });
  // getByLabel resolves through <label for=...>: the association works
  const user = page.getByLabel(t.user, { exact: true });
  const pass = page.getByLabel(t.pass, { exact: true });
  check(await user.count() === 1 && await pass.count() === 1,
    'getByLabel found the fields');
  check(await user.getAttribute('id') === 'username', 'username label target');
  check(await pass.getAttribute('type') === 'password', 'password field type');
  check(await user.isVisible() && await pass.isVisible(), 'fields visible');
  check(await user.getAttribute('autocomplete') === 'username',
    'username autocomplete');
  check(await pass.getAttribute('autocomplete') === 'current-password',
    'password autocomplete');
  const submit = page.getByRole('button', { name: t.submit, exact: true });
  check(await submit.count() === 1 && await submit.isVisible(),
    'submit button with accessible name');
  const ctl = await controls(page);
  for (const c of ctl) {
    const named = c.tag === 'button' ? !!c.text : (c.labels.length > 0 || !!c.aria_label);
    check(named, 'control without a label', c);
  }
  const ratios = {};
  for (const sel of ['h1', '.lead', 'label[for=username]', 'button', 'p.lang a']) {
    ratios[sel] = await contrast(page, sel);
    check(ratios[sel] !== null && ratios[sel] >= 4.5, `contrast of ${sel}`, ratios[sel]);
  }
  const title = await page.title();
  facts.pages[afterPost ? `${lang}-error` : lang] = {
    url: page.url(), html_lang: htmlLang, title, controls: ctl,
    contrast: ratios,
    focus_visible_rule: await stylesheetHasFocusVisible(page),
    other_lang_link: await page.locator('p.lang a').getAttribute('hreflang'),
    layout: await layout(page),
  };
  return { user, pass, submit };
}

async function submitWithEnter(page) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' &&
      new URL(r.url()).pathname === '/login', { timeout: TIMEOUT }),
    page.keyboard.press('Enter'),
  ]);
  return resp;
}

// -- the run ------------------------------------------------------------------

const JA = { heading: 'サインイン', user: 'ユーザー名', pass: 'パスワード', submit: 'サインイン', other: 'English' };
const EN = { heading: 'Sign in', user: 'User name', pass: 'Password', submit: 'Sign in', other: '日本語' };

let context;
let waitForPostResponses;
try {
  mkdirSync(OUT, { recursive: true });
  context = await chromium.launchPersistentContext(env('SKM_USER_DATA_DIR'), {
    executablePath: env('SKM_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    ignoreHTTPSErrors: false,
    locale: 'ja-JP',              // a Japanese staff browser: Accept-Language ja
    viewport: { width: 1024, height: 768 },
    timeout: 30000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--no-proxy-server',       // loopback only; never an inherited proxy
      `--ignore-certificate-errors-spki-list=${env('SKM_SPKI')}`,
    ],
  });
  facts.browser_version = context.browser()?.version() ?? null;
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      facts.console.push({ type: m.type(), text: m.text() });
    }
  });
  page.on('pageerror', (e) => facts.console.push({ type: 'pageerror', text: String(e) }));
  // CSP violations are logged by the browser ("security" source), also
  // during a navigation, when the page's console event may miss them
  const cdp = await context.newCDPSession(page);
  facts.security_log = [];
  let securityLogged;
  const firstSecurityEntry = new Promise((resolve) => { securityLogged = resolve; });
  cdp.on('Log.entryAdded', ({ entry }) => {
    if (entry.source === 'security') {
      facts.security_log.push({ level: entry.level, text: entry.text, url: entry.url });
      securityLogged();
    }
  });
  await cdp.send('Log.enable');
  // raw responses of POST /login (a blocked redirect never reaches
  // Playwright's response events)
  const posts = new Set();
  const rawWaiters = [];
  // resolves once more than n POST /login responses were seen, or after ms
  waitForPostResponses = (n, ms) => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    const poll = () => {
      if (facts.login_post_raw.length > n) { clearTimeout(t); resolve(); } else rawWaiters.push(poll);
    };
    poll();
  });
  facts.login_post_raw = [];
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    if (request.method === 'POST' && new URL(request.url).pathname === '/login') posts.add(requestId);
  });
  cdp.on('Network.responseReceivedExtraInfo', ({ requestId, statusCode, headers }) => {
    if (!posts.has(requestId)) return;
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    facts.login_post_raw.push({ status: statusCode, location: h.location ?? null,
      csp: h['content-security-policy'] ?? null, request_id: h['x-request-id'] ?? null });
    for (const w of rawWaiters.splice(0)) w();
  });
  await cdp.send('Network.enable');

  // 1. the authorization request lands on the Japanese login page
  step = 'open the authorization URL';
  const first = await page.goto(AUTH_URL, { waitUntil: 'load' });
  check(first && first.status() === 200, 'login page status', first?.status());
  facts.login_page_csp = await first.headerValue('content-security-policy');
  facts.tls = await first.securityDetails();
  const ja = await checkLoginPage(page, 'ja', JA);
  await page.screenshot({ path: join(OUT, 'login-ja.png'), fullPage: true });
  facts.tab_order.ja = await tabOrder(page, 4);
  check(JSON.stringify(facts.tab_order.ja.map((f) => f.id || f.tag)) ===
    '["username","password","button","passkey","a"]', 'tab order (ja)', facts.tab_order.ja);

  // 2. the language link switches to English (same transaction)
  step = 'switch to English';
  const link = page.getByRole('link', { name: JA.other, exact: true });
  check(await link.getAttribute('lang') === 'en', 'language link lang=en');
  await Promise.all([page.waitForURL(/[?&]lang=en(&|$)/), link.click()]);
  const en = await checkLoginPage(page, 'en', EN);
  await page.screenshot({ path: join(OUT, 'login-en.png'), fullPage: true });

  // 3. keyboard only: the username field has the focus (autofocus); Tab
  //    goes username -> password -> submit -> passkey -> language link
  step = 'tab order (en)';
  facts.tab_order.en = await tabOrder(page, 4);
  const order = facts.tab_order.en.map((f) => f.id || f.tag);
  check(JSON.stringify(order.slice(0, 3)) === '["username","password","button"]',
    'tab order', order);
  check(order[3] === 'passkey', 'the passkey button after submit', order);
  check(order[4] === 'a', 'language link after the buttons', order);
  for (const f of facts.tab_order.en.slice(1)) {
    check(f.focus_visible && f.outline_style !== 'none' && f.outline_width >= 2,
      'visible focus ring after Tab', f);
  }

  // 4. a wrong password: role=alert with the SKM- code and the request id
  step = 'wrong password';
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+Tab');
  check((await focused(page)).id === 'username', 'Shift+Tab back to username');
  await page.keyboard.type(env('SKM_USERNAME'));
  await page.keyboard.press('Tab');
  await page.keyboard.type(env('SKM_BAD_PASSWORD'));
  const bad = await submitWithEnter(page);
  await page.waitForLoadState('load');
  const badRid = await bad.headerValue('x-request-id');
  const alert = page.getByRole('alert');
  await alert.waitFor({ state: 'visible', timeout: TIMEOUT });
  const alertText = (await alert.innerText()).trim();
  const code = (alertText.match(/SKM-\d{4}/) || [null])[0];
  facts.error = {
    status: bad.status(),
    request_id: badRid,
    alert_count: await alert.count(),
    alert_text: alertText,
    code,
    shows_request_id: !!badRid && alertText.includes(badRid),
    html_lang: await page.locator('html').getAttribute('lang'),
    username_kept: await en.user.inputValue(),
    focused_after_error: (await focused(page)).id,
    error_contrast: await contrast(page, '.error p'),
  };
  check(bad.status() === 401, 'wrong password status', bad.status());
  check(code !== null, 'alert shows an SKM- code', alertText);
  check(facts.error.shows_request_id, 'alert shows the request id', facts.error);
  await page.screenshot({ path: join(OUT, 'login-en-error.png'), fullPage: true });
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 740 });
  await page.screenshot({ path: join(OUT, 'login-en-error-320.png'), fullPage: true });
  await page.setViewportSize(vp);
  await checkLoginPage(page, 'en', EN, true);

  // 5. sign in with the keyboard only; the focus is in the password field
  step = 'sign in';
  facts.console_before_sign_in = facts.console.length;
  check(facts.error.focused_after_error === 'password',
    'focus on the password field after the error', facts.error);
  await page.keyboard.type(env('SKM_PASSWORD'));
  await page.keyboard.press('Tab');
  const onButton = await focused(page);
  check(onButton.tag === 'button' && onButton.focus_visible, 'Tab to submit', onButton);
  // POST /login answers 303 to the redirect_uri; the browser follows it
  // (or refuses to: then the navigation request fails)
  const settle = (p) => p.then((v) => ({ v }), (e) => ({ e }));
  const reached = settle(page.waitForResponse(
    (r) => r.url().startsWith(`${CALLBACK}?`), { timeout: TIMEOUT }));
  const refused = settle(page.waitForEvent('requestfailed', {
    predicate: (r) => r.isNavigationRequest(), timeout: TIMEOUT }));
  const postsBefore = facts.login_post_raw.length;
  await page.keyboard.press('Enter');
  let end = await Promise.race([reached, refused]);
  if (end.e) {
    const [a, b] = await Promise.all([reached, refused]);
    end = a.v ? a : b;
  }
  const last = end.v;
  if (!last) throw new CheckError(`no navigation after POST /login: ${end.e}`);
  const lastReq = typeof last.request === 'function' ? last.request() : last;
  facts.last_navigation = {
    method: lastReq.method(), url: lastReq.url(),
    failure: lastReq.failure()?.errorText ?? null,
  };
  await waitForPostResponses(postsBefore, 3000);
  const postRaw = facts.login_post_raw[postsBefore];
  facts.login_post = postRaw ?? null;
  check(postRaw && postRaw.status === 303 &&
    (postRaw.location || '').startsWith(`${CALLBACK}?`),
  'POST /login answered 303 to the redirect_uri', postRaw);
  if (lastReq.failure()) {
    // the broker did redirect; the browser refused to follow.  The reason
    // is logged right after the failure: wait (bounded) for it.
    await Promise.race([firstSecurityEntry,
      new Promise((resolve) => { setTimeout(resolve, 3000).unref(); })]);
    throw new CheckError('the browser did not follow the 303 from POST '
      + `/login to the redirect_uri (${lastReq.method()} ${lastReq.url()}: `
      + `${lastReq.failure().errorText}); security log: `
      + `${JSON.stringify(facts.security_log.map((l) => l.text.trim()))}; `
      + `CSP of the login page: ${facts.login_page_csp}`);
  }
  await page.waitForURL((u) => u.href.startsWith(`${CALLBACK}?`),
    { waitUntil: 'load', timeout: TIMEOUT });
  facts.final_url = page.url();
  facts.final_body = (await page.locator('body').innerText()).trim();
  step = 'done';
  process.stdout.write(`${JSON.stringify(facts)}\n`);
} catch (e) {
  facts.failed = step;
  facts.message = e?.message ?? String(e);
  process.stdout.write(`${JSON.stringify(facts)}\n`);
  console.error(e);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch((e) => console.error('close:', e));
}
