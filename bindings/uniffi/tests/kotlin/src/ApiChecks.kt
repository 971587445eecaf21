package dev.keyroll.tests

import dev.keyroll.DecryptOutcome
import dev.keyroll.KeyKind
import dev.keyroll.KeyState
import dev.keyroll.Keyring
import dev.keyroll.KeyrollException
import dev.keyroll.TokenFormat
import dev.keyroll.Ttl
import dev.keyroll.errorCodes
import dev.keyroll.inspect
import java.util.concurrent.Callable
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.random.Random

/** What the vectors cannot show: the mobile workflow, threads, secrets, hostile input. */
class ApiChecks(private val r: Report) {
    private val now = 1_700_000_000uL
    private val ctx = "users:42:card".encodeToByteArray()
    private val secret = "4111 1111 1111 1111".encodeToByteArray()

    fun runAll() {
        val sections = listOf(
            "round trip" to ::roundTrip,
            "decrypt-only export" to ::decryptOnlyExport,
            "exceptions" to ::exceptions,
            "secrets" to ::secretsStayHidden,
            "threads" to ::threads,
            "hostile input" to ::hostileInput,
        )
        for ((name, section) in sections) {
            val t = System.nanoTime()
            val before = r.checks
            section()
            println("  $name: ${r.checks - before} checks, ${(System.nanoTime() - t) / 1_000_000} ms")
        }
    }

    private fun roundTrip() {
        val ring = Keyring.generate(now)
        val token = ring.encrypt(secret, ctx, now)
        r.check(token.startsWith("kr1:v1:")) { "encrypt: $token" }
        r.check(ring.decrypt(token.encodeToByteArray(), ctx).contentEquals(secret)) { "decrypt text" }
        val binary = ring.encryptBinary(secret, ctx)
        r.check(ring.decrypt(binary, ctx).contentEquals(secret)) { "decrypt binary" }
        val v = ring.verify(token.encodeToByteArray(), ctx)
        r.check(v.keyVersion == 1u && v.issuedAt == now) { "verify: $v" }
        r.check(ring.verify(binary, ctx).issuedAt == null) { "no issued-at by default" }
        r.expectCode("decrypt_failed", "wrong context") { ring.decrypt(token.encodeToByteArray(), "users:43:card".encodeToByteArray()) }
        r.expectCode("decrypt_failed", "verify wrong context") { ring.verify(token.encodeToByteArray(), ByteArray(0)) }
        r.check(ring.decrypt(token.encodeToByteArray(), ctx, Ttl(60u, now + 60u)).contentEquals(secret)) { "ttl inside" }
        r.expectCode("expired", "ttl") { ring.decrypt(token.encodeToByteArray(), ctx, Ttl(60u, now + 61u)) }
        r.expectCode("missing_timestamp", "ttl without issued-at") { ring.verify(binary, ctx, Ttl(60u, now)) }

        val info = inspect(token.encodeToByteArray())
        r.check(info.format == TokenFormat.KEYROLL_V1_TEXT && info.keyringId == ring.id() && info.keyVersion == 1u && info.issuedAt == now) { "inspect: $info" }
        r.check(info.plaintextLen == secret.size.toULong()) { "inspect plaintext length ${info.plaintextLen}" }
        r.check(inspect(binary).format == TokenFormat.KEYROLL_V1_BINARY) { "inspect binary" }

        val batch = ring.decryptMany(listOf(binary, token.encodeToByteArray(), binary.copyOf(binary.size - 1), ByteArray(0)), ctx)
        r.check(batch.size == 4 && (batch[0] as? DecryptOutcome.Plaintext)?.plaintext?.contentEquals(secret) == true &&
            (batch[1] as? DecryptOutcome.Plaintext)?.plaintext?.contentEquals(secret) == true) { "decryptMany good rows: $batch" }
        r.check((batch[2] as? DecryptOutcome.Failure)?.code == "decrypt_failed" && (batch[3] as? DecryptOutcome.Failure)?.code != null) { "decryptMany bad rows: $batch" }

        val v2 = ring.rotate(now + 10u)
        r.check(v2 == 2u && ring.activeVersion() == 2u) { "rotate gave $v2" }
        r.check(ring.needsRewrap(token.encodeToByteArray())) { "old token needs rewrap" }
        val fresh = ring.rewrap(token.encodeToByteArray(), ctx)
        r.check(fresh.startsWith("kr1:v2:") && !ring.needsRewrap(fresh.encodeToByteArray())) { "rewrap: $fresh" }
        r.check(ring.verify(fresh.encodeToByteArray(), ctx).issuedAt == now) { "rewrap keeps issued-at" }
        val versions = ring.versions()
        r.check(versions.map { it.version to it.state } == listOf(1u to KeyState.DECRYPT_ONLY, 2u to KeyState.ACTIVE)) { "versions: $versions" }
        r.check(versions.all { it.kind == KeyKind.AES256_GCM }) { "kinds" }
    }

