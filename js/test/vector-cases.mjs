// Runs the shared test vectors (tests/vectors/README.md) against a loaded `keyroll` module.
// Plain ESM with no Node imports: the node:test suite and the Chromium page both use it.

import { SIGNING_OPS } from './signing-cases.mjs';

const hex = (s) => {
  if (s.length % 2) throw new Error(`odd hex length: ${s}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const utf8 = (s) => new TextEncoder().encode(s);
const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

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

/** Core's snake_case expectation (nulls included) against the camelCase result (nulls left out). */
function matches(actual, expect, what) {
  for (const [key, want] of Object.entries(expect)) {
    equal(actual[camel(key)] ?? null, want, `${what}.${key}`);
  }
}

function tokenOf(c) {
  if (c.token !== undefined) return c.token;
  if (c.token_hex !== undefined) return hex(c.token_hex);
  return fail('case has neither token nor token_hex');
}

function ttlOptions(c) {
  return c.ttl ? { ttl: c.ttl.seconds, now: c.ttl.now } : {};
}

function summary(ring) {
  return {
    keyring_id: ring.id,
    active_version: ring.activeVersion ?? null,
    min_version: ring.minVersion,
    read_only: ring.readOnly,
    versions: ring.versions.map((v) => ({ kind: v.kind, state: v.state, version: v.version })),
  };
}

function openRing(k, spec) {
  if (spec.master_key_hex !== undefined) {
    return k.Keyring.load(spec.document, { masterKey: hex(spec.master_key_hex) });
  }
  return k.Keyring.load(spec.document, { passphrase: spec.passphrase });
}

/** One step of an `operations` case: the value it gives (undefined for none). */
function step(k, r, s) {
  const context = hex(s.context_hex ?? '');
  switch (s.do) {
    case 'add_version':
      return r.addVersion(s.now);
    case 'rotate':
      return r.rotate(s.now);
    case 'emergency_rotate':
      return r.emergencyRotate(s.reason, s.now);
    case 'promote':
      return r.promote(s.version, s.now);
    case 'set_state':
      return r.setState(s.version, s.state, { note: s.note ?? undefined, now: s.now });
    case 'set_min_version':
      return r.setMinVersion(s.minimum);
    case 'set_policy':
      return r.setPolicy({ rotateAfterDays: s.rotate_after_days, warnAfterDays: s.warn_after_days });
    case 'check_policy': {
      const status = r.checkPolicy(s.now);
      return Object.fromEntries(Object.keys(s.expect).map((key) => [key, status[camel(key)] ?? null]));
    }
    case 'encrypt': {
      const plaintext = hex(s.plaintext_hex);
      const token = r.encrypt(plaintext, { context, issuedAt: null });
      equal(toHex(r.decrypt(token, { context })), s.plaintext_hex, 'encrypt round trip');
      return k.inspect(token).keyVersion;
    }
    case 'decrypt':
      return toHex(r.decrypt(s.token, { context }));
    case 'summary':
      return summary(r);
    default:
      return fail(`unknown step '${s.do}'`);
  }
}

const OPS = {
  decrypt(k, c, ring) {
    const plaintext = ring().decrypt(tokenOf(c), { context: hex(c.context_hex), ...ttlOptions(c) });
    equal(toHex(plaintext), c.plaintext_hex, 'plaintext');
  },
  rewrap(k, c, ring) {
    const token = tokenOf(c);
    const context = hex(c.context_hex);
    const allowCompromised = c.allow_compromised === true;
    const fresh = ring().rewrap(token, { context, allowCompromised });
    const info = k.inspect(fresh);
    // JS's rewrap returns the token only; from_version/from_compromised are checked where a
    // binding reports them (Rust, Kotlin, Python's rewrapMany counts).
    if (allowCompromised && typeof c.expect_from_version !== 'number') fail('opt-in case without expect_from_version');
    equal(info.keyVersion, c.expect_version, 'rewrapped key version');
    // Text form whatever the input; the authenticated issued-at (none for raw GCM); new bytes.
    equal(info.format, c.expect_format, 'rewrapped form');
    equal(info.issuedAt ?? null, c.expect_issued_at, 'rewrapped issued-at');
    if (fresh === token) fail('rewrap returned its input unchanged');
    equal(toHex(ring().decrypt(fresh, { context })), c.plaintext_hex, 'rewrapped plaintext');
  },
  operations(k, c, ring, doc) {
    // Steps change the keyring: a fresh copy of the document for each case.
    const r = openRing(k, doc(c.keyring));
    try {
      c.steps.forEach((s, i) => {
        let got;
        try {
          got = step(k, r, s);
        } catch (e) {
          // Only the last step of a fail_* case may fail.
          if (i !== c.steps.length - 1) fail(`step ${i} (${s.do}) failed: ${e && e.message}`);
          throw e;
        }
        equal(got ?? null, s.expect ?? null, `step ${i} (${s.do})`);
      });
    } finally {
      r.free();
    }
  },
  check_successor(k, c, ring, doc) {
    const current = c.current === null ? null : doc(c.current).document;
    equal(k.Keyring.checkSuccessor(current, doc(c.next).document), c.expect_generation, 'generation');
  },
  check_not_rolled_back(k, c, ring, doc) {
    const got = k.Keyring.checkNotRolledBack(doc(c.keyring).document, c.highest_seen);
    equal(got, c.expect_generation, 'generation');
  },
  inspect(k, c) {
    matches(k.inspect(tokenOf(c)), c.expect, 'inspect');
  },
  load(k, c, ring) {
    equal(summary(ring()), c.expect, 'keyring');
  },
  policy(k, c, ring) {
    matches(ring().checkPolicy(c.now), c.expect, 'policy');
  },
  derive(k, c, ring) {
    const { version, key } = ring().deriveKey(c.purpose, c.length);
    equal(version, c.expect_version, 'derived key version');
    equal(toHex(key), c.expect_hex, 'derived key');
  },
  fernet_compat(k, c) {
    const ring = k.Keyring.fromFernetKeys(c.fernet_keys, 1700000000);
    try {
      equal(summary(ring), c.expect, 'compat keyring');
    } finally {
      ring.free();
    }
  },
  import_raw_gcm(k, c) {
    const ring = k.Keyring.generate(1700000000);
    try {
      const i = c.import;
      const key =
        i.key_utf8 !== undefined
          ? { key: utf8(i.key_utf8) }
          : i.key_hex !== undefined
            ? { key: hex(i.key_hex) }
            : { password: i.password_utf8, saltPattern: i.salt_pattern, iterations: i.iterations };
      ring.importRawGcm(key, { versionByte: i.version_byte ?? undefined, now: 1700000000 });
      equal(toHex(ring.decrypt(c.token)), c.plaintext_hex, 'plaintext');
    } finally {
      ring.free();
    }
  },
  blind_index(k, c, ring) {
    blindIndexCase(c, ring(), (index, value) => equal(index.compute(value), c.expect, 'blind index'));
  },
  blind_index_candidates(k, c, ring) {
    blindIndexCase(c, ring(), (index, value) => {
      equal(index.candidates(value), c.expect, 'candidates');
      equal(index.versions, c.expect_versions, 'candidate versions');
    });
  },
};

/** A blind-index case: text values as strings, raw bytes as Uint8Array. */
function blindIndexCase(c, ring, check) {
  const index = ring.blindIndex(c.index_name, { bits: c.bits, normalizer: c.normalizer });
  try {
    check(index, c.value_utf8 !== undefined ? c.value_utf8 : hex(c.value_hex));
  } finally {
    index.free();
  }
}

/**
 * Runs every case of one vector file. Returns one result per case:
 * `{ name, ok, error? }`; unknown ops and missing expectations are failures, never skips.
 */
export function runFile(k, file) {
  const rings = new Map();
  const ringFor = (name) => () => {
    if (!rings.has(name)) {
      const spec = file.keyrings?.[name] ?? fail(`no keyring '${name}' in the file`);
      rings.set(name, openRing(k, spec));
    }
    return rings.get(name);
  };
  const results = [];
  const doc = (name) => file.keyrings?.[name] ?? fail(`no keyring '${name}' in the file`);
  for (const c of file.cases) {
    const op = Object.hasOwn(OPS, c.op) ? OPS[c.op] : SIGNING_OPS[c.op];
    const ring = ringFor(c.keyring);
    try {
      if (!op) fail(`unknown op '${c.op}'`);
      if (c.name.startsWith('fail_')) {
        if (typeof c.error !== 'string') fail('fail_ case without an error code');
        let threw;
        try {
          op(k, c, ring, doc);
        } catch (e) {
          threw = e;
        }
        if (threw === undefined) fail(`succeeded, want ${c.error}`);
        if (!k.isKeyrollError(threw) || !(threw instanceof k.KeyrollError)) {
          fail(`threw ${threw}, want KeyrollError ${c.error}`);
        }
        equal(threw.code, c.error, 'error code');
        equal(threw.name, 'KeyrollError', 'error name');
      } else {
        op(k, c, ring, doc);
      }
      results.push({ name: c.name, ok: true });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: String(e && e.message ? e.message : e) });
    }
  }
  for (const r of rings.values()) r.free();
  return results;
}
