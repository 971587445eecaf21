// The ops of tests/vectors/v1/signing.json (schema: tests/vectors/README.md) against a loaded
// `keyroll` module's SigningKeyring. Plain ESM with no Node imports: vector-cases.mjs uses it
// for the node:test suite and the Chromium page alike.

const hex = (s) => {
  if (s.length % 2) throw new Error(`odd hex length: ${s}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** The time `hmac_secret_utf8` keyrings are made at (it changes no byte a case checks). */
const MADE_AT = 1_700_000_000;

function fail(message) {
  throw new Error(message);
}

/** JSON with object keys sorted, so key order never matters. */
function canonical(value) {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

function equal(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) fail(`${what}: got ${a}, want ${e}`);
}

/** The case's keyring: exactly one of `keyring`, `public_keyset`, `hmac_secret_utf8`. */
function open(k, c, doc) {
  const given = ['keyring', 'public_keyset', 'hmac_secret_utf8'].filter((f) => c[f] !== undefined);
  if (given.length !== 1) fail(`a signing case names exactly one keyring source, not [${given}]`);
  if (c.keyring !== undefined) {
    const spec = doc(c.keyring);
    if (spec.master_key_hex !== undefined) {
      return k.SigningKeyring.load(spec.document, { masterKey: hex(spec.master_key_hex) });
    }
    return k.SigningKeyring.load(spec.document, { passphrase: spec.passphrase });
  }
  if (c.public_keyset !== undefined) return k.SigningKeyring.fromPublicKeyset(c.public_keyset);
  return k.SigningKeyring.fromLegacySecret(c.hmac_secret_utf8, MADE_AT);
}

/** Runs `body` on the case's keyring, then frees it. */
function withRing(k, c, doc, body) {
  const ring = open(k, c, doc);
  try {
    return body(ring);
  } finally {
    ring.free();
  }
}

function summary(ring) {
  return {
    keyring_id: ring.id,
    active_version: ring.activeVersion ?? null,
    min_version: ring.minVersion,
    verify_only: ring.verifyOnly,
    versions: ring.versions.map((v) => ({ kind: v.kind, state: v.state, version: v.version })),
  };
}

/** `op(k, c, ring, doc)`, as the ops of vector-cases.mjs (the encryption `ring` is unused). */
export const SIGNING_OPS = {
  signing_load(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => equal(summary(r), c.expect, 'keyring'));
  },
  sign(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => {
      const message = hex(c.message_hex);
      const context = hex(c.context_hex);
      equal(r.sign(message, { context }), c.expect_signed, 'signed (text)');
      equal(toHex(r.signBinary(message, { context })), c.expect_signed_hex, 'signed (binary)');
    });
  },
  verify(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => {
      if ((c.signed === undefined) === (c.signed_hex === undefined)) fail('needs signed or signed_hex');
      const signed = c.signed ?? hex(c.signed_hex);
      const v = r.verify(signed, { context: hex(c.context_hex) });
      equal(toHex(v.message), c.expect_message_hex, 'message');
      equal(v.keyVersion, c.expect_version, 'key version');
    });
  },
  sign_jwt(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => {
      // The case's claims are JSON text; the JS API takes the object (keys are sorted by core).
      equal(r.signJwt(JSON.parse(c.claims), { now: c.now }), c.expect_token, 'token');
    });
  },
  verify_jwt(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => {
      const o = c.options ?? fail('verify_jwt case without options');
      const v = r.verifyJwt(c.token, {
        leeway: o.leeway,
        audience: o.audience ?? undefined,
        issuer: o.issuer ?? undefined,
        required: o.required,
        now: c.now,
      });
      equal(v.claims, c.expect_claims, 'claims');
      equal(v.keyVersion, c.expect_version, 'key version');
      equal(v.algorithm, c.expect_algorithm, 'algorithm');
    });
  },
  public_keyset(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => equal(JSON.parse(r.publicKeyset()), c.expect, 'public keyset'));
  },
  jwks(k, c, _ring, doc) {
    withRing(k, c, doc, (r) => equal(r.jwks(), c.expect, 'JWKS'));
  },
};