    /** The app's path: a server exports a decrypt-only keyring, the app opens and reads with it. */
    private fun decryptOnlyExport() {
        val server = Keyring.generate(now)
        val old = server.encrypt(secret, ctx, now)
        server.rotate(now + 86_400u)
        val current = server.encryptBinary(secret, ctx, now + 86_401u)
        val masterKey = Random(7).nextBytes(32)
        val shipped = server.exportDecryptOnly(listOf(1u, 2u)).toDocumentWithMasterKey(masterKey)

        val app = Keyring.fromDocumentWithMasterKey(shipped, masterKey)
        r.check(app.isReadOnly() && app.activeVersion() == null && app.id() == server.id()) { "export: $app" }
        r.check(app.decrypt(old.encodeToByteArray(), ctx).contentEquals(secret)) { "app reads v1" }
        r.check(app.verify(current, ctx).keyVersion == 2u) { "app verifies v2" }
        r.check(app.versions().all { it.state == KeyState.DECRYPT_ONLY }) { "export states ${app.versions()}" }
        r.expectCode("no_active_key", "app encrypt") { app.encrypt(secret, ctx) }
        r.expectCode("read_only", "app rotate") { app.rotate(now) }
        r.expectCode("bad_passphrase", "wrong master key") { Keyring.fromDocumentWithMasterKey(shipped, ByteArray(32)) }
        r.expectCode("invalid_key", "short master key") { Keyring.fromDocumentWithMasterKey(shipped, ByteArray(16)) }
        r.expectCode("bad_passphrase", "passphrase for a master-key document") { Keyring.fromDocumentWithPassphrase(shipped, "x".encodeToByteArray()) }
        val tampered = shipped.decodeToString().replace("\"decrypt_only\"", "\"active\"").encodeToByteArray()
        r.expectCode("keyring_corrupt", "tampered document") { Keyring.fromDocumentWithMasterKey(tampered, masterKey) }

        // Only version 2, under a passphrase.
        val pass = "correct horse battery staple".encodeToByteArray()
        val onlyV2 = server.exportDecryptOnly(listOf(2u)).toDocumentWithPassphrase(pass, 100000u)
        val app2 = Keyring.fromDocumentWithPassphrase(onlyV2, pass)
        r.check(app2.versions().map { it.version } == listOf(2u)) { "export of v2 only: ${app2.versions()}" }
        r.check(app2.decrypt(current, ctx).contentEquals(secret)) { "v2-only reads v2" }
        r.expectCode("unknown_key_version", "v2-only reads v1") { app2.decrypt(old.encodeToByteArray(), ctx) }
        r.expectCode("bad_passphrase", "wrong passphrase") { Keyring.fromDocumentWithPassphrase(onlyV2, "wrong".encodeToByteArray()) }
        r.expectCode("wrong_keyring", "other keyring") { Keyring.generate(now).decrypt(current, ctx) }
    }

    private fun exceptions() {
        val ring = Keyring.generate(now)
        try {
            ring.decrypt(ring.encryptBinary(secret, ctx).copyOf(10), ctx)
            r.fail("garbage decrypted")
        } catch (e: KeyrollException) {
            // One type, caught as such; code on the base type, a message for logs.
            r.check(e.code() == "malformed") { "code ${e.code()}" }
            r.check(e is KeyrollException.Failed && e.code == e.code()) { "variant $e" }
            r.check(e.message?.contains("malformed") == true && e.toString().contains("malformed")) { "message ${e.message}" }
        }
        val codes = errorCodes()
        r.check(codes.size >= 19 && "decrypt_failed" in codes && "wrong_keyring" in codes) { "errorCodes: $codes" }
    }

