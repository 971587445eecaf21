package dev.keyroll.tests

import dev.keyroll.JwtOptions
import dev.keyroll.SigningKeyring

/**
 * The ops of tests/vectors/v1/signing.json (schema: tests/vectors/README.md) through the
 * Kotlin `SigningKeyring`. Among them: JWTs that Rust signed under an old single `SECRET_KEY`
 * (v1, with and without `kid`) and under v2 after a rotation, verified here; and a public
 * keyset alone verifying Ed25519 messages and tokens.
 */
class SigningVectors {
    /** The fields a signing op gives (compared with the case's), or null for another op. */
    fun run(op: String, case: Map<String, Any?>, entries: Map<String, Any?>): Map<String, Any?>? {
        val ctx = { (case.strOrNull("context_hex") ?: "").unhex() }
        return when (op) {
            "signing_load" -> mapOf("expect" to summary(open(case, entries)))
            "sign" -> {
                val r = open(case, entries)
                val message = case.str("message_hex").unhex()
                mapOf(
                    "expect_signed" to r.sign(message, ctx()),
                    "expect_signed_hex" to r.signBinary(message, ctx()).hex(),
                )
            }
            "verify" -> {
                val text = case.strOrNull("signed")
                val hex = case.strOrNull("signed_hex")
                require((text == null) != (hex == null)) { "${case["name"]}: needs signed or signed_hex" }
                val v = open(case, entries).verify(text?.encodeToByteArray() ?: hex!!.unhex(), ctx())
                mapOf("expect_message_hex" to v.message.hex(), "expect_version" to v.keyVersion.big())
            }
            "sign_jwt" -> mapOf("expect_token" to open(case, entries).signJwt(case.str("claims"), case.u64("now")))
            "verify_jwt" -> {
                val o = case["options"].obj()
                val options = JwtOptions(
                    leeway = o.u64("leeway"),
                    audience = o.strOrNull("audience"),
                    issuer = o.strOrNull("issuer"),
                    required = o["required"].list().map { it as String },
                )
                val v = open(case, entries).verifyJwt(case.str("token"), options, case.u64("now"))
                mapOf(
                    "expect_claims" to Json.parse(v.claims),
                    "expect_version" to v.keyVersion.big(),
                    "expect_algorithm" to v.algorithm.name.lowercase(),
                )
            }
            "public_keyset" -> mapOf("expect" to Json.parse(open(case, entries).publicKeyset()))
            "jwks" -> mapOf("expect" to Json.parse(open(case, entries).jwks()))
            else -> null
        }
    }

    /** The case's keyring: exactly one of `keyring`, `public_keyset`, `hmac_secret_utf8`. */
    private fun open(case: Map<String, Any?>, entries: Map<String, Any?>): SigningKeyring {
        val sources = listOf("keyring", "public_keyset", "hmac_secret_utf8").filter { case[it] != null }
        require(sources.size == 1) { "${case["name"]}: one keyring source, not $sources" }
        case.strOrNull("public_keyset")?.let { return SigningKeyring.fromPublicKeyset(it) }
        case.strOrNull("hmac_secret_utf8")?.let { return SigningKeyring.fromHmacSecret(it.encodeToByteArray(), 1_700_000_000uL) }
        val entry = entries[case.str("keyring")].obj()
        val doc = entry.str("document").encodeToByteArray()
        val passphrase = entry.strOrNull("passphrase")
        return if (passphrase != null) {
            SigningKeyring.fromDocumentWithPassphrase(doc, passphrase.encodeToByteArray())
        } else {
            SigningKeyring.fromDocumentWithMasterKey(doc, entry.str("master_key_hex").unhex())
        }
    }

    private fun summary(r: SigningKeyring): Map<String, Any?> = linkedMapOf(
        "keyring_id" to r.id(),
        "active_version" to r.activeVersion()?.big(),
        "min_version" to r.minVersion().big(),
        "verify_only" to r.isVerifyOnly(),
        "versions" to r.versions().map {
            linkedMapOf("version" to it.version.big(), "kind" to it.kind.name.lowercase(), "state" to it.state.name.lowercase())
        },
    )
}
