// tests/interop/oidc_rp.mjs — an independent relying party (panva's
// openid-client, certified OpenID RP) against a running Sekimori broker.
//
//   OIDC_ISSUER=https://127.0.0.1:PORT OIDC_CLIENT_ID=... \
//   OIDC_CLIENT_SECRET=... OIDC_REDIRECT_URI=https://rp.example.test/cb \
//   OIDC_USERNAME=demo OIDC_PASSWORD=... \
//   NODE_EXTRA_CA_CERTS=<broker CA> node oidc_rp.mjs
//
// Steps, each done by openid-client except the "browser" part:
//   1. discovery() against the issuer (issuer identifier is validated);
//   2. buildAuthorizationUrl() with state, nonce and a PKCE S256 challenge;
//   3. the browser part, done here with fetch and a cookie jar: GET the
//      authorization URL (303 to /login?tx=...), GET the login form, read
//      the hidden tx and csrf, POST username/password, take the 303
//      Location (redirect_uri?code=...&state=...&iss=...) without following;
//   4. authorizationCodeGrant() (client_secret_basic): checks state and the
//      RFC 9207 iss parameter, redeems the code with the verifier, and
//      validates the ID token (signature via the JWKS, iss, aud, exp, iat,
//      nonce);
//   5. fetchUserInfo() (checks sub against the ID token's);
//   6. refreshTokenGrant() (ID token in the refresh response validated too);
//   7. replay of the rotated refresh token: must fail with invalid_grant,
//      and the family's access token must then be refused at userinfo.
//
// Prints one JSON object on stdout (the test asserts on it).  Any failure:
// a JSON {"failed": step, ...} object on stdout, details on stderr, exit 1.
// The tokens printed are throwaway ones from a test broker.
import * as client from 'openid-client';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

const TIMEOUT_MS = 15000;
let step = 'setup';

