package dev.keyroll.tests

import dev.keyroll.KeyState
import dev.keyroll.Keyring
import dev.keyroll.checkNotRolledBack
import dev.keyroll.checkSuccessor
import dev.keyroll.KeyrollException
import dev.keyroll.RawGcmImport
import dev.keyroll.RawGcmKey
import dev.keyroll.Ttl
import dev.keyroll.errorCodes
import dev.keyroll.inspect
import java.io.File

/**
 * Runs every case of every file in tests/vectors/v1 (schema: tests/vectors/README.md) through
 * the Kotlin bindings: positive cases must give exactly the expected values, every `fail_*`
 * case exactly its error code.
 */
class Vectors(private val report: Report) {
    var positive = 0
        private set
    var negative = 0
        private set
    val codesSeen = sortedSetOf<String>()
    private val signing = SigningVectors()

    fun runDir(dir: File) {
        val files = dir.listFiles { f -> f.name.endsWith(".json") }?.sortedBy { it.name }.orEmpty()
        report.check(files.size >= 5) { "vectors: only ${files.size} files in $dir" }
        for (file in files) runFile(file)
    }

    private fun open(entry: Map<String, Any?>): Result<Keyring> = attempt {
        val doc = entry.str("document").encodeToByteArray()
        val passphrase = entry.strOrNull("passphrase")
        if (passphrase != null) {
            Keyring.fromDocumentWithPassphrase(doc, passphrase.encodeToByteArray())
        } else {
            Keyring.fromDocumentWithMasterKey(doc, entry.str("master_key_hex").unhex())
        }
    }

    private fun runFile(file: File) {
        val doc = Json.parse(file.readText()).obj()
        val entries = doc["keyrings"].obj()
        val rings = entries.mapValues { (_, v) -> open(v.obj()) }
        for (c in doc["cases"].list()) {
            val case = c.obj()
            val name = "${file.name}:${case.str("name")}"
            val result = attempt { run(case, rings, entries) }
            if (case.str("name").startsWith("fail_")) {
                val want = case.str("error")
                codesSeen.add(want)
                result.fold(
                    { report.fail("$name: succeeded with $it, wanted $want") },
                    { e -> val code = (e as KeyrollException).code(); report.check(code == want) { "$name: got $code (${e.message}), wanted $want" } },
                )
                negative++
            } else {
                result.fold(
                    { got ->
                        for ((field, value) in got) {
                            report.check(same(case[field], value)) { "$name: $field: got ${Json.write(value)}, want ${Json.write(case[field])}" }
                        }
                    },
                    { e -> report.fail("$name: ${(e as KeyrollException).code()}: ${e.message}") },
                )
                positive++
            }
        }
    }

    private fun token(case: Map<String, Any?>): ByteArray {
        val text = case.strOrNull("token")
        val hex = case.strOrNull("token_hex")
        require((text == null) != (hex == null)) { "${case["name"]}: needs token or token_hex" }
        return text?.encodeToByteArray() ?: hex!!.unhex()
    }

    private fun summary(r: Keyring): Map<String, Any?> = linkedMapOf(
        "keyring_id" to r.id(),
        "active_version" to r.activeVersion()?.big(),
        "min_version" to r.minVersion().big(),
        "read_only" to r.isReadOnly(),
        "versions" to r.versions().map {
            linkedMapOf("version" to it.version.big(), "kind" to it.kind.name.lowercase(), "state" to it.state.name.lowercase())
        },
    )

