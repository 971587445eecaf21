// XCTest suite for the Swift bindings: every shared vector (tests/vectors/v1) and the mobile
// workflow, mirroring bindings/uniffi/tests/kotlin/src/{Vectors,ApiChecks}.kt.
//
// NOT COMPILED OR RUN IN THIS REPOSITORY'S CI: no Swift toolchain can be installed on the
// Linux machines it runs on. CI generates the Swift bindings and checks them as text
// (check_bindings.py). On a Mac, see docs/mobile.md ("Running the Swift tests").

import Foundation
import XCTest
import Keyroll

// MARK: - JSON as the vector files hold it (u64 values up to 2^64-1 survive)

indirect enum J: Decodable, Equatable {
    case null
    case bool(Bool)
    case uint(UInt64)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([J])
    case object([String: J])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let u = try? c.decode(UInt64.self) {
            self = .uint(u)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([J].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: J].self))
        }
    }

    subscript(key: String) -> J { if case let .object(o) = self { return o[key] ?? .null }; return .null }
    var string: String? { if case let .string(s) = self { return s }; return nil }
    var uint: UInt64? { if case let .uint(u) = self { return u }; return nil }
    var array: [J] { if case let .array(a) = self { return a }; return [] }
    var object: [String: J] { if case let .object(o) = self { return o }; return [:] }
}

extension Optional where Wrapped == UInt64 { var j: J { map(J.uint) ?? .null } }
extension Optional where Wrapped == UInt32 { var j: J { map { J.uint(UInt64($0)) } ?? .null } }
extension Optional where Wrapped == String { var j: J { map(J.string) ?? .null } }
extension UInt32 { var j: J { .uint(UInt64(self)) } }
extension UInt64 { var j: J { .uint(self) } }

extension Data {
    init(hex: String) {
        var bytes = [UInt8]()
        var i = hex.startIndex
        while i < hex.endIndex {
            let next = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<next], radix: 16)!)
            i = next
        }
        self.init(bytes)
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// The enum case name in the spec's snake_case (`decryptOnly` -> `decrypt_only`).
func snake<T>(_ value: T) -> String {
    let name = "\(value)"
    var out = ""
    for ch in name {
        if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
    }
    return out
}

// MARK: - Vectors

final class VectorsTests: XCTestCase {
    static let vectorDir: URL = {
        if let dir = ProcessInfo.processInfo.environment["KEYROLL_VECTORS"] {
            return URL(fileURLWithPath: dir)
        }
        // bindings/uniffi/tests/swift/VectorsTests.swift -> tests/vectors/v1
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tests/vectors/v1")
    }()

    func openRing(_ entry: J) -> Result<Keyring, KeyrollError> {
        Result {
            let doc = Data(entry["document"].string!.utf8)
            if let pass = entry["passphrase"].string {
                return try Keyring.fromDocumentWithPassphrase(document: doc, passphrase: Data(pass.utf8))
            }
            return try Keyring.fromDocumentWithMasterKey(document: doc, masterKey: Data(hex: entry["master_key_hex"].string!))
        }.mapError { $0 as! KeyrollError }
    }

    func token(_ c: J) -> Data {
        if let t = c["token"].string { return Data(t.utf8) }
        return Data(hex: c["token_hex"].string!)
    }

    func summary(_ r: Keyring) -> J {
        .object([
            "keyring_id": .string(r.id()),
            "active_version": r.activeVersion().j,
            "min_version": r.minVersion().j,
            "read_only": .bool(r.isReadOnly()),
            "versions": .array(r.versions().map {
                .object(["version": $0.version.j, "kind": .string(snake($0.kind)), "state": .string(snake($0.state))])
            }),
        ])
    }

    func keyState(_ s: String) -> KeyState {
        switch s {
        case "pending": return .pending
        case "active": return .active
        case "decrypt_only": return .decryptOnly
        case "disabled": return .disabled
        case "compromised": return .compromised
        case "destroyed": return .destroyed
        default: XCTFail("unknown state \(s)"); return .pending
        }
    }

