// Signing keyrings in Node, same run, same machine: HS256 JWT sign/verify against the npm
// `jose` package, and Ed25519 verify against node:crypto (and jose's EdDSA). Prints a markdown
// table with ratios. Usage: node bench/signing.mjs [ms-per-round]
//
// jose is asynchronous (WebCrypto underneath): it is timed awaited one at a time, as a request
// handler calls it, and 64 in flight.
import crypto from 'node:crypto';
import * as jose from 'jose';
import { SigningKeyring } from 'keyroll';
import { rate, rateAsync } from './cases.mjs';

const ms = Number(process.argv[2] ?? 400);
const NOW = Math.floor(Date.now() / 1000);
const claims = { sub: 'user-42', iss: 'https://auth.example', aud: 'api', iat: NOW, exp: NOW + 3600, scope: 'read write' };
const verifyOptions = { audience: 'api', issuer: 'https://auth.example' };
const ROUNDS = 5;
const groups = [];
const group = (what, impls) => groups.push({ what, impls });
// Each implementation is `[name, op]` (synchronous) or `[name, op, width]` (async, `width` in flight).

// HS256: one secret in both; the same claims; jose's key imported once (as an app would).
const secret = crypto.randomBytes(32);
const hs = SigningKeyring.fromLegacySecret(secret, NOW);
const hsToken = hs.signJwt(claims);
const hsKid = jose.decodeProtectedHeader(hsToken).kid;
const hsKey = await crypto.webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
const joseHs = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: hsKid }).sign(hsKey);
const joseSign = () => new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: hsKid }).sign(hsKey);
group('HS256 sign', [['keyroll', () => hs.signJwt(claims)], ['jose (1 at a time)', joseSign, 1], ['jose (64 in flight)', joseSign, 64]]);
const joseHsVerify = () => jose.jwtVerify(hsToken, hsKey, verifyOptions);
group('HS256 verify', [
  ['keyroll', () => hs.verifyJwt(joseHs, verifyOptions)],
  ['jose (1 at a time)', joseHsVerify, 1],
  ['jose (64 in flight)', joseHsVerify, 64],
]);

// Ed25519: keyroll's own signed messages (krs1) and EdDSA JWTs; node:crypto and jose verify
// with the public key from keyroll's JWKS.
const ed = SigningKeyring.generate('ed25519', NOW);
const message = crypto.randomBytes(64);
const signed = ed.sign(message, { context: 'bench' });
const edToken = ed.signJwt(claims);
const jwk = ed.jwks().keys[0];
// node:crypto checks the very same bytes: the JWT's signature over `header.payload`, with the
// public key from keyroll's JWKS (signature only; keyroll and jose also check the claims).
const publicKey = crypto.createPublicKey({ key: jwk, format: 'jwk' });
const [h, p, sig] = edToken.split('.');
const signingInput = Buffer.from(`${h}.${p}`);
const signature = Buffer.from(sig, 'base64url');
if (!crypto.verify(null, signingInput, publicKey, signature)) throw new Error('node:crypto rejects keyroll EdDSA');
const nodePair = crypto.generateKeyPairSync('ed25519');
const nodeSig = crypto.sign(null, message, nodePair.privateKey);
const joseKey = await jose.importJWK(jwk, 'EdDSA');
// A public keyset alone verifies the same way (no secret held).
const verifier = SigningKeyring.fromPublicKeyset(ed.publicKeyset());
group('Ed25519 verify (64 B message)', [
  ['keyroll verify (krs1)', () => ed.verify(signed, { context: 'bench' })],
  ['node:crypto verify', () => crypto.verify(null, message, nodePair.publicKey, nodeSig)],
]);
const joseEdVerify = () => jose.jwtVerify(edToken, joseKey, verifyOptions);
group('EdDSA JWT verify', [
  ['keyroll verifyJwt', () => ed.verifyJwt(edToken, verifyOptions)],
  ['keyroll, public keyset', () => verifier.verifyJwt(edToken, verifyOptions)],
  ['node:crypto (signature only)', () => crypto.verify(null, signingInput, publicKey, signature)],
  ['jose (1 at a time)', joseEdVerify, 1],
  ['jose (64 in flight)', joseEdVerify, 64],
]);

// The implementations take turns, one round each, ROUNDS times; the best round counts (a
// machine shared with other work slows whichever runs at a bad moment, not one side).
const best = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const g of groups) {
    for (const [name, op, width] of g.impls) {
      const r = width === undefined ? rate(op, ms, 1) : await rateAsync(op, width, ms, 1);
      const key = `${g.what}\u0000${name}`;
      best.set(key, Math.max(best.get(key) ?? 0, r));
    }
  }
}
const rows = groups.flatMap((g) => g.impls.map(([name]) => ({ what: g.what, name, opsPerSec: best.get(`${g.what}\u0000${name}`) })));

console.log();
console.log(`node ${process.version}; best of ${ROUNDS} alternating rounds of ${ms} ms`);
console.log('| operation | implementation | ops/s | keyroll ÷ this |');
console.log('| --- | --- | --- | --- |');
for (const what of [...new Set(rows.map((r) => r.what))]) {
  const mine = rows.filter((r) => r.what === what);
  const kr = mine[0].opsPerSec;
  for (const r of mine) {
    const ratio = r === mine[0] ? '' : `${(kr / r.opsPerSec).toFixed(2)}×`;
    console.log(`| ${what} | ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${ratio} |`);
  }
}
for (const ring of [hs, ed, verifier]) ring.free();
