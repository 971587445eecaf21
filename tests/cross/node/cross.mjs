// The Node side of the cross-language harness (tests/cross/README.md), over the built npm
// package (js/dist, made by js/scripts/build.sh).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as keyroll from '../../../js/dist/node.js';

const { Keyring, isKeyrollError } = keyroll;
const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

function plaintext(c) {
  if (c.plaintext_repeat) return hex(c.plaintext_repeat.hex.repeat(c.plaintext_repeat.times));
  return hex(c.plaintext_hex);
}

function write(spec, dir) {
  const ring = Keyring.generate(spec.generated_at);
  const fernet = Keyring.fromFernetKeys(spec.fernet_keys, spec.generated_at);
  const tokens = {};
  const seal = (r, c) => {
    const options = { context: c.context, issuedAt: c.issued_at };
    tokens[c.name] =
      c.form === 'binary' ? { hex: toHex(r.encryptBinary(plaintext(c), options)) } : r.encrypt(plaintext(c), options);
  };
  for (const phase of ['old', 'active']) {
    if (phase === 'active') ring.rotate(spec.rotated_at);
    for (const c of spec.cases) if (c.version === phase) seal(c.keyring === 'fernet' ? fernet : ring, c);
  }
  writeFileSync(join(dir, 'keyring.json'), ring.dump({ passphrase: spec.passphrase, iterations: spec.iterations }));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ writer: 'node', tokens }));
}

function read(spec, dir) {
  const written = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'));
  const ring = Keyring.load(readFileSync(join(dir, 'keyring.json')), { passphrase: spec.passphrase });
  const fernet = Keyring.fromFernetKeys(spec.fernet_keys, spec.generated_at);
  const fernetVersion = Keyring.fromFernetKeys(spec.fernet_keys.slice(0, 1), spec.generated_at).activeVersion;
  const mine = Keyring.generate();
  const errors = [];
  const cases = new Map(spec.cases.map((c) => [c.name, c]));
  const tokenOf = (name) => {
    const t = written.tokens[name];
    return typeof t === 'string' ? t : hex(t.hex);
  };
  const ringOf = (c) => (c.keyring === 'fernet' ? fernet : ring);
  const same = (a, b) => toHex(a) === toHex(b);

  for (const [name, c] of cases) {
    const token = tokenOf(name);
    const r = ringOf(c);
    try {
      const opened = r.decrypt(token, { context: c.context });
      if (!same(opened, plaintext(c))) errors.push(`${name}: wrong plaintext`);
      const v = r.verify(token, { context: c.context });
      const want = c.keyring === 'fernet' ? fernetVersion : c.version === 'old' ? 1 : 2;
      if (v.keyVersion !== want || (v.issuedAt ?? null) !== c.issued_at) {
        errors.push(`${name}: verify gave ${JSON.stringify(v)}, want v${want} at ${c.issued_at}`);
      }
      if (!same(mine.decrypt(mine.encrypt(opened)), plaintext(c))) errors.push(`${name}: re-encrypted copy differs`);
      const moved = r.rewrap(token, { context: c.context });
      if (!same(r.decrypt(moved, { context: c.context }), plaintext(c))) errors.push(`${name}: rewrap lost the plaintext`);
    } catch (e) {
      errors.push(`${name}: ${isKeyrollError(e) ? e.code : ''}: ${e}`);
    }
  }
  for (const f of spec.failures) {
    const c = cases.get(f.case);
    let token = tokenOf(c.name);
    if (f.flip_last_byte) {
      if (typeof token === 'string') throw new Error('flip_last_byte is defined for binary cases only');
      token = token.slice();
      token[token.length - 1] ^= 1;
    }
    const options = { context: f.context ?? c.context, ...(f.ttl ? { ttl: f.ttl.seconds, now: f.ttl.now } : {}) };
    try {
      ringOf(c).decrypt(token, options);
      errors.push(`${f.name}: decrypted, want ${f.code}`);
    } catch (e) {
      if (!isKeyrollError(e)) errors.push(`${f.name}: threw ${e}, want KeyrollError ${f.code}`);
      else if (e.code !== f.code) errors.push(`${f.name}: got ${e.code}, want ${f.code}`);
    }
  }
  const who = `node read ${written.writer}`;
  if (errors.length) {
    console.error(`cross: ${who}: FAILED\n  ${errors.join('\n  ')}`);
    return 1;
  }
  console.log(`cross: ${who}: ${cases.size} cases, ${spec.failures.length} failure codes ok`);
  return 0;
}

const [command, casesPath, dir] = process.argv.slice(2);
if (!['write', 'read'].includes(command) || !dir) {
  console.error('usage: cross.mjs write|read CASES DIR');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(casesPath, 'utf8'));
if (command === 'write') write(spec, dir);
else process.exitCode = read(spec, dir);