    /// One step of an `operations` case: the value it gives (.null for none).
    func step(_ r: Keyring, _ s: J) throws -> J {
        let ctx = Data(hex: s["context_hex"].string ?? "")
        let now = s["now"].uint ?? 0
        let version = UInt32(s["version"].uint ?? 0)
        switch s["do"].string! {
        case "add_version": return try r.addVersion(now: now).j
        case "rotate": return try r.rotate(now: now).j
        case "emergency_rotate": return try r.emergencyRotate(reason: s["reason"].string!, now: now).j
        case "promote": try r.promote(version: version, now: now); return .null
        case "set_state":
            try r.setState(version: version, state: keyState(s["state"].string!), note: s["note"].string, now: now)
            return .null
        case "set_min_version": try r.setMinVersion(minimum: UInt32(s["minimum"].uint!)); return .null
        case "set_policy":
            try r.setPolicy(rotateAfterDays: UInt32(s["rotate_after_days"].uint!), warnAfterDays: UInt32(s["warn_after_days"].uint!))
            return .null
        case "check_policy":
            let p = r.checkPolicy(now: now)
            return .object([
                "state": .string(snake(p.state)), "active_version": p.activeVersion.j,
                "age_seconds": p.ageSeconds.j, "warn_at": p.warnAt.j, "due_at": p.dueAt.j,
            ])
        case "encrypt":
            let plaintext = Data(hex: s["plaintext_hex"].string!)
            let token = Data(try r.encrypt(plaintext: plaintext, context: ctx).utf8)
            XCTAssertEqual(try r.decrypt(token: token, context: ctx), plaintext)
            return try inspect(token: token).keyVersion.j
        case "decrypt": return .string(try r.decrypt(token: Data(s["token"].string!.utf8), context: ctx).hex)
        case "summary": return summary(r)
        case let other:
            XCTFail("unknown step \(other)")
            return .null
        }
    }

    func run(_ c: J, _ rings: [String: Result<Keyring, KeyrollError>], _ entries: [String: J]) throws -> [String: J] {
        let ring = { try rings[c["keyring"].string!]!.get() }
        let ctx = Data(hex: c["context_hex"].string ?? "")
        switch c["op"].string! {
        case "decrypt":
            let ttl = c["ttl"] == .null ? nil : Ttl(seconds: c["ttl"]["seconds"].uint!, now: c["ttl"]["now"].uint!)
            return ["plaintext_hex": .string(try ring().decrypt(token: token(c), context: ctx, ttl: ttl).hex)]
        case "rewrap":
            let r = try ring()
            let optIn = c["allow_compromised"] == .bool(true)
            let out = try r.rewrapWith(token: token(c), context: ctx, allowCompromised: optIn)
            let fresh = Data(out.token.utf8)
            XCTAssertNotEqual(fresh, token(c), "\(c["name"]): rewrap returned its input")
            let info = try inspect(token: fresh)
            var got: [String: J] = [
                "plaintext_hex": .string(try r.decrypt(token: fresh, context: ctx).hex),
                "expect_version": info.keyVersion.j,
                "expect_format": .string(snake(info.format)),
                "expect_issued_at": info.issuedAt.j,
            ]
            if optIn {
                got["expect_from_version"] = out.fromVersion.j
                got["expect_from_compromised"] = .bool(out.fromCompromised)
            } else {
                _ = try r.rewrap(token: token(c), context: ctx)
            }
            return got
        case "operations":
            // Steps change the keyring: a fresh copy of the document for each case.
            let r = try openRing(entries[c["keyring"].string!]!).get()
            let steps = c["steps"].array
            for (i, s) in steps.enumerated() {
                let got: J
                do {
                    got = try step(r, s)
                } catch {
                    // Only the last step of a fail_* case may fail.
                    XCTAssertEqual(i, steps.count - 1, "\(c["name"]): step \(i) failed: \(error)")
                    throw error
                }
                XCTAssertEqual(got, s["expect"], "\(c["name"]): step \(i)")
            }
            return [:]
        case "check_successor":
            let doc = { (name: String) in Data(entries[name]!["document"].string!.utf8) }
            let current = c["current"].string.map(doc)
            return ["expect_generation": try checkSuccessor(current: current, next: doc(c["next"].string!)).j]
        case "check_not_rolled_back":
            let doc = Data(entries[c["keyring"].string!]!["document"].string!.utf8)
            return ["expect_generation": try checkNotRolledBack(document: doc, highestSeen: c["highest_seen"].uint!).j]
        case "inspect":
            let i = try inspect(token: token(c))
            return ["expect": .object([
                "format": .string(snake(i.format)), "algorithm": .string(i.algorithm),
                "keyring_id": i.keyringId.j, "key_version": i.keyVersion.j, "issued_at": i.issuedAt.j,
                "token_len": i.tokenLen.j, "binary_len": i.binaryLen.j, "header_len": i.headerLen.j,
                "ciphertext_len": i.ciphertextLen.j,
                "plaintext_len": i.plaintextLen.j,
            ])]
        case "load":
            return ["expect": summary(try ring())]
        case "policy":
            let s = try ring().checkPolicy(now: c["now"].uint!)
            return ["expect": .object([
                "state": .string(snake(s.state)), "active_version": s.activeVersion.j,
                "age_seconds": s.ageSeconds.j, "warn_at": s.warnAt.j, "due_at": s.dueAt.j,
            ])]
        case "derive":
            let d = try ring().deriveKey(purpose: Data(c["purpose"].string!.utf8), length: UInt32(c["length"].uint!))
            return ["expect_hex": .string(d.key.hex), "expect_version": d.version.j]
        case "fernet_compat":
            let keys = c["fernet_keys"].array.map { $0.string! }
            return ["expect": summary(try Keyring.fromFernetKeys(keys: keys, now: 0))]
        case "import_raw_gcm":
            let spec = c["import"]
            let key: RawGcmKey
            if let k = spec["key_utf8"].string {
                key = .bytes(key: Data(k.utf8))
            } else if let k = spec["key_hex"].string {
                key = .bytes(key: Data(hex: k))
            } else {
                key = .pbkdf2(password: Data(spec["password_utf8"].string!.utf8),
                              saltPattern: spec["salt_pattern"].string!,
                              iterations: UInt32(spec["iterations"].uint!))
            }
            let r = try Keyring.generate(now: 0)
            _ = try r.importRawGcm(import: RawGcmImport(key: key, versionByte: spec["version_byte"].uint.map { UInt8($0) }), now: 0)
            return ["plaintext_hex": .string(try r.decrypt(token: token(c), context: Data()).hex)]
        case "blind_index":
            let (ix, value) = try blindIndex(c, try ring())
            return ["expect": .string(try ix.compute(value: value))]
        case "blind_index_candidates":
            let (ix, value) = try blindIndex(c, try ring())
            return ["expect": .array(try ix.candidates(value: value).map { J.string($0) }),
                    "expect_versions": .array(ix.versions().map { $0.j })]
        case let op:
            if let got = try signing(op, c, entries) { return got }
            XCTFail("unknown op \(op)")
            return [:]
        }
    }

