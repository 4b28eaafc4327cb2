// tests/interop/interop.mjs — the jose side of run_jose.sh.
//
//   node interop.mjs verify JWKS_FILE TOKEN ALG ISS AUD
//       verify a token Sekimori signed; exit 0 when jose accepts it
//   node interop.mjs sign ALG OUTDIR ISS AUD
//       make a key pair, write OUTDIR/jwks.json (public, with kid/alg/use)
//       and print an at+jwt access token signed with it
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

const [cmd, ...args] = process.argv.slice(2);

async function verify(jwksFile, token, alg, iss, aud) {
  const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: iss,
    audience: aud,
    algorithms: [alg],
    typ: 'at+jwt',
    requiredClaims: ['exp', 'iat'],
  });
  if (protectedHeader.alg !== alg) throw new Error(`alg ${protectedHeader.alg}`);
  console.log(JSON.stringify(payload));
}

async function sign(alg, outdir, iss, aud) {
  const opts = { extractable: true };
  if (alg === 'EdDSA') opts.crv = 'Ed25519';
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, opts);
  const jwk = await jose.exportJWK(publicKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  writeFileSync(`${outdir}/jwks.json`, JSON.stringify({ keys: [jwk] }));
  const token = await new jose.SignJWT({ sub: 'alice', client_id: 'c1', scope: 'read' })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: jwk.kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(crypto.randomUUID())
    .sign(privateKey);
  console.log(token);
}

try {
  if (cmd === 'verify' && args.length === 5) await verify(...args);
  else if (cmd === 'sign' && args.length === 4) await sign(...args);
  else {
    console.error('usage: interop.mjs verify JWKS TOKEN ALG ISS AUD | sign ALG OUTDIR ISS AUD');
    process.exit(2);
  }
} catch (e) {
  console.error(`jose: ${e.code ?? ''} ${e.message}`);
  process.exit(1);
}
