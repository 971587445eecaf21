package dev.keyroll.tests

import dev.keyroll.Keyring
import dev.keyroll.KeyrollException
import dev.keyroll.Ttl
import java.io.File
import kotlin.system.exitProcess

/**
 * The Kotlin side of the cross-language harness (tests/cross/README.md):
 * `CrossKt write CASES DIR` and `CrossKt read CASES DIR`, run through tests/cross/langs/kotlin.
 */
fun main(args: Array<String>) {
    if (args.size != 3 || args[0] !in setOf("write", "read")) {
        System.err.println("usage: CrossKt write|read CASES DIR")
        exitProcess(2)
    }
    val spec = Json.parse(File(args[1]).readText()).obj()
    val dir = File(args[2])
    exitProcess(if (args[0] == "write") { crossWrite(spec, dir); 0 } else crossRead(spec, dir))
}

private fun plaintext(case: Map<String, Any?>): ByteArray {
    val rep = case["plaintext_repeat"] as Map<*, *>?
    if (rep != null) {
        val unit = rep.obj().str("hex").unhex()
        val times = rep.obj().u64("times").toInt()
        return ByteArray(unit.size * times) { unit[it % unit.size] }
    }
    return case.str("plaintext_hex").unhex()
}

private fun Map<String, Any?>.context(): ByteArray = str("context").encodeToByteArray()

private fun fernetRing(spec: Map<String, Any?>): Keyring =
    Keyring.fromFernetKeys(spec["fernet_keys"].list().map { it as String }, spec.u64("generated_at"))

private fun crossWrite(spec: Map<String, Any?>, out: File) {
    val ring = Keyring.generate(spec.u64("generated_at"))
    val fernet = fernetRing(spec)
    val tokens = LinkedHashMap<String, Any?>()
    for (phase in listOf("old", "active")) {
        if (phase == "active") ring.rotate(spec.u64("rotated_at"))
        for (c in spec["cases"].list()) {
            val case = c.obj()
            if (case.str("version") != phase) continue
            val r = if (case.str("keyring") == "fernet") fernet else ring
            val issuedAt = case.u64OrNull("issued_at")
            tokens[case.str("name")] = if (case.str("form") == "binary") {
                mapOf("hex" to r.encryptBinary(plaintext(case), case.context(), issuedAt).hex())
            } else {
                r.encrypt(plaintext(case), case.context(), issuedAt)
            }
        }
    }
    val doc = ring.toDocumentWithPassphrase(spec.str("passphrase").encodeToByteArray(), spec.u64("iterations").toUInt())
    File(out, "keyring.json").writeBytes(doc)
    File(out, "tokens.json").writeText(Json.write(mapOf("writer" to "kotlin", "tokens" to tokens)))
}

private fun crossRead(spec: Map<String, Any?>, src: File): Int {
    val written = Json.parse(File(src, "tokens.json").readText()).obj()
    val writer = written.str("writer")
    val ring = Keyring.fromDocumentWithPassphrase(File(src, "keyring.json").readBytes(), spec.str("passphrase").encodeToByteArray())
    val fernet = fernetRing(spec)
    val fernetVersion = fernet.activeVersion()
    val mine = Keyring.generate(spec.u64("generated_at"))
    val errors = ArrayList<String>()
    val cases = spec["cases"].list().associate { it.obj().str("name") to it.obj() }

    fun tokenOf(name: String): ByteArray = when (val t = written["tokens"].obj()[name]) {
        is String -> t.encodeToByteArray()
        is Map<*, *> -> t.obj().str("hex").unhex()
        else -> error("$writer wrote no token for $name")
    }
    fun ringOf(case: Map<String, Any?>) = if (case.str("keyring") == "fernet") fernet else ring

    for ((name, case) in cases) {
        val token = tokenOf(name)
        val r = ringOf(case)
        try {
            val pt = r.decrypt(token, case.context())
            if (!pt.contentEquals(plaintext(case))) errors.add("$name: wrong plaintext")
            val v = r.verify(token, case.context())
            val want = when {
                case.str("keyring") == "fernet" -> fernetVersion
                case.str("version") == "old" -> 1u
                else -> 2u
            }
            if (v.keyVersion != want || v.issuedAt != case.u64OrNull("issued_at")) {
                errors.add("$name: verify gave v${v.keyVersion} at ${v.issuedAt}, want v$want at ${case["issued_at"]}")
            }
            val moved = mine.encrypt(pt, ByteArray(0))
            if (!mine.decrypt(moved.encodeToByteArray(), ByteArray(0)).contentEquals(pt)) errors.add("$name: re-encrypted copy differs")
            val fresh = r.rewrap(token, case.context())
            if (!r.decrypt(fresh.encodeToByteArray(), case.context()).contentEquals(pt)) errors.add("$name: rewrap lost the plaintext")
        } catch (e: KeyrollException) {
            errors.add("$name: ${e.code()}: ${e.message}")
        }
    }
    val failures = spec["failures"].list().map { it.obj() }
    for (fail in failures) {
        val case = cases.getValue(fail.str("case"))
        var token = tokenOf(case.str("name"))
        if (fail["flip_last_byte"] == true) {
            require(case.str("form") == "binary") { "flip_last_byte is defined for binary cases only" }
            token = token.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        }
        val ctx = (fail.strOrNull("context") ?: case.str("context")).encodeToByteArray()
        val ttl = (fail["ttl"] as Map<*, *>?)?.obj()?.let { Ttl(it.u64("seconds"), it.u64("now")) }
        try {
            ringOf(case).decrypt(token, ctx, ttl)
            errors.add("${fail["name"]}: decrypted, want ${fail["code"]}")
        } catch (e: KeyrollException) {
            if (e.code() != fail.str("code")) errors.add("${fail["name"]}: got ${e.code()}, want ${fail["code"]}")
        }
    }
    if (errors.isNotEmpty()) {
        System.err.println("cross: kotlin read $writer: FAILED")
        errors.forEach { System.err.println("  $it") }
        return 1
    }
    println("cross: kotlin read $writer: ${cases.size} cases, ${failures.size} failure codes ok")
    return 0
}