// -- the browser part: fetch with a host-only cookie jar, no auto-follow ----
class Jar {
  constructor() { this.c = new Map(); }
  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [nv, ...attrs] = sc.split(';');
      const i = nv.indexOf('=');
      const name = nv.slice(0, i).trim();
      const value = nv.slice(i + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (value === '' || gone) this.c.delete(name);
      else this.c.set(name, value);
    }
  }
  header() {
    return [...this.c].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function browse(jar, url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (jar.c.size) headers.set('cookie', jar.header());
  const res = await fetch(url, {
    ...init,
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  jar.store(res);
  return res;
}

function expectStatus(res, want, what) {
  if (res.status !== want) {
    throw new Error(`${what}: HTTP ${res.status}, wanted ${want}`);
  }
}

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`login page has no hidden ${name}`);
  // the broker HTML-escapes values; tx and csrf are base64url anyway
  return m[1].replace(/&amp;/g, '&');
}

async function userLogin(authUrl, username, password) {
  const jar = new Jar();
  step = 'browser: GET authorization endpoint';
  let r = await browse(jar, authUrl);
  expectStatus(r, 303, step);
  const loginUrl = new URL(r.headers.get('location'), authUrl);
  if (loginUrl.pathname !== '/login' || !loginUrl.searchParams.get('tx')) {
    throw new Error(`${step}: unexpected Location ${loginUrl}`);
  }
  step = 'browser: GET login form';
  r = await browse(jar, loginUrl);
  expectStatus(r, 200, step);
  const html = await r.text();
  const form = new URLSearchParams({
    tx: hidden(html, 'tx'),
    csrf: hidden(html, 'csrf'),
    username,
    password,
  });
  step = 'browser: POST login form';
  r = await browse(jar, new URL('/login', loginUrl), {
    method: 'POST',
    body: form,
  });
  if (r.status !== 303) {
    const body = (await r.text()).slice(0, 2000);
    throw new Error(`${step}: HTTP ${r.status}: ${body}`);
  }
  return new URL(r.headers.get('location'), loginUrl);
}

// -- the relying party ------------------------------------------------------
async function main() {
  const issuer = new URL(env('OIDC_ISSUER'));
  const clientId = env('OIDC_CLIENT_ID');
  const secret = env('OIDC_CLIENT_SECRET');
  const redirectUri = env('OIDC_REDIRECT_URI');
  const out = {};

  step = 'discovery';
  const config = await client.discovery(
    issuer, clientId, { client_secret: secret },
    client.ClientSecretBasic(secret), { timeout: TIMEOUT_MS / 1000 });
  const md = config.serverMetadata();
  out.discovery = {
    issuer: md.issuer,
    supportsPKCE: md.supportsPKCE(),
    authorization_endpoint: md.authorization_endpoint,
    token_endpoint: md.token_endpoint,
    userinfo_endpoint: md.userinfo_endpoint,
    jwks_uri: md.jwks_uri,
    id_token_signing_alg_values_supported:
      md.id_token_signing_alg_values_supported,
    authorization_response_iss_parameter_supported:
      md.authorization_response_iss_parameter_supported ?? null,
  };

  step = 'buildAuthorizationUrl';
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    ui_locales: 'en',
  });
  out.request = { state, nonce, authorization_url: authUrl.href };

  const cb = await userLogin(authUrl, env('OIDC_USERNAME'),
    env('OIDC_PASSWORD'));
  out.callback = {
    origin_path: `${cb.origin}${cb.pathname}`,
    state: cb.searchParams.get('state'),
    iss: cb.searchParams.get('iss'),
    has_code: cb.searchParams.has('code'),
  };

  step = 'authorizationCodeGrant';
  const tokens = await client.authorizationCodeGrant(config, cb, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const idHeader = JSON.parse(Buffer.from(
    tokens.id_token.split('.')[0], 'base64url').toString());
  out.tokens = {
    token_type: tokens.token_type,
    expires_in: tokens.expiresIn(),
    scope: tokens.scope ?? null,
    has_refresh_token: typeof tokens.refresh_token === 'string',
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    id_token_header: idHeader,
    id_token_claims: tokens.claims(),
  };

  step = 'fetchUserInfo';
  const sub = tokens.claims().sub;
  out.userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);

  step = 'refreshTokenGrant';
  const refreshed = await client.refreshTokenGrant(config,
    tokens.refresh_token);
  out.refresh = {
    token_type: refreshed.token_type,
    access_token: refreshed.access_token,
    refresh_token: refreshed.refresh_token,
    refresh_token_rotated: typeof refreshed.refresh_token === 'string' &&
      refreshed.refresh_token !== tokens.refresh_token,
    access_token_changed: refreshed.access_token !== tokens.access_token,
    id_token_claims: refreshed.claims() ?? null,
  };

  step = 'fetchUserInfo after refresh';
  out.userinfo_after_refresh = await client.fetchUserInfo(config,
    refreshed.access_token, sub);

  step = 'refresh token replay';
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
    out.replay = { refused: false };
  } catch (e) {
    out.replay = {
      refused: true,
      name: e.name,
      error: e.error ?? null,
      status: e.status ?? null,
      skm_code: e.cause?.code ?? null,
    };
  }

  step = 'fetchUserInfo with the revoked family';
  try {
    await client.fetchUserInfo(config, refreshed.access_token, sub);
    out.userinfo_revoked = { refused: false };
  } catch (e) {
    out.userinfo_revoked = {
      refused: true,
      name: e.name,
      status: e.status ?? e.response?.status ?? null,
      challenges: (e.cause ?? []).map?.((c) => ({
        scheme: c.scheme, error: c.parameters?.error ?? null,
      })) ?? null,
    };
  }

  process.stdout.write(`${JSON.stringify(out)}\n`);
}

try {
  await main();
} catch (e) {
  const info = {
    failed: step,
    name: e?.name,
    message: e?.message,
    code: e?.code ?? null,
    error: e?.error ?? null,
    error_description: e?.error_description ?? null,
    status: e?.status ?? null,
    cause: (() => {
      try { return JSON.parse(JSON.stringify(e?.cause ?? null)); } catch { return String(e?.cause); }
    })(),
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  console.error(e);
  process.exitCode = 1;
}
