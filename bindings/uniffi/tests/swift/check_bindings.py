"""Checks the generated Swift bindings as text (no Swift toolchain can be installed here).

Usage: python3 check_bindings.py target/uniffi/swift target/release/libkeyroll_uniffi.so

1. The three files an Xcode target / XCFramework needs exist: Keyroll.swift, KeyrollFFI.h and
   KeyrollFFI.modulemap (module KeyrollFFI, header KeyrollFFI.h).
2. Every UniFFI symbol the library exports (nm -D) is declared in the header and used by the
   Swift file, and nothing is declared that the library lacks: the three agree.
3. The public Swift API is what docs/mobile.md and swift/VectorsTests.swift use, signature by
   signature (whitespace-normalised).
4. VectorsTests.swift handles every op and every `operations` step the vector files use (it
   cannot be run here, so a new op must not go unnoticed in it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

API = [
    # The object and its constructors.
    "open class Keyring: KeyringProtocol, @unchecked Sendable, CustomDebugStringConvertible {",
    "public static func fromDocumentWithPassphrase(document: Data, passphrase: Data) throws -> Keyring {",
    "public static func fromDocumentWithMasterKey(document: Data, masterKey: Data) throws -> Keyring {",
    "public static func generate(now: UInt64) throws -> Keyring {",
    "public static func fromFernetKeys(keys: [String], now: UInt64) throws -> Keyring {",
    # Reading.
    "open func decrypt(token: Data, context: Data, ttl: Ttl? = nil) throws -> Data {",
    "open func verify(token: Data, context: Data, ttl: Ttl? = nil) throws -> Verified {",
    "open func encrypt(plaintext: Data, context: Data, issuedAt: UInt64? = nil) throws -> String {",
    "open func encryptBinary(plaintext: Data, context: Data, issuedAt: UInt64? = nil) throws -> Data {",
    "open func decryptMany(tokens: [Data], context: Data, ttl: Ttl? = nil) -> [DecryptOutcome] {",
    "open func rewrap(token: Data, context: Data) throws -> String {",
    "open func needsRewrap(token: Data) throws -> Bool {",
    "open func versions() -> [VersionInfo] {",
    "open func id() -> String {",
    "open func activeVersion() -> UInt32? {",
    "open func isReadOnly() -> Bool {",
    "open func minVersion() -> UInt32 {",
    "open func checkPolicy(now: UInt64) -> PolicyStatus {",
    "open func deriveKey(purpose: Data, length: UInt32) throws -> DerivedKey {",
    # Blind indexes (docs/wire-format.md §11).
    "open func blindIndex(name: String, normalizer: String, bits: UInt32) throws -> BlindIndex {",
    "open class BlindIndex: BlindIndexProtocol, @unchecked Sendable, CustomDebugStringConvertible {",
    "open func compute(value: Data) throws -> String {",
    "open func computeText(value: String) throws -> String {",
    "open func candidates(value: Data) throws -> [String] {",
    "open func candidatesText(value: String) throws -> [String] {",
    "open func versions() -> [UInt32] {",
    "open func bits() -> UInt32 {",
    "open func normalizer() -> String {",
    # Changing and exporting.
    "open func rotate(now: UInt64) throws -> UInt32 {",
    "open func importRawGcm(`import`: RawGcmImport, now: UInt64) throws -> UInt32 {",
    "open func exportDecryptOnly(versions: [UInt32]) throws -> Keyring {",
    "open func toDocumentWithPassphrase(passphrase: Data, iterations: UInt32 = UInt32(600000)) throws -> Data {",
    "open func toDocumentWithMasterKey(masterKey: Data) throws -> Data {",
    # Life cycle (vectors: operations.json) and rewrap's compromised opt-in.
    "open func addVersion(now: UInt64) throws -> UInt32 {",
    "open func promote(version: UInt32, now: UInt64) throws {",
    "open func emergencyRotate(reason: String, now: UInt64) throws -> UInt32 {",
    "open func setState(version: UInt32, state: KeyState, note: String? = nil, now: UInt64) throws {",
    "open func setMinVersion(minimum: UInt32) throws {",
    "open func setPolicy(rotateAfterDays: UInt32, warnAfterDays: UInt32) throws {",
    "open func rewrapWith(token: Data, context: Data, allowCompromised: Bool) throws -> RewrapResult {",
    "public struct RewrapResult: Equatable, Hashable {",
    # Generation rules on stored documents (§7).
    "public func documentGeneration(document: Data) throws -> UInt64 {",
    "public func checkSuccessor(current: Data?, next: Data) throws -> UInt64 {",
    "public func checkNotRolledBack(document: Data, highestSeen: UInt64) throws -> UInt64 {",
    "public var debugDescription: String {",
    # Signing keyrings (issue 13): verify-only from a public keyset, and full signing.
    "open class SigningKeyring: SigningKeyringProtocol, @unchecked Sendable, CustomDebugStringConvertible {",
    "public static func fromPublicKeyset(keyset: String) throws -> SigningKeyring {",
    "public static func fromDocumentWithMasterKey(document: Data, masterKey: Data) throws -> SigningKeyring {",
    "public static func fromHmacSecret(secret: Data, now: UInt64) throws -> SigningKeyring {",
    "public static func generate(algorithm: SigningAlgorithm, now: UInt64) throws -> SigningKeyring {",
    "open func verify(signed: Data, context: Data) throws -> VerifiedMessage {",
    "open func verifyJwt(token: String, options: JwtOptions, now: UInt64) throws -> VerifiedJwt {",
    "open func sign(message: Data, context: Data) throws -> String {",
    "open func signJwt(claimsJson: String, now: UInt64) throws -> String {",
    "open func publicKeyset() throws -> String {",
    "open func jwks() throws -> String {",
    "open func addVersion(algorithm: SigningAlgorithm, now: UInt64) throws -> UInt32 {",
    "public struct JwtOptions: Equatable, Hashable {",
    "public struct VerifiedJwt: Equatable, Hashable {",
    "public struct VerifiedMessage: Equatable, Hashable {",
    "public enum SigningAlgorithm: Equatable, Hashable {",
    # Free functions.
    "public func inspect(token: Data) throws -> TokenInfo {",
    "public func errorCodes() -> [String] {",
    "public func defaultPbkdf2Iterations() -> UInt32 {",
    # The error: one type, a code on it.
    "enum KeyrollError: Swift.Error, Equatable, Hashable, Foundation.LocalizedError {",
    "case Failed( code: String, reason: String )",
    "public func code() -> String {",
    # Records and enums.
    "public struct Ttl: Equatable, Hashable {",
    "public struct Verified: Equatable, Hashable {",
    "public struct TokenInfo: Equatable, Hashable {",
    "public struct VersionInfo: Equatable, Hashable {",
    "public struct PolicyStatus: Equatable, Hashable {",
    "public struct DerivedKey: Equatable, Hashable {",
    "public struct RawGcmImport: Equatable, Hashable {",
    "public enum RawGcmKey: Equatable, Hashable {",
    "public enum DecryptOutcome: Equatable, Hashable {",
    "public enum KeyState: Equatable, Hashable {",
    "public enum KeyKind: Equatable, Hashable {",
    "public enum TokenFormat: Equatable, Hashable {",
    "public enum PolicyState: Equatable, Hashable {",
]


# uniffi 0.32 exports a checksum for methods on error enums (`KeyrollError.code`) but neither
# the Swift nor the Kotlin generator declares or checks it; the method itself is checked below.
UNCHECKED_CHECKSUMS = {"uniffi_keyroll_uniffi_checksum_method_keyrollerror_code"}


def normalise(text: str) -> str:
    text = re.sub(r"/\*\*.*?\*/", " ", text, flags=re.S)  # doc comments inside signatures
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*([(){}\[\],:?])\s*", r"\1", text)


def main() -> int:
    out, lib = Path(sys.argv[1]), Path(sys.argv[2])
    errors: list[str] = []
    files = {n: out / n for n in ("Keyroll.swift", "KeyrollFFI.h", "KeyrollFFI.modulemap")}
    for name, path in files.items():
        if not path.is_file() or path.stat().st_size == 0:
            errors.append(f"{name} was not generated")
    if errors:
        print(*errors, sep="\n", file=sys.stderr)
        return 1
    swift = files["Keyroll.swift"].read_text()
    header = files["KeyrollFFI.h"].read_text()
    modulemap = normalise(files["KeyrollFFI.modulemap"].read_text())
    if 'module KeyrollFFI{header "KeyrollFFI.h" export *' not in modulemap:
        errors.append(f"modulemap does not export KeyrollFFI.h: {modulemap}")
    if "import KeyrollFFI" not in swift:
        errors.append("Keyroll.swift does not import KeyrollFFI")

    nm = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True)
    exported = {
        line.split()[-1]
        for line in nm.stdout.splitlines()
        if re.search(r"\b(uniffi_keyroll_uniffi_|ffi_keyroll_uniffi_)", line)
    } - UNCHECKED_CHECKSUMS
    declared = set(re.findall(r"\b((?:uniffi|ffi)_keyroll_uniffi_\w+)\s*\(", header))
    functions = {s for s in exported if "_fn_" in s}
    if len(functions) < 25:
        errors.append(f"only {len(functions)} exported UniFFI functions in {lib}")
    for sym in sorted(exported - declared):
        errors.append(f"{sym}: exported by the library, missing from KeyrollFFI.h")
    for sym in sorted(declared - exported):
        errors.append(f"{sym}: declared in KeyrollFFI.h, not exported by the library")
    for sym in sorted(functions | {s for s in exported if "_checksum_" in s}):
        if not re.search(rf"\b{sym}\b", swift):
            errors.append(f"{sym}: never called from Keyroll.swift")

    flat = normalise(swift)
    for sig in API:
        if normalise(sig) not in flat:
            errors.append(f"Swift API missing: {sig}")
    here = Path(__file__).resolve().parent
    # VectorsTests.swift and the files that extend it (SigningTests.swift: the signing ops).
    tests = "".join(p.read_text() for p in sorted(here.glob("*Tests.swift")))
    ops: set[str] = set()
    steps: set[str] = set()
    for path in sorted((here.parents[3] / "tests" / "vectors" / "v1").glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            ops.add(case["op"])
            steps.update(s["do"] for s in case.get("steps", []))
    if len(ops) < 10:
        errors.append(f"only {len(ops)} vector ops found")
    for name in sorted(ops | steps):
        if f'case "{name}"' not in tests:
            errors.append(f'VectorsTests.swift has no case "{name}" (a vector op or step)')
    if errors:
        print("swift bindings: FAILED", *errors, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"swift bindings: Keyroll.swift, KeyrollFFI.h, KeyrollFFI.modulemap generated; "
        f"{len(exported)} library symbols = header = Swift calls ({len(functions)} functions); "
        f"{len(API)} public API signatures present; VectorsTests.swift handles all "
        f"{len(ops)} vector ops and {len(steps)} steps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