    /// The index of a blind-index case and its value (text as UTF-8, raw bytes from hex).
    func blindIndex(_ c: J, _ r: Keyring) throws -> (BlindIndex, Data) {
        let ix = try r.blindIndex(name: c["index_name"].string!, normalizer: c["normalizer"].string!,
                                  bits: UInt32(c["bits"].uint!))
        let value = c["value_utf8"].string.map { Data($0.utf8) } ?? Data(hex: c["value_hex"].string!)
        return (ix, value)
    }

    func testEveryVectorFile() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.vectorDir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertGreaterThanOrEqual(files.count, 6, "vector files missing in \(Self.vectorDir.path)")
        var positive = 0
        var negative = 0
        let known = Set(errorCodes())
        for file in files {
            let doc = try JSONDecoder().decode(J.self, from: Data(contentsOf: file))
            let entries = doc["keyrings"].object
            let rings = entries.mapValues(openRing)
            for c in doc["cases"].array {
                let name = "\(file.lastPathComponent):\(c["name"].string!)"
                if c["name"].string!.hasPrefix("fail_") {
                    let want = c["error"].string!
                    XCTAssertTrue(known.contains(want), "\(name): \(want) not in errorCodes()")
                    do {
                        let got = try run(c, rings, entries)
                        XCTFail("\(name): succeeded with \(got), wanted \(want)")
                    } catch let e as KeyrollError {
                        XCTAssertEqual(e.code(), want, "\(name): \(e)")
                    }
                    negative += 1
                } else {
                    do {
                        for (field, value) in try run(c, rings, entries) {
                            XCTAssertEqual(c[field], value, "\(name): \(field)")
                        }
                    } catch let e as KeyrollError {
                        XCTFail("\(name): \(e.code()): \(e)")
                    }
                    positive += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(positive, 90)
        XCTAssertGreaterThanOrEqual(negative, 90)
    }

    // MARK: - The mobile workflow

    let now: UInt64 = 1_700_000_000
    let ctx = Data("users:42:card".utf8)
    let secret = Data("4111 1111 1111 1111".utf8)

    func testDecryptOnlyExport() throws {
        let server = try Keyring.generate(now: now)
        let old = try server.encrypt(plaintext: secret, context: ctx, issuedAt: now)
        _ = try server.rotate(now: now + 86_400)
        let current = try server.encryptBinary(plaintext: secret, context: ctx)
        let masterKey = Data((0..<32).map { UInt8($0) })
        let shipped = try server.exportDecryptOnly(versions: [1, 2]).toDocumentWithMasterKey(masterKey: masterKey)

        let app = try Keyring.fromDocumentWithMasterKey(document: shipped, masterKey: masterKey)
        XCTAssertTrue(app.isReadOnly())
        XCTAssertNil(app.activeVersion())
        XCTAssertEqual(try app.decrypt(token: Data(old.utf8), context: ctx), secret)
        XCTAssertEqual(try app.verify(token: current, context: ctx).keyVersion, 2)
        XCTAssertEqual(try app.verify(token: Data(old.utf8), context: ctx).issuedAt, now)
        XCTAssertThrowsError(try app.encrypt(plaintext: secret, context: ctx)) {
            XCTAssertEqual(($0 as? KeyrollError)?.code(), "no_active_key")
        }
        XCTAssertThrowsError(try Keyring.fromDocumentWithMasterKey(document: shipped, masterKey: Data(count: 32))) {
            XCTAssertEqual(($0 as? KeyrollError)?.code(), "bad_passphrase")
        }
        let info = try inspect(token: Data(old.utf8))
        XCTAssertEqual(info.format, .keyrollV1Text)
        XCTAssertEqual(info.keyringId, server.id())
        XCTAssertEqual(info.keyVersion, 1)
    }

    func testOneErrorTypeWithCode() throws {
        let ring = try Keyring.generate(now: now)
        do {
            _ = try ring.decrypt(token: try ring.encryptBinary(plaintext: secret, context: ctx), context: Data("other".utf8))
            XCTFail("wrong context decrypted")
        } catch let e as KeyrollError {
            XCTAssertEqual(e.code(), "decrypt_failed")
            guard case let .Failed(code, reason) = e else { return XCTFail("variant") }
            XCTAssertEqual(code, e.code())
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testDecryptManyGivesOneResultPerToken() throws {
        let ring = try Keyring.generate(now: now)
        let good = try ring.encryptBinary(plaintext: secret, context: ctx)
        let out = ring.decryptMany(tokens: [good, good.dropLast(1), Data()], context: ctx)
        XCTAssertEqual(out.count, 3)
        XCTAssertEqual(out[0], .plaintext(plaintext: secret))
        guard case let .failure(code, _) = out[1] else { return XCTFail("\(out[1])") }
        XCTAssertEqual(code, "decrypt_failed")
        guard case .failure = out[2] else { return XCTFail("\(out[2])") }
    }

    func testOneKeyringManyThreads() throws {
        let ring = try Keyring.generate(now: now)
        let tokens = try (0..<64).map { try ring.encryptBinary(plaintext: Data("row \($0)".utf8), context: ctx) }
        let lock = NSLock()
        var ok = 0
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var mine = 0
            for i in 0..<200 {
                let k = (i * 7 + t) % tokens.count
                if let pt = try? ring.decrypt(token: tokens[k], context: ctx), pt == Data("row \(k)".utf8) { mine += 1 }
            }
            lock.lock(); ok += mine; lock.unlock()
        }
        XCTAssertEqual(ok, 8 * 200)
    }

    func testSecretsStayOutOfDescriptions() throws {
        let ring = try Keyring.generate(now: now)
        let derived = try ring.deriveKey(purpose: Data("pii".utf8), length: 32)
        let masterKey = Data((0..<32).map { UInt8(255 - $0) })
        let doc = try ring.toDocumentWithMasterKey(masterKey: masterKey)
        var shown = ring.debugDescription + String(describing: derived)
        do {
            _ = try Keyring.fromDocumentWithPassphrase(document: doc, passphrase: Data("hunter2".utf8))
        } catch {
            shown += String(describing: error) + error.localizedDescription
        }
        XCTAssertTrue(shown.contains(ring.id()))
        for secret in [masterKey.hex, derived.key.hex, "hunter2"] {
            XCTAssertFalse(shown.lowercased().contains(secret))
        }
    }
}
