package dev.keyroll.tests

import dev.keyroll.DecryptOutcome
import dev.keyroll.Keyring
import dev.keyroll.KeyrollException
import java.util.concurrent.Callable
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * Checks for keyroll's JNA call-cost patch of the generated Kotlin (patch_jna.py, docs/mobile.md):
 * the patch is present, and its per-thread call statuses and RustBuffer slabs keep every result
 * right when many threads call at once, errors and successes interleaved on each thread (an
 * error leaves a status behind that the next call must not see), nested argument lowering
 * (several buffers per call), large buffers and lists.
 */
class CallPoolChecks(private val r: Report) {
    private val now = 1_700_000_000uL
    private val ctx = "users:42:card".encodeToByteArray()

    fun run() {
        patched()
        concurrent()
    }

    /** Fails on unpatched bindings: the build must never ship them silently. */
    private fun patched() {
        for (name in listOf("dev.keyroll.UniffiCallStatusPool", "dev.keyroll.UniffiRustBufferSlab")) {
            val found = runCatching { Class.forName(name) }.isSuccess
            r.check(found) { "call-cost patch missing: no $name in the generated Kotlin (build.sh runs patch_jna.py)" }
        }
    }

    private fun concurrent() {
        val ring = Keyring.generate(now)
        val threads = 8
        val rounds = 300
        val big = ByteArray(65536) { (it * 31).toByte() }
        val bigToken = ring.encryptBinary(big, ctx, now)
        val pool = Executors.newFixedThreadPool(threads)
        val start = CountDownLatch(1)
        try {
            val jobs = (0 until threads).map { t ->
                pool.submit(Callable {
                    start.await()
                    var ok = 0
                    for (i in 0 until rounds) {
                        val plain = "thread $t round $i".encodeToByteArray()
                        val token = ring.encryptBinary(plain, ctx, now + i.toULong())
                        // Success, then an error on the same thread, then success again.
                        if (ring.decrypt(token, ctx).contentEquals(plain)) ok++
                        try {
                            ring.decrypt(token, "users:43:card".encodeToByteArray())
                        } catch (e: KeyrollException) {
                            if (e.code() == "decrypt_failed") ok++
                        }
                        try {
                            ring.decrypt(token.copyOf(token.size - 1), ctx)
                        } catch (e: KeyrollException) {
                            if (e.code() == "decrypt_failed" || e.code() == "malformed") ok++
                        }
                        if (ring.verify(token, ctx).issuedAt == now + i.toULong()) ok++
                        if (i % 25 == 0 && ring.decrypt(bigToken, ctx).contentEquals(big)) ok++
                        if (i % 10 == 0) {
                            val out = ring.decryptMany(listOf(token, token.copyOf(3), bigToken), ctx)
                            val good = out.size == 3 &&
                                (out[0] as? DecryptOutcome.Plaintext)?.plaintext?.contentEquals(plain) == true &&
                                out[1] is DecryptOutcome.Failure &&
                                (out[2] as? DecryptOutcome.Plaintext)?.plaintext?.contentEquals(big) == true
                            if (good) ok++
                        }
                    }
                    ok
                })
            }
            start.countDown()
            val total = jobs.sumOf { it.get(300, TimeUnit.SECONDS) }
            val want = threads * (rounds * 4 + rounds / 25 + rounds / 10)
            r.check(total == want) { "call pool under $threads threads: $total of $want results right" }
        } finally {
            pool.shutdownNow()
        }
        // The calling thread's statuses are intact after all that: an error, then a success.
        r.expectCode("decrypt_failed", "error after the concurrent run") { ring.decrypt(bigToken, "x".encodeToByteArray()) }
        r.check(ring.decrypt(bigToken, ctx).contentEquals(big)) { "success after an error on the same thread" }
    }
}