    private fun run(case: Map<String, Any?>, rings: Map<String, Result<Keyring>>, entries: Map<String, Any?>): Map<String, Any?> {
        val document = { name: String -> entries[name].obj().str("document").encodeToByteArray() }
        val ring = { rings.getValue(case.str("keyring")).getOrThrow() }
        val ctx = (case.strOrNull("context_hex") ?: "").unhex()
        return when (val op = case.str("op")) {
            "decrypt" -> {
                val ttl = (case["ttl"] as Map<*, *>?)?.obj()?.let { Ttl(it.u64("seconds"), it.u64("now")) }
                mapOf("plaintext_hex" to ring().decrypt(token(case), ctx, ttl).hex())
            }
            "rewrap" -> {
                val r = ring()
                val optIn = case["allow_compromised"] as Boolean? ?: false
                val out = r.rewrapWith(token(case), ctx, optIn)
                val fresh = out.token.encodeToByteArray()
                val info = inspect(fresh)
                val plaintext = r.decrypt(fresh, ctx)
                // A new envelope every time, even for a token already under the active version.
                report.check(!fresh.contentEquals(token(case))) { "${case["name"]}: rewrap returned its input" }
                val got = linkedMapOf<String, Any?>(
                    "plaintext_hex" to plaintext.hex(),
                    "expect_version" to info.keyVersion?.big(),
                    "expect_format" to info.format.name.lowercase(),
                    "expect_issued_at" to info.issuedAt?.big(),
                )
                if (optIn) {
                    got["expect_from_version"] = out.fromVersion.big()
                    got["expect_from_compromised"] = out.fromCompromised
                } else {
                    // The plain rewrap gives the same envelope kind as rewrapWith(false).
                    report.check(r.rewrap(token(case), ctx).startsWith("kr1:")) { "${case["name"]}: rewrap" }
                }
                got
            }
            "operations" -> {
                // Steps change the keyring: a fresh copy of the document for each case.
                val r = open(entries[case.str("keyring")].obj()).getOrThrow()
                val steps = case["steps"].list()
                for ((i, s) in steps.withIndex()) {
                    val step = s.obj()
                    val got = try {
                        step(r, step)
                    } catch (e: KeyrollException) {
                        // Only the last step of a fail_* case may fail.
                        report.check(i == steps.size - 1) { "${case["name"]}: step $i failed: ${e.code()}" }
                        throw e
                    }
                    report.check(same(step["expect"], got)) { "${case["name"]}: step $i: got ${Json.write(got)}, want ${Json.write(step["expect"])}" }
                }
                emptyMap()
            }
            "check_successor" -> {
                val current = case.strOrNull("current")?.let(document)
                mapOf("expect_generation" to checkSuccessor(current, document(case.str("next"))).big())
            }
            "check_not_rolled_back" ->
                mapOf("expect_generation" to checkNotRolledBack(document(case.str("keyring")), case.u64("highest_seen")).big())
            "inspect" -> {
                val i = inspect(token(case))
                mapOf(
                    "expect" to linkedMapOf(
                        "format" to i.format.name.lowercase(),
                        "algorithm" to i.algorithm,
                        "keyring_id" to i.keyringId,
                        "key_version" to i.keyVersion?.big(),
                        "issued_at" to i.issuedAt?.big(),
                        "token_len" to i.tokenLen.big(),
                        "binary_len" to i.binaryLen.big(),
                        "header_len" to i.headerLen.big(),
                        "ciphertext_len" to i.ciphertextLen.big(),
                        "plaintext_len" to i.plaintextLen?.big(),
                    ),
                )
            }
            "load" -> mapOf("expect" to summary(ring()))
            "policy" -> {
                val s = ring().checkPolicy(case.u64("now"))
                mapOf(
                    "expect" to linkedMapOf(
                        "state" to s.state.name.lowercase(),
                        "active_version" to s.activeVersion?.big(),
                        "age_seconds" to s.ageSeconds.big(),
                        "warn_at" to s.warnAt?.big(),
                        "due_at" to s.dueAt?.big(),
                    ),
                )
            }
            "derive" -> {
                val d = ring().deriveKey(case.str("purpose").encodeToByteArray(), case.u64("length").toUInt())
                mapOf("expect_hex" to d.key.hex(), "expect_version" to d.version.big())
            }
            "fernet_compat" -> {
                val keys = case["fernet_keys"].list().map { it as String }
                mapOf("expect" to summary(Keyring.fromFernetKeys(keys, 0u)))
            }
            "import_raw_gcm" -> {
                val spec = case["import"].obj()
                val key = when {
                    spec.strOrNull("key_utf8") != null -> RawGcmKey.Bytes(spec.str("key_utf8").encodeToByteArray())
                    spec.strOrNull("key_hex") != null -> RawGcmKey.Bytes(spec.str("key_hex").unhex())
                    else -> RawGcmKey.Pbkdf2(spec.str("password_utf8").encodeToByteArray(), spec.str("salt_pattern"), spec.u64("iterations").toUInt())
                }
                val r = Keyring.generate(0u)
                r.importRawGcm(RawGcmImport(key, spec.u64OrNull("version_byte")?.toUByte()), 0u)
                mapOf("plaintext_hex" to r.decrypt(token(case), ByteArray(0)).hex())
            }
            "blind_index", "blind_index_candidates" -> blindIndex(op, case, ring())
            else -> signing.run(op, case, entries) ?: error("unknown op $op")
        }
    }

