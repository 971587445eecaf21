// XCTest cases for signing keyrings in Swift: the ops of tests/vectors/v1/signing.json (called
// from VectorsTests.run) and the app-side workflow — a public keyset alone verifying Ed25519
// tokens across a rotation. Mirrors bindings/uniffi/tests/kotlin/src/Signing{Vectors,Checks}.kt.
//
// NOT COMPILED OR RUN IN THIS REPOSITORY'S CI (no Swift toolchain on Linux here): CI checks the
// generated API as text and that every vector op has a `case` here (check_bindings.py).

import Foundation
import XCTest
import Keyroll

extension VectorsTests {
    /// The case's signing keyring: exactly one of `keyring`, `public_keyset`, `hmac_secret_utf8`.
    func openSigning(_ c: J, _ entries: [String: J]) throws -> SigningKeyring {
        if let keyset = c["public_keyset"].string { return try SigningKeyring.fromPublicKeyset(keyset: keyset) }
        if let secret = c["hmac_secret_utf8"].string {
            return try SigningKeyring.fromHmacSecret(secret: Data(secret.utf8), now: 1_700_000_000)
        }
        let entry = entries[c["keyring"].string!]!
        let doc = Data(entry["document"].string!.utf8)
        if let pass = entry["passphrase"].string {
            return try SigningKeyring.fromDocumentWithPassphrase(document: doc, passphrase: Data(pass.utf8))
        }
        return try SigningKeyring.fromDocumentWithMasterKey(document: doc, masterKey: Data(hex: entry["master_key_hex"].string!))
    }

    func json(_ text: String) throws -> J {
        try JSONDecoder().decode(J.self, from: Data(text.utf8))
    }

    /// The fields a signing op gives, or nil for an op that is not a signing one.
    func signing(_ op: String, _ c: J, _ entries: [String: J]) throws -> [String: J]? {
        let ctx = Data(hex: c["context_hex"].string ?? "")
        switch op {
        case "signing_load":
            let r = try openSigning(c, entries)
            return ["expect": .object([
                "keyring_id": .string(r.id()),
                "active_version": r.activeVersion().j,
                "min_version": r.minVersion().j,
                "verify_only": .bool(r.isVerifyOnly()),
                "versions": .array(r.versions().map {
                    .object(["version": $0.version.j, "kind": .string(snake($0.kind)), "state": .string(snake($0.state))])
                }),
            ])]
        case "sign":
            let r = try openSigning(c, entries)
            let message = Data(hex: c["message_hex"].string!)
            return ["expect_signed": .string(try r.sign(message: message, context: ctx)),
                    "expect_signed_hex": .string(try r.signBinary(message: message, context: ctx).hex)]
        case "verify":
            let signed = c["signed"].string.map { Data($0.utf8) } ?? Data(hex: c["signed_hex"].string!)
            let v = try openSigning(c, entries).verify(signed: signed, context: ctx)
            return ["expect_message_hex": .string(v.message.hex), "expect_version": v.keyVersion.j]
        case "sign_jwt":
            return ["expect_token": .string(try openSigning(c, entries).signJwt(claimsJson: c["claims"].string!, now: c["now"].uint!))]
        case "verify_jwt":
            let o = c["options"]
            let options = JwtOptions(leeway: o["leeway"].uint!, audience: o["audience"].string, issuer: o["issuer"].string,
                                     required: o["required"].array.map { $0.string! })
            let v = try openSigning(c, entries).verifyJwt(token: c["token"].string!, options: options, now: c["now"].uint!)
            return ["expect_claims": try json(v.claims), "expect_version": v.keyVersion.j,
                    "expect_algorithm": .string(snake(v.algorithm))]
        case "public_keyset":
            return ["expect": try json(try openSigning(c, entries).publicKeyset())]
        case "jwks":
            return ["expect": try json(try openSigning(c, entries).jwks())]
        default:
            return nil
        }
    }

    /// The app ships the keyset; the server stages v2 (published first), promotes it; both verify.
    func testPublicKeysetAloneVerifiesAcrossARotation() throws {
        let claims = "{\"sub\":\"user-42\",\"aud\":\"app\",\"exp\":\(now + 3600)}"
        let options = JwtOptions(audience: "app", required: ["exp"])
        let server = try SigningKeyring.generate(algorithm: .ed25519, now: now)
        let t1 = try server.signJwt(claimsJson: claims, now: now)
        let v2 = try server.addVersion(algorithm: .ed25519, now: now + 10)
        let app = try SigningKeyring.fromPublicKeyset(keyset: try server.publicKeyset())
        XCTAssertTrue(app.isVerifyOnly())
        try server.promote(version: v2, now: now + 20)
        let t2 = try server.signJwt(claimsJson: claims, now: now + 30)
        XCTAssertEqual(try app.verifyJwt(token: t1, options: options, now: now + 40).keyVersion, 1)
        XCTAssertEqual(try app.verifyJwt(token: t2, options: options, now: now + 40).keyVersion, 2)
        let signed = try server.sign(message: Data("price:42".utf8), context: Data("offer".utf8))
        XCTAssertEqual(try app.verify(signed: Data(signed.utf8), context: Data("offer".utf8)).message, Data("price:42".utf8))
        XCTAssertThrowsError(try app.signJwt(claimsJson: claims, now: now)) { e in
            XCTAssertEqual((e as! KeyrollError).code(), "read_only")
        }
        XCTAssertThrowsError(try app.verifyJwt(token: t2, options: options, now: now + 3630)) { e in
            XCTAssertEqual((e as! KeyrollError).code(), "expired")
        }
    }

    /// An old single secret: its kid-less tokens and v1 tokens keep verifying after rotation.
    func testLegacySecretThenRotation() throws {
        let ring = try SigningKeyring.fromHmacSecret(secret: Data("django-insecure-the-one-secret-0123456789abcdef".utf8), now: now)
        let v1 = try ring.signJwt(claimsJson: "{\"sub\":\"1\"}", now: now)
        XCTAssertEqual(try ring.rotate(now: now + 1), 2)
        let v2 = try ring.signJwt(claimsJson: "{\"sub\":\"1\"}", now: now + 2)
        XCTAssertEqual(try ring.verifyJwt(token: v1, options: JwtOptions(), now: now + 3).keyVersion, 1)
        XCTAssertEqual(try ring.verifyJwt(token: v2, options: JwtOptions(), now: now + 3).keyVersion, 2)
        XCTAssertFalse(String(describing: ring).contains("django-insecure"))
    }
}
