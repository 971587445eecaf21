package dev.keyroll.tests

import dev.keyroll.Keyring
import dev.keyroll.inspect
import com.sun.jna.Native
import java.lang.management.ManagementFactory
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * keyroll through UniFFI/JNA against javax.crypto AES/GCM/NoPadding, in the same JVM.
 * Usage: BenchKt [seconds per measurement, default 2]. Prints a Markdown table.
 *
 * Both sides do the same work per operation: authenticate and decrypt one AES-256-GCM message
 * (keyroll: a binary v1 envelope, header as associated data, plus a 13-byte context; javax: the
 * same sizes, a 12-byte nonce and 29 bytes of AAD). keyroll's `verify` does the same
 * cryptography but returns no plaintext (so it copies less across the boundary).
 */
fun main(args: Array<String>) {
    val seconds = args.getOrNull(0)?.toDouble() ?: 2.0
    val now = 1_700_000_000uL
    val ring = Keyring.generate(now)
    val ctx = "users:42:card".encodeToByteArray()
    val rnd = SecureRandom()

    val key = SecretKeySpec(ByteArray(32).also(rnd::nextBytes), "AES")
    val rows = ArrayList<List<String>>()
    var sink = 0L

    val os = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean
    val cpuPerOp = HashMap<String, Double>()

    fun measureCpu(label: String, block: () -> Int): Double {
        // Warm up (JIT), then run batches until the time is up.
        val warmEnd = System.nanoTime() + (seconds * 0.25 * 1e9).toLong()
        while (System.nanoTime() < warmEnd) repeat(100) { sink += block() }
        var ops = 0L
        val cpu0 = os.processCpuTime
        val t0 = System.nanoTime()
        val end = t0 + (seconds * 1e9).toLong()
        var t = t0
        while (t < end) {
            repeat(100) { sink += block() }
            ops += 100
            t = System.nanoTime()
        }
        val cpu = (os.processCpuTime - cpu0).toDouble() / ops
        if (label.isNotEmpty()) cpuPerOp[label] = minOf(cpuPerOp[label] ?: Double.MAX_VALUE, cpu)
        return ops / ((t - t0) / 1e9)
    }

    fun measure(block: () -> Int): Double = measureCpu("", block)

    for (size in listOf(64, 65536)) {
        val plaintext = ByteArray(size).also(rnd::nextBytes)
        val envelope = ring.encryptBinary(plaintext, ctx, now)
        val nonce = ByteArray(12).also(rnd::nextBytes)
        val aad = ByteArray(29).also(rnd::nextBytes)
        val sealed = Cipher.getInstance("AES/GCM/NoPadding").run {
            init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, nonce))
            updateAAD(aad)
            doFinal(plaintext)
        }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        check(ring.decrypt(envelope, ctx).contentEquals(plaintext))

        // Three alternating rounds, best of each: the machine is shared, and alternating keeps
        // a burst of outside load from landing on one side only.
        var kDecrypt = 0.0
        var kVerify = 0.0
        var jDecrypt = 0.0
        repeat(3) {
            kDecrypt = maxOf(kDecrypt, measure { ring.decrypt(envelope, ctx).size })
            kVerify = maxOf(kVerify, measure { ring.verify(envelope, ctx).keyVersion.toInt() })
            jDecrypt = maxOf(jDecrypt, measure {
                cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, nonce))
                cipher.updateAAD(aad)
                cipher.doFinal(sealed).size
            })
        }
        val label = if (size == 64) "64 B" else "64 KiB"
        rows.add(listOf("decrypt $label", fmt(kDecrypt), fmt(jDecrypt), "%.2f".format(kDecrypt / jDecrypt), mbps(kDecrypt, size), mbps(jDecrypt, size)))
        rows.add(listOf("verify $label", fmt(kVerify), fmt(jDecrypt), "%.2f".format(kVerify / jDecrypt), mbps(kVerify, size), mbps(jDecrypt, size)))
    }

    // A list pays the boundary once: decryptMany over 100 tokens of 64 B, counted per token.
    val batch = List(100) { ring.encryptBinary(ByteArray(64), ctx, now) }
    val perToken = (1..3).maxOf { measure { ring.decryptMany(batch, ctx).size } } * batch.size
    rows.add(listOf("decryptMany 100 × 64 B (per token)", fmt(perToken), rows[0][2], "%.2f".format(perToken / rows[0][2].replace(",", "").toDouble()), mbps(perToken, 64), rows[0][5]))

    // What the boundary itself costs: calls that do (almost) no work in Rust.
    val small = ring.encryptBinary(ByteArray(64), ctx, now)
    val jna = (1..3).maxOf { measureCpu("jna") { LibC.getpid() } }
    // Compiled in the same module as the generated code, so its internal call-status type is visible.
    val status = (1..3).maxOf { measureCpu("status") { dev.keyroll.UniffiRustCallStatus().code.toInt() } }
    val noArgs = (1..3).maxOf { measureCpu("noArgs") { ring.minVersion().toInt() } }
    val headerOnly = (1..3).maxOf { measureCpu("headerOnly") { if (ring.needsRewrap(small)) 1 else 0 } }
    // The same header-only call with a 64 KiB token: what moving the bytes costs on each side.
    val large = ring.encryptBinary(ByteArray(65536), ctx, now)
    val headerOnlyLarge = (1..3).maxOf { measureCpu("headerOnlyLarge") { if (ring.needsRewrap(large)) 1 else 0 } }
    val record = (1..3).maxOf { measureCpu("record") { inspect(small).headerLen.toInt() } }

    println("| operation | keyroll via UniFFI (ops/s) | javax.crypto AES/GCM (ops/s) | keyroll / javax | keyroll MB/s | javax MB/s |")
    println("|---|---:|---:|---:|---:|---:|")
    rows.forEach { println("| ${it.joinToString(" | ")} |") }
    println()
    println("| boundary cost | calls/s | ns per call (wall) | process CPU ns per call |")
    println("|---|---:|---:|---:|")
    for ((what, rate, label) in listOf(
        Triple("JNA alone: direct-mapped `getpid()` from libc, no structures", jna, "jna"),
        Triple("a new `UniffiRustCallStatus` JNA Structure, allocated alone (no call; unpatched UniFFI made one per FFI call)", status, "status"),
        Triple("`minVersion()`: object method, no arguments, returns u32", noArgs, "noArgs"),
        Triple("`needsRewrap(64 B)`: one ByteArray in, bool out (header parse only)", headerOnly, "headerOnly"),
        Triple("`needsRewrap(64 KiB)`: the same with a 64 KiB token", headerOnlyLarge, "headerOnlyLarge"),
        Triple("`inspect(64 B)`: top-level function, ByteArray in, 9-field record out", record, "record"),
    )) println("| $what | ${fmt(rate)} | ${"%.0f".format(1e9 / rate)} | ${"%.0f".format(cpuPerOp.getValue(label))} |")
    println()
    println("(best of 3 alternating rounds of ${seconds}s after warm-up, one thread, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; checksum $sink)")
}

private fun fmt(rate: Double): String = "%,d".format(rate.toLong())

private fun mbps(rate: Double, size: Int): String = "%,.0f".format(rate * size / 1e6)

/** A direct-mapped libc call: what JNA itself costs, without UniFFI's structures. */
private object LibC {
    init {
        Native.register(LibC::class.java, "c")
    }

    @JvmStatic
    external fun getpid(): Int
}
