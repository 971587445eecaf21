package dev.keyroll.tests

import dev.keyroll.Keyring
import dev.keyroll.KeyringHandle
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * The live keyring an app holds: a newer document offered swaps in (threads decrypting
 * meanwhile never fail), the same generation changes nothing, a lower one is refused, a bad
 * one keeps the keyring, and toString shows no secret.
 */
class HandleChecks(private val r: Report) {
    private val now = 1_700_000_000uL
    private val key = ByteArray(32) { (it + 3).toByte() }
    private val ctx = "c".encodeToByteArray()

    fun run() {
        val t = System.nanoTime()
        val before = r.checks
        val writer = Keyring.generate(now)
        val g1 = writer.toDocumentWithMasterKey(key)
        val r2 = Keyring.fromDocumentWithMasterKey(g1, key)
        r2.rotate(now + 1u)
        val g2 = r2.toDocumentWithMasterKey(key)
        val fresh = r2.encrypt("fresh".encodeToByteArray(), ctx)

        val handle = KeyringHandle.fromDocumentWithMasterKey(g1, key)
        r.check(handle.generation() == 1uL) { "generation ${handle.generation()}" }
        r.expectCode("unknown_key_version", "not offered yet") { handle.decrypt(fresh.encodeToByteArray(), ctx) }
        val old = handle.encrypt("old".encodeToByteArray(), ctx)

        // Threads decrypt while the newer document is offered: no failure, no wait.
        val pool = Executors.newFixedThreadPool(4)
        val jobs = (1..4).map {
            pool.submit(Callable { (1..200).all { handle.decrypt(old.encodeToByteArray(), ctx).decodeToString() == "old" } })
        }
        r.check(handle.offer(g2)) { "offer g2 swaps" }
        r.check(jobs.all { it.get(30, TimeUnit.SECONDS) }) { "decrypts during the swap" }
        pool.shutdown()

        r.check(handle.decrypt(fresh.encodeToByteArray(), ctx).decodeToString() == "fresh") { "new version after offer" }
        r.check(handle.encrypt(ctx, ctx).startsWith("kr1:v2:")) { "writes with the new active" }
        r.check(!handle.offer(g2)) { "same generation: unchanged" }
        r.expectCode("keyring_rollback", "lower generation") { handle.offer(g1) }
        r.expectCode("keyring_corrupt", "garbage") { handle.offer("{}".encodeToByteArray()) }
        r.expectCode("wrong_keyring", "another keyring") {
            handle.offer(Keyring.generate(now).toDocumentWithMasterKey(key))
        }
        r.check(handle.generation() == 2uL) { "refusals change nothing" }
        handle.recordFailure("keyring_corrupt", now + 5u)
        val s = handle.status()
        r.check(s.generation == 2uL && s.versions == listOf(1u, 2u) && s.lastError == "keyring_corrupt" && s.lastErrorAt == now + 5u) { "status $s" }
        val shown = handle.toString()
        r.check(shown.startsWith("KeyringHandle { generation: 2") && !shown.contains(key.joinToString(",")) ) { "toString: $shown" }
        println("  handle: ${r.checks - before} checks, ${(System.nanoTime() - t) / 1_000_000} ms")
    }
}