    private fun secretsStayHidden() {
        val masterKey = Random(11).nextBytes(32)
        val pass = "hunter2-passphrase"
        val ring = Keyring.generate(now)
        val derived = ring.deriveKey("pii".encodeToByteArray(), 32u)
        val doc = ring.toDocumentWithMasterKey(masterKey)
        val shown = listOf(
            ring.toString(),
            derived.toString(),
            attempt { Keyring.fromDocumentWithPassphrase(doc, pass.encodeToByteArray()) }.exceptionOrNull().toString(),
            attempt { Keyring.fromDocumentWithMasterKey(doc, masterKey.copyOf().also { it[0] = (it[0] + 1).toByte() }) }.exceptionOrNull().toString(),
            attempt { ring.decrypt(ring.encryptBinary(secret, ctx), ByteArray(0)) }.exceptionOrNull().toString(),
        ).joinToString("\n")
        r.check(ring.toString().contains(ring.id())) { "toString shows the id: $ring" }
        for ((what, s) in listOf("master key" to masterKey.hex(), "derived key" to derived.key.hex(), "passphrase" to pass, "plaintext" to secret.decodeToString(), "plaintext hex" to secret.hex())) {
            r.check(!shown.contains(s, ignoreCase = true)) { "$what appears in toString/messages" }
        }
    }

    /** One keyring shared by many threads while another rotates it. */
    private fun threads() {
        val ring = Keyring.generate(now)
        val tokens = (0 until 64).map { ring.encryptBinary("row $it".encodeToByteArray(), ctx, now) }
        val pool = Executors.newFixedThreadPool(8)
        val start = CountDownLatch(1)
        try {
            val readers = (0 until 7).map { t ->
                pool.submit(Callable {
                    start.await()
                    var ok = 0
                    repeat(150) { i ->
                        val k = (i * 7 + t) % tokens.size
                        if (ring.decrypt(tokens[k], ctx).decodeToString() == "row $k" && ring.verify(tokens[k], ctx).keyVersion == 1u) ok++
                        val mine = ring.encrypt("t$t-$i".encodeToByteArray(), ctx)
                        if (ring.decrypt(mine.encodeToByteArray(), ctx).decodeToString() == "t$t-$i") ok++
                    }
                    ok
                })
            }
            val rotator = pool.submit(Callable {
                start.await()
                (0 until 20).map { ring.rotate(now + 1u + it.toULong()) }
            })
            start.countDown()
            val total = readers.sumOf { it.get(120, TimeUnit.SECONDS) }
            val rotated = rotator.get(120, TimeUnit.SECONDS)
            r.check(total == 7 * 150 * 2) { "threads: $total of ${7 * 150 * 2} operations correct" }
            r.check(rotated == (2u..21u).toList() && ring.activeVersion() == 21u) { "rotations under load: $rotated" }
        } finally {
            pool.shutdownNow()
        }
    }

    /** Random and mutated input: always a KeyrollException with a known code, never a crash. */
    private fun hostileInput() {
        val ring = Keyring.generate(now)
        val good = ring.encryptBinary(secret, ctx, now)
        val text = ring.encrypt(secret, ctx, now).encodeToByteArray()
        val known = errorCodes().toSet()
        val rnd = Random(42)
        var rejected = 0
        repeat(1000) { i ->
            val input = when (i % 4) {
                0 -> rnd.nextBytes(rnd.nextInt(0, 200))
                1 -> good.copyOf().also { it[rnd.nextInt(it.size)] = rnd.nextInt(256).toByte() }.takeIf { !it.contentEquals(good) } ?: ByteArray(0)
                2 -> good.copyOf(rnd.nextInt(good.size))
                else -> text.copyOf().also { it[rnd.nextInt(it.size)] = rnd.nextInt(32, 127).toByte() }.takeIf { !it.contentEquals(text) } ?: ByteArray(1)
            }
            for (op in listOf<() -> Unit>({ ring.decrypt(input, ctx) }, { ring.verify(input, ctx) })) {
                try {
                    op()
                    r.fail("hostile input $i (${input.hex().take(40)}…) was accepted")
                } catch (e: KeyrollException) {
                    if (e.code() in known) rejected++ else r.fail("unknown code ${e.code()}")
                }
            }
            attempt { inspect(input) }.exceptionOrNull()?.let { e ->
                r.check((e as KeyrollException).code() in known) { "inspect code ${e.code()}" }
            }
        }
        r.check(rejected == 2000) { "hostile input: $rejected of 2000 rejected with a known code" }
    }
}
