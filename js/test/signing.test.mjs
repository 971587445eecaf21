// SigningKeyring through the Node entry, with the npm `jose` package as the reference JWT
// client in both directions: HS256 from a legacy single secret, then v2 after a rotation;
// EdDSA, with jose verifying through keyroll's jwks(); and the attacks jose's users worry
// about (alg none, HS256 signed with the public key, a foreign kid) refused by keyroll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { inspect } from 'node:util';
import * as jose from 'jose';
import { SigningKeyring, isKeyrollError } from 'keyroll';

const T0 = 1_700_000_000;
const OLD_SECRET = 'flask-SECRET_KEY-that-signed-every-session-0123456789';
const claims = { sub: 'user-42', iss: 'https://auth.example', aud: 'api', exp: T0 + 3600 };
const checks = { audience: 'api', issuer: 'https://auth.example' };
const enc = new TextEncoder();
// jose judges times by the clock; give it the same instant keyroll is given.
const at = (t) => ({ ...checks, currentDate: new Date(t * 1000) });

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(isKeyrollError(e), `not a KeyrollError: ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('HS256: the old single secret, then v2 after a rotation, both ways with jose', async () => {
  const secret = enc.encode(OLD_SECRET);
  // A token the old system wrote (jose here, as PyJWT would): HS256, no kid.
  const legacy = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(T0).sign(secret);
  const ring = SigningKeyring.fromLegacySecret(OLD_SECRET, T0);
  try {
    assert.equal(ring.verifyJwt(legacy, { ...checks, now: T0 + 10 }).keyVersion, 1);
    // keyroll's v1 token carries a kid the old system ignores: jose, with the bare secret, accepts it.
    const v1 = ring.signJwt(claims, { now: T0 });
    const h1 = jose.decodeProtectedHeader(v1);
    assert.deepEqual(h1, { alg: 'HS256', kid: `${ring.id}:v1`, typ: 'JWT' });
    const { payload } = await jose.jwtVerify(v1, secret, at(T0 + 10));
    assert.equal(payload.sub, 'user-42');
    assert.equal(payload.iat, T0);

    // Rotate: v2 signs, v1 (the old secret) keeps verifying what it signed.
    assert.equal(ring.rotate(T0 + 100), 2);
    const v2 = ring.signJwt(claims, { now: T0 + 200 });
    assert.equal(jose.decodeProtectedHeader(v2).kid, `${ring.id}:v2`);
    for (const [token, version] of [[legacy, 1], [v1, 1], [v2, 2]]) {
      assert.equal(ring.verifyJwt(token, { ...checks, now: T0 + 300 }).keyVersion, version);
    }
    // v2 is a new key: the old secret does not verify it.
    await assert.rejects(jose.jwtVerify(v2, secret, at(T0 + 300)), /signature verification failed/);
    assert.equal(ring.versions[0].kind, 'hmac_sha256_legacy');
    assert.equal(ring.versions[0].state, 'decrypt_only');
  } finally {
    ring.free();
  }
});

test('HS256: a second legacy secret promoted to v2 is verified by jose, and jose tokens under its kid by keyroll', async () => {
  const second = crypto.randomBytes(48);
  const ring = SigningKeyring.fromLegacySecret(OLD_SECRET, T0);
  try {
    assert.equal(ring.importLegacySecret(second, T0), 2);
    ring.promote(2, T0 + 1);
    const v2 = ring.signJwt(claims, { now: T0 + 2 });
    const { payload, protectedHeader } = await jose.jwtVerify(v2, second, at(T0 + 3));
    assert.equal(protectedHeader.kid, `${ring.id}:v2`);
    assert.equal(payload.aud, 'api');
    // jose signing under keyroll's kid, with that version's secret: keyroll verifies it.
    const fromJose = await new jose.SignJWT({ ...claims, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: ring.kid(2) })
      .sign(second);
    const got = ring.verifyJwt(fromJose, { ...checks, now: T0 + 3 });
    assert.equal(got.keyVersion, 2);
    assert.equal(got.claims.role, 'admin');
    // The same token under v1's kid does not verify (wrong key for that version).
    const wrongKid = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: ring.kid(1) }).sign(second);
    throwsCode(() => ring.verifyJwt(wrongKid, { ...checks, now: T0 + 3 }), 'signature_invalid');
  } finally {
    ring.free();
  }
});

test('EdDSA: jose verifies keyroll tokens through jwks(), across a two-phase rotation', async () => {
  const ring = SigningKeyring.generate('ed25519', T0);
  try {
    const t1 = ring.signJwt(claims, { now: T0 });
    assert.deepEqual(jose.decodeProtectedHeader(t1), { alg: 'EdDSA', kid: `${ring.id}:v1`, typ: 'JWT' });
    // Stage v2: its public key is published before anything is signed with it.
    const v2 = ring.addVersion('ed25519', T0 + 10);
    const published = jose.createLocalJWKSet(ring.jwks());
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid), [ring.kid(2), ring.kid(1)]);
    ring.promote(v2, T0 + 20);
    const t2 = ring.signJwt(claims, { now: T0 + 30 });
    for (const [token, version] of [[t1, 1], [t2, 2]]) {
      const { protectedHeader } = await jose.jwtVerify(token, published, at(T0 + 40));
      assert.equal(protectedHeader.kid, ring.kid(version));
      assert.equal(ring.verifyJwt(token, { ...checks, now: T0 + 40 }).keyVersion, version);
    }
    // node:crypto agrees on the bare signature, with the JWK as keyroll exports it.
    const [h, p, s] = t2.split('.');
    const key = crypto.createPublicKey({ key: ring.jwks().keys[0], format: 'jwk' });
    assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')));
  } finally {
    ring.free();
  }
});

test('EdDSA: a public keyset alone verifies, holds no secret and signs nothing', () => {
  const ring = SigningKeyring.generate('ed25519', T0);
  const app = SigningKeyring.fromPublicKeyset(ring.publicKeyset());
  try {
    assert.equal(app.verifyOnly, true);
    const token = ring.signJwt(claims, { now: T0 });
    assert.equal(app.verifyJwt(token, { ...checks, now: T0 }).claims.sub, 'user-42');
    const signed = ring.sign('order 42: paid', { context: 'webhook' });
    assert.match(signed, /^krs1:v1:/);
    const v = app.verify(signed, { context: 'webhook' });
    assert.equal(new TextDecoder().decode(v.message), 'order 42: paid');
    assert.equal(v.algorithm, 'ed25519');
    throwsCode(() => app.verify(signed, { context: 'other' }), 'signature_invalid');
    throwsCode(() => app.signJwt(claims), 'read_only');
    throwsCode(() => app.sign('x'), 'read_only');
    throwsCode(() => app.dump({ masterKey: new Uint8Array(32) }), 'read_only');
    assert.deepEqual(app.jwks(), ring.jwks());
    throwsCode(() => SigningKeyring.fromPublicKeyset(ring.dump({ masterKey: new Uint8Array(32) })), 'wrong_keyring_kind');
  } finally {
    ring.free();
    app.free();
  }
});

test('keyroll refuses what jose users fear: alg none, HS256 keyed with the public key, a foreign kid, bad claims', async () => {
  const ring = SigningKeyring.generate('ed25519', T0);
  try {
    const jwk = ring.jwks().keys[0];
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', kid: jwk.kid })}.${b64(claims)}.`;
    throwsCode(() => ring.verifyJwt(none, { ...checks, now: T0 }), 'algorithm_mismatch');
    // The classic confusion: the public key's bytes used as an HS256 secret.
    const confused = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .sign(Buffer.from(jwk.x, 'base64url'));
    throwsCode(() => ring.verifyJwt(confused, { ...checks, now: T0 }), 'algorithm_mismatch');
    // jose's own Ed25519 key under keyroll's kid: refused by the signature.
    const { privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid }).sign(privateKey);
    throwsCode(() => ring.verifyJwt(forged, { ...checks, now: T0 }), 'signature_invalid');
    const foreign = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: '0123456789abcdef:v1' }).sign(privateKey);
    throwsCode(() => ring.verifyJwt(foreign, { ...checks, now: T0 }), 'wrong_keyring');
    const good = ring.signJwt(claims, { now: T0 });
    throwsCode(() => ring.verifyJwt(good, { ...checks, now: T0 + 3600 }), 'expired');
    assert.equal(ring.verifyJwt(good, { ...checks, leeway: 5, now: T0 + 3604 }).keyVersion, 1);
    throwsCode(() => ring.verifyJwt(good, { issuer: checks.issuer, now: T0 }), 'claim_invalid');
    throwsCode(() => ring.verifyJwt(good, { ...checks, audience: 'other', now: T0 }), 'claim_invalid');
    throwsCode(() => ring.verifyJwt(good, { ...checks, required: ['jti'], now: T0 }), 'claim_invalid');
    throwsCode(() => ring.verifyJwt('not.a.jwt', checks), 'malformed');
    // jose agrees on the expiry.
    await assert.rejects(jose.jwtVerify(good, jose.createLocalJWKSet(ring.jwks()), at(T0 + 3600)), /"exp" claim timestamp check failed/);
  } finally {
    ring.free();
  }
});

