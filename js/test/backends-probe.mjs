// Run by backends.test.mjs in a child process per binding (KEYROLL_BACKEND=native | wasm):
// every shared vector through the public API, with every value the API returns and every
// error it throws written to a transcript (JSON on stdout). Values that are random by design
// (fresh nonces, salts, generated keys and ids) are recorded by type and length only.
import { readdirSync, readFileSync } from 'node:fs';
import * as keyroll from 'keyroll';
import { runFile } from './vector-cases.mjs';

const RANDOM = new Set(['encrypt', 'encryptBinary', 'encryptMany', 'rewrap', 'rewrapBinary', 'rewrapMany', 'dump', 'generate']);
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const transcript = [];
const generated = new WeakSet();
const wrapped = new WeakMap();

function shape(value, random) {
  if (value instanceof Uint8Array) return random ? `u8[${value.length}]` : `u8:${hex(value)}`;
  if (typeof value === 'string') return random ? `s[${value.length}]` : `s:${value}`;
  if (keyroll.isKeyrollError(value)) return { error: value.code, name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => shape(v, random));
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [shape(k), shape(v, random)]) };
  if (value instanceof keyroll.Keyring || value instanceof keyroll.BlindIndex || value instanceof keyroll.SigningKeyring) {
    return `[${value.constructor.name}]`;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k], random)]));
  }
  return value === undefined ? '<undefined>' : value;
}

/** Records one call's value or error, and wraps what it returns. */
function call(name, thunk, random) {
  let value;
  try {
    value = thunk();
  } catch (e) {
    transcript.push({ name, threw: shape(e) });
    throw e;
  }
  transcript.push({ name, value: shape(value, random) });
  return wrap(value);
}

function wrap(value) {
  if (!(value instanceof keyroll.Keyring || value instanceof keyroll.BlindIndex || value instanceof keyroll.SigningKeyring)) return value;
  if (!wrapped.has(value)) {
    wrapped.set(value, new Proxy(value, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        const name = `${target.constructor.name}.${String(prop)}`;
        const random = RANDOM.has(prop) || (prop === 'id' && generated.has(target));
        if (typeof v !== 'function') return call(name, () => v, random);
        return (...args) => call(name, () => v.apply(target, args), random);
      },
    }));
  }
  return wrapped.get(value);
}

function wrapClass(cls) {
  return new Proxy(cls, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function' || prop === 'prototype') return v;
      return (...args) =>
        call(`${target.name}.${String(prop)}`, () => {
          const out = v.apply(target, args);
          if (prop === 'generate') generated.add(out);
          return out;
        }, false);
    },
  });
}

const k = {
  ...keyroll,
  Keyring: wrapClass(keyroll.Keyring),
  SigningKeyring: wrapClass(keyroll.SigningKeyring),
  inspect: (token) => call('inspect', () => keyroll.inspect(token), false),
};
const dir = new URL('../../tests/vectors/v1/', import.meta.url);
const files = {};
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  transcript.length = 0;
  const results = runFile(k, JSON.parse(readFileSync(new URL(name, dir), 'utf8')));
  files[name] = { results, transcript: [...transcript] };
}
// Strings the addon reads by another path than ASCII tokens (bindings/node/src/bytes.rs): a
// character that Latin-1 would truncate to a base64 letter ('Ł' is U+0141, 'A' is 0x41), a lone
// surrogate, non-ASCII context and plaintext; and the text and binary forms of the same token.
transcript.length = 0;
{
  const ring = k.Keyring.fromFernetKeys(['cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4='], 1700000000);
  const token = keyroll.Keyring.fromFernetKeys(['cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4='], 1700000000).encrypt('żółw €', { context: 'ctx é' });
  const at = token.indexOf('A', 8);
  const tries = [
    token,
    token.slice(0, at) + 'Ł' + token.slice(at + 1),
    token + '\ud800',
    token.slice(0, 10) + '\udfff' + token.slice(10),
    token + 'é',
    token.toUpperCase(),
  ];
  for (const t of tries) {
    try {
      ring.decryptString(t, { context: 'ctx é' });
    } catch {
      // recorded
    }
  }
  files['edge strings'] = { results: [], transcript: [...transcript] };
}
process.stdout.write(JSON.stringify({ backend: keyroll.backend, aead: keyroll.aeadBackend(), files }));
