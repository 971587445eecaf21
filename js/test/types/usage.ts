// Compiled with `tsc --noEmit` (npm run typecheck) against the published declarations: the
// package imports itself by name, so this checks dist/index.d.ts through the exports map.
import {
  type BlindIndex,
  type BlindIndexNormalizer,
  BLIND_INDEX_NORMALIZERS,
  type DecryptOptions,
  type ErrorCode,
  type KeyState,
  type PolicyStatus,
  type TokenInfo,
  type VersionInfo,
  Keyring,
  KeyrollError,
  errorCodes,
  generateFernetKey,
  inspect,
  isKeyrollError,
  type RewrapReport,
} from 'keyroll';

const ring: Keyring = Keyring.generate();
const token: string = ring.encrypt('data', { context: 'users:42' });
const binary: Uint8Array = ring.encryptBinary(new Uint8Array(4), { context: new Uint8Array(2), issuedAt: null });
const options: DecryptOptions = { context: 'users:42', ttl: 3600, now: new Date() };
const plain: Uint8Array = ring.decrypt(token, options);
const text: string = ring.decryptString(binary);
const moved: string = ring.rewrap(token, { context: 'users:42' });
const plainBatch: Array<string | KeyrollError> = ring.rewrapMany([token], { context: 'users:42' });
const report: RewrapReport = ring.rewrapMany([token], { context: 'users:42', allowCompromised: true });
const fromCompromised: number = report.compromisedTotal + (report.compromised.get(1) ?? 0);
const many: Array<Uint8Array | KeyrollError> = ring.decryptMany([token, binary]);
const version: number = ring.rotate();
const emergency: number = ring.emergencyRotate('leaked', 1_700_000_000);
const versions: VersionInfo[] = ring.versions;
const state: KeyState = versions[0]!.state;
const status: PolicyStatus = ring.checkPolicy(Date.now() / 1000);
const derived: { version: number; key: Uint8Array } = ring.deriveKey('pii', 32);
const info: TokenInfo = inspect(token);
const doc: string = ring.dump({ passphrase: 'pw', iterations: 600_000 });
const again: Keyring = Keyring.load(doc, { passphrase: 'pw' });
const sealed: string = ring.dump({ masterKey: new Uint8Array(32) });
const later: Promise<Keyring> = Keyring.loadAsync(doc, { passphrase: new Uint8Array(2) });
const sealedLater: Promise<string> = ring.dumpAsync({ passphrase: 'pw' });
const compat: Keyring = Keyring.fromFernetKeys([generateFernetKey()]);
const codes: ErrorCode[] = errorCodes();
ring.setState(1, 'disabled', { note: 'retired' });
ring[Symbol.dispose]();
again.free();

try {
  compat.decrypt(token);
} catch (e) {
  if (isKeyrollError(e)) {
    const code: ErrorCode = e.code;
    const name: string = e.name;
    void [code, name];
  }
}

// @ts-expect-error: states are a closed set
ring.setState(1, 'retired');
// @ts-expect-error: load needs a passphrase or a master key
Keyring.load(doc, {});
// @ts-expect-error: a master key is bytes, not a string
ring.dump({ masterKey: 'hex' });

// Blind indexes: typed normalisers, bits required.
const email: BlindIndex = ring.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
const stored: string = email.compute('a@b.c');
const lookup: string[] = email.candidates(new Uint8Array(1));
const biVersion: number | undefined = email.activeVersion;
const biNormalizer: BlindIndexNormalizer = email.normalizer;
void [stored, lookup, biVersion, biNormalizer, email.versions, BLIND_INDEX_NORMALIZERS];
// @ts-expect-error: normalisers are a closed set
ring.blindIndex('e', { bits: 64, normalizer: 'lower' });
// @ts-expect-error: bits are required
ring.blindIndex('e', {});

void [later, sealedLater, binary, plain, text, moved, plainBatch, report, fromCompromised, many, version, emergency, state, status, derived, info, sealed, codes];

// Signing keyrings (issue 13).
import { type Jwks, type SigningAlgorithm, type VerifiedJwt, SigningKeyring } from 'keyroll';
const alg: SigningAlgorithm = 'ed25519';
const signer: SigningKeyring = SigningKeyring.generate(alg, 1_700_000_000);
const jwt: string = signer.signJwt({ sub: '42' }, { now: new Date() });
const checked: VerifiedJwt<{ sub: string }> = signer.verifyJwt<{ sub: string }>(jwt, { audience: 'api', leeway: 30 });
const sub: string = checked.claims.sub;
const set: Jwks = signer.jwks();
const app: SigningKeyring = SigningKeyring.fromPublicKeyset(signer.publicKeyset());
const message: Uint8Array = app.verify(signer.sign('m', { context: 'c' }), { context: 'c' }).message;
const legacy: SigningKeyring = SigningKeyring.fromLegacySecret('x'.repeat(32));
const staged: number = legacy.addVersion('hmac_sha256');
void [sub, set, message, staged, app];
