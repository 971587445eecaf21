package dev.keyroll.tests

import dev.keyroll.JwtOptions
import dev.keyroll.KeyState
import dev.keyroll.Keyring
import dev.keyroll.SigningAlgorithm
import dev.keyroll.SigningKeyring
import java.util.Base64
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * What the signing vectors cannot show on the JVM: an app holding only a public keyset
 * verifies Ed25519 tokens across a two-phase rotation; the move off an old single secret;
 * the JDK's own Ed25519 agrees with the JWKS; secrets stay out of toString; threads.
 */
class SigningChecks(private val r: Report) {
    private val now = 1_700_000_000uL
    private val claims = """{"sub":"user-42","aud":"app","exp":${now + 3600uL}}"""
    private val app = JwtOptions(audience = "app", required = listOf("exp"))

    fun runAll() {
        val sections = listOf(
            "public keyset alone" to ::publicKeysetAlone,
            "legacy secret" to ::legacySecret,
            "JDK Ed25519 agrees" to ::jdkAgrees,
            "secrets and kinds" to ::secretsAndKinds,
            "threads" to ::threads,
        )
        for ((name, section) in sections) {
            val t = System.nanoTime()
            val before = r.checks
            section()
            println("  signing $name: ${r.checks - before} checks, ${(System.nanoTime() - t) / 1_000_000} ms")
        }
    }

    /** The mobile case: the app ships the keyset, the server rotates, old and new tokens verify. */
    private fun publicKeysetAlone() {
        val server = SigningKeyring.generate(SigningAlgorithm.ED25519, now)
        val t1 = server.signJwt(claims, now)
        val v2 = server.addVersion(SigningAlgorithm.ED25519, now + 10u)
        // Published while v2 is pending: the app update ships before anything is signed with v2.
        val keyset = server.publicKeyset()
        r.check(!keyset.contains("seed") && !keyset.contains("private")) { "keyset: $keyset" }
        val phone = SigningKeyring.fromPublicKeyset(keyset)
        r.check(phone.isVerifyOnly()) { "verify-only" }
        server.promote(v2, now + 20u)
        val t2 = server.signJwt(claims, now + 30u)
        for ((token, version) in listOf(t1 to 1u, t2 to 2u)) {
            val v = phone.verifyJwt(token, app, now + 40u)
            r.check(v.keyVersion == version && v.algorithm == SigningAlgorithm.ED25519) { "phone verifies v$version: $v" }
            r.check(Json.parse(v.claims).obj()["sub"] == "user-42") { "claims ${v.claims}" }
        }
        val signed = server.sign("price:42.00".encodeToByteArray(), "offer".encodeToByteArray())
        r.check(signed.startsWith("krs1:v2:")) { signed }
        val msg = phone.verify(signed.encodeToByteArray(), "offer".encodeToByteArray())
        r.check(msg.message.decodeToString() == "price:42.00" && msg.keyVersion == 2u) { "message $msg" }
        r.expectCode("signature_invalid", "other context") { phone.verify(signed.encodeToByteArray(), "other".encodeToByteArray()) }
        r.expectCode("read_only", "phone cannot sign") { phone.signJwt(claims, now) }
        r.expectCode("read_only", "phone cannot sign messages") { phone.sign(ByteArray(1), ByteArray(0)) }
        r.expectCode("read_only", "phone cannot add keys") { phone.addVersion(SigningAlgorithm.ED25519, now) }
        r.expectCode("expired", "expired on the phone") { phone.verifyJwt(t2, app, now + 3630u) }
        r.expectCode("claim_invalid", "audience") { phone.verifyJwt(t2, JwtOptions(audience = "web"), now + 40u) }
        // The server's emergency rotation reaches the phone with the next keyset.
        server.emergencyRotate("key leaked", now + 50u)
        val updated = SigningKeyring.fromPublicKeyset(server.publicKeyset())
        r.expectCode("key_compromised", "compromised after update") { updated.verifyJwt(t2, app, now + 60u) }
        r.check(updated.verifyJwt(server.signJwt(claims, now + 60u), app, now + 61u).keyVersion == 3u) { "v3 verifies" }
        // A phone given a keyring document (private keys) instead of a keyset refuses it.
        val doc = server.toDocumentWithMasterKey(ByteArray(32) { 7 })
        r.expectCode("wrong_keyring_kind", "document as keyset") { SigningKeyring.fromPublicKeyset(doc.decodeToString()) }
    }