test('documents: signing and encryption keyrings refuse each other; metadata only in toString', async () => {
  const keyroll = await import('keyroll');
  const masterKey = crypto.randomBytes(32);
  const ring = SigningKeyring.fromLegacySecret(OLD_SECRET, T0);
  const doc = ring.dump({ masterKey });
  const again = SigningKeyring.load(doc, { masterKey });
  try {
    assert.equal(again.id, ring.id);
    assert.equal(again.activeVersion, 1);
    assert.equal(again.algorithm, 'hmac_sha256');
    throwsCode(() => keyroll.Keyring.load(doc, { masterKey }), 'wrong_keyring_kind');
    const enc = keyroll.Keyring.generate(T0);
    throwsCode(() => SigningKeyring.load(enc.dump({ masterKey }), { masterKey }), 'wrong_keyring_kind');
    enc.free();
    throwsCode(() => SigningKeyring.fromLegacySecret('too short', T0), 'invalid_key');
    throwsCode(() => SigningKeyring.generate('rsa'), 'invalid_argument');
    const text = `${inspect(again)} ${String(again)} ${JSON.stringify(again)}`;
    assert.match(text, /SigningKeyring\(id=[0-9a-f]{16}, active=1, \[v1:hmac_sha256_legacy:active\]\)/);
    for (const encoding of [OLD_SECRET, Buffer.from(OLD_SECRET).toString('base64'), Buffer.from(OLD_SECRET).toString('hex')]) {
      assert.ok(!text.includes(encoding));
    }
    again.free();
    assert.throws(() => again.signJwt(claims), /freed/);
  } finally {
    ring.free();
  }
});