    /** A `blind_index` (compute) or `blind_index_candidates` case; text values also through the `…Text` twins. */
    private fun blindIndex(op: String, case: Map<String, Any?>, ring: Keyring): Map<String, Any?> =
        ring.blindIndex(case.str("index_name"), case.str("normalizer"), case.u64("bits").toUInt()).use { ix ->
            val text = case.strOrNull("value_utf8")
            val value = text?.encodeToByteArray() ?: case.str("value_hex").unhex()
            if (op == "blind_index") {
                val out = ix.compute(value)
                if (text != null) report.check(ix.computeText(text) == out) { "${case["name"]}: computeText" }
                mapOf("expect" to out)
            } else {
                val out = ix.candidates(value)
                if (text != null) report.check(ix.candidatesText(text) == out) { "${case["name"]}: candidatesText" }
                mapOf("expect" to out, "expect_versions" to ix.versions().map { it.big() })
            }
        }

    /** One step of an `operations` case: the value it gives (null for none). */
    private fun step(r: Keyring, s: Map<String, Any?>): Any? {
        val ctx = (s.strOrNull("context_hex") ?: "").unhex()
        val version = { s.u64("version").toUInt() }
        return when (val what = s.str("do")) {
            "add_version" -> r.addVersion(s.u64("now")).big()
            "rotate" -> r.rotate(s.u64("now")).big()
            "emergency_rotate" -> r.emergencyRotate(s.str("reason"), s.u64("now")).big()
            "promote" -> r.promote(version(), s.u64("now")).let { null }
            "set_state" -> r.setState(version(), KeyState.valueOf(s.str("state").uppercase()), s.strOrNull("note"), s.u64("now")).let { null }
            "set_min_version" -> r.setMinVersion(s.u64("minimum").toUInt()).let { null }
            "set_policy" -> r.setPolicy(s.u64("rotate_after_days").toUInt(), s.u64("warn_after_days").toUInt()).let { null }
            "check_policy" -> {
                val p = r.checkPolicy(s.u64("now"))
                linkedMapOf(
                    "state" to p.state.name.lowercase(),
                    "active_version" to p.activeVersion?.big(),
                    "age_seconds" to p.ageSeconds.big(),
                    "warn_at" to p.warnAt?.big(),
                    "due_at" to p.dueAt?.big(),
                )
            }
            "encrypt" -> {
                val plaintext = s.str("plaintext_hex").unhex()
                val token = r.encrypt(plaintext, ctx).encodeToByteArray()
                report.check(r.decrypt(token, ctx).contentEquals(plaintext)) { "encrypt step: round trip" }
                inspect(token).keyVersion?.big()
            }
            "decrypt" -> r.decrypt(s.str("token").encodeToByteArray(), ctx).hex()
            "summary" -> summary(r)
            else -> error("unknown step $what")
        }
    }

    /** Every code the vectors expect is one the bindings know. */
    fun checkCodes() {
        val known = errorCodes().toSet()
        report.check(errorCodes().size == known.size) { "errorCodes() has duplicates" }
        for (code in codesSeen) report.check(code in known) { "vector code $code not in errorCodes()" }
    }
}

/** JSON equality where numbers compare by value. */
fun same(a: Any?, b: Any?): Boolean = when {
    a is Map<*, *> && b is Map<*, *> -> a.keys == b.keys && a.keys.all { same(a[it], b[it]) }
    a is List<*> && b is List<*> -> a.size == b.size && a.indices.all { same(a[it], b[it]) }
    else -> a == b
}