    /** An old SECRET_KEY: its kid-less tokens verify, then v2 after rotation, both on the JVM. */
    private fun legacySecret() {
        val secret = "django-insecure-the-one-secret-of-the-old-system-0123".encodeToByteArray()
        val ring = SigningKeyring.fromHmacSecret(secret, now)
        // What the old system wrote: HS256, no kid, computed here with the JDK's HMAC.
        val enc = Base64.getUrlEncoder().withoutPadding()
        val input = enc.encodeToString("""{"alg":"HS256","typ":"JWT"}""".encodeToByteArray()) + "." + enc.encodeToString(claims.encodeToByteArray())
        val mac = javax.crypto.Mac.getInstance("HmacSHA256").apply { init(javax.crypto.spec.SecretKeySpec(secret, "HmacSHA256")) }
        val old = input + "." + enc.encodeToString(mac.doFinal(input.encodeToByteArray()))
        r.check(ring.verifyJwt(old, app, now).keyVersion == 1u) { "kid-less legacy token" }
        r.check(SigningKeyring.fromHmacSecret(secret, now).id() == ring.id()) { "same secret, same keyring" }
        val v1 = ring.signJwt(claims, now)
        r.check(ring.rotate(now + 1u) == 2u) { "rotate" }
        val v2 = ring.signJwt(claims, now + 2u)
        r.check(ring.verifyJwt(old, app, now + 3u).keyVersion == 1u) { "old after rotation" }
        r.check(ring.verifyJwt(v1, app, now + 3u).keyVersion == 1u) { "v1 after rotation" }
        r.check(ring.verifyJwt(v2, app, now + 3u).keyVersion == 2u) { "v2" }
        r.check(ring.versions().map { it.kind.name.lowercase() to it.state } == listOf("hmac_sha256_legacy" to KeyState.DECRYPT_ONLY, "hmac_sha256" to KeyState.ACTIVE)) { "versions ${ring.versions()}" }
        r.expectCode("unknown_key_version", "HMAC tokens need the secret, not the keyset") {
            SigningKeyring.fromPublicKeyset(ring.publicKeyset()).verifyJwt(v2, app, now)
        }
        r.expectCode("invalid_key", "short secret") { SigningKeyring.fromHmacSecret("short".encodeToByteArray(), now) }
    }

    /** java.security's Ed25519 (JDK 15+) verifies keyroll's EdDSA JWT with the JWKS's `x`. */
    private fun jdkAgrees() {
        val ring = SigningKeyring.generate(SigningAlgorithm.ED25519, now)
        val token = ring.signJwt(claims, now)
        val jwk = Json.parse(ring.jwks()).obj()["keys"].list()[0].obj()
        r.check(jwk["kid"] == ring.kid(1u) && jwk["crv"] == "Ed25519") { "jwk $jwk" }
        val x = Base64.getUrlDecoder().decode(jwk.str("x"))
        // X.509 SubjectPublicKeyInfo for Ed25519: a fixed 12-byte prefix, then the key.
        val spki = byteArrayOf(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00) + x
        val key = java.security.KeyFactory.getInstance("Ed25519").generatePublic(java.security.spec.X509EncodedKeySpec(spki))
        val parts = token.split(".")
        val verifier = java.security.Signature.getInstance("Ed25519")
        verifier.initVerify(key)
        verifier.update("${parts[0]}.${parts[1]}".encodeToByteArray())
        r.check(verifier.verify(Base64.getUrlDecoder().decode(parts[2]))) { "JDK Ed25519 rejects keyroll's signature" }
    }

    private fun secretsAndKinds() {
        val secret = "a-secret-that-must-never-be-printed-0123456789".encodeToByteArray()
        val ring = SigningKeyring.fromHmacSecret(secret, now)
        val shown = ring.toString()
        r.check(shown.contains("SigningKeyring") && shown.contains("hmac_sha256_legacy")) { shown }
        for (enc in listOf(secret.decodeToString(), secret.hex(), Base64.getEncoder().encodeToString(secret))) {
            r.check(!shown.contains(enc)) { "toString shows the secret" }
        }
        val master = ByteArray(32) { 1 }
        val doc = ring.toDocumentWithMasterKey(master)
        r.expectCode("wrong_keyring_kind", "signing document as encryption keyring") { Keyring.fromDocumentWithMasterKey(doc, master) }
        val enc = Keyring.generate(now).toDocumentWithMasterKey(master)
        r.expectCode("wrong_keyring_kind", "encryption document as signing keyring") { SigningKeyring.fromDocumentWithMasterKey(enc, master) }
        r.expectCode("bad_passphrase", "wrong master key") { SigningKeyring.fromDocumentWithMasterKey(doc, ByteArray(32)) }
        val again = SigningKeyring.fromDocumentWithMasterKey(doc, master)
        r.check(again.id() == ring.id() && again.activeVersion() == 1u && again.algorithm(1u) == SigningAlgorithm.HMAC_SHA256) { "reopened" }
    }

    /** One keyset shared by every thread of an app. */
    private fun threads() {
        val server = SigningKeyring.generate(SigningAlgorithm.ED25519, now)
        val tokens = (0 until 64).map { server.signJwt("""{"sub":"$it","aud":"app","exp":${now + 3600uL}}""", now) }
        val phone = SigningKeyring.fromPublicKeyset(server.publicKeyset())
        val pool = Executors.newFixedThreadPool(8)
        val results = tokens.map { t -> pool.submit(Callable { Json.parse(phone.verifyJwt(t, app, now).claims).obj()["sub"] }) }
        val subs = results.map { it.get(30, TimeUnit.SECONDS) }
        pool.shutdown()
        r.check(subs == (0 until 64).map { "$it" }) { "threads: $subs" }
    }
}
