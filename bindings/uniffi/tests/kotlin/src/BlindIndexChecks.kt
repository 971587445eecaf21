package dev.keyroll.tests

import dev.keyroll.Keyring
import dev.keyroll.KeyrollException

/**
 * Blind indexes through Kotlin beyond the shared vectors: bytes and strings agree, typed
 * errors, toString without key bytes, and a rotation in the middle of lookups (no match lost).
 */
class BlindIndexChecks(private val r: Report) {
    private val now = 1_700_000_000uL

    fun run() {
        val t = System.nanoTime()
        val before = r.checks
        val ring = Keyring.generate(now)
        val email = ring.blindIndex("users.email", "trim+casefold", 64u)
        val stored = email.computeText(" Alice@Example.COM ")
        r.check(Regex("bi1:v1:[0-9a-f]{16}").matches(stored)) { "blind index text form: $stored" }
        r.check(email.compute("alice@example.com".encodeToByteArray()) == stored) { "bytes and text agree" }
        r.check(email.name() == "users.email" && email.normalizer() == "trim+casefold" && email.bits() == 64u) { "metadata" }
        r.check(email.activeVersion() == 1u && email.versions() == listOf(1u)) { "versions" }
        r.check(email.toString().contains("users.email") && !email.toString().contains("Mac")) { "toString: $email" }
        for ((what, make) in listOf<Pair<String, () -> Unit>>(
            "bits 12" to { ring.blindIndex("e", "exact", 12u) },
            "bits 0" to { ring.blindIndex("e", "exact", 0u) },
            "normaliser" to { ring.blindIndex("e", "lower", 64u) },
            "empty name" to { ring.blindIndex("", "exact", 64u) },
            "not UTF-8" to { email.compute(byteArrayOf(0xff.toByte())) },
        )) {
            val code = try {
                make(); "none"
            } catch (e: KeyrollException) {
                e.code()
            }
            r.check(code == "invalid_argument") { "$what: got $code" }
        }
        // Rotation mid-lookup: half the rows rewritten under v2, every lookup still finds its row.
        val rows = (0 until 40).associate { "user$it@example.com" to email.computeText("user$it@example.com") }.toMutableMap()
        ring.rotate(now + 1u)
        val after = ring.blindIndex("users.email", "trim+casefold", 64u)
        r.check(after.versions() == listOf(2u, 1u)) { "versions after rotation: ${after.versions()}" }
        rows.keys.filterIndexed { i, _ -> i % 2 == 1 }.forEach { rows[it] = after.computeText(it) }
        for ((value, column) in rows) {
            r.check(column in after.candidatesText(value.uppercase())) { "lost match for $value" }
        }
        // A decrypt-only export looks up but does not write.
        val lookup = ring.exportDecryptOnly(listOf(1u, 2u)).blindIndex("users.email", "trim+casefold", 64u)
        r.check(lookup.activeVersion() == null) { "export has no active version" }
        r.check(lookup.candidatesText("x@y.z") == after.candidatesText("x@y.z")) { "export candidates" }
        val code = try {
            lookup.computeText("x@y.z"); "none"
        } catch (e: KeyrollException) {
            e.code()
        }
        r.check(code == "no_active_key") { "export compute: $code" }
        println("  blind index: ${r.checks - before} checks, ${(System.nanoTime() - t) / 1_000_000} ms")
    }
}
