package dev.keyroll.tests

import java.io.File
import kotlin.system.exitProcess

/**
 * The Kotlin test program (scripts/ci/40-mobile.sh): every shared vector, then the API checks.
 * Usage: VectorsTestKt [tests/vectors/v1]. Exit code 0 only if every check passed.
 */
fun main(args: Array<String>) {
    val report = Report()
    val vectors = Vectors(report)
    val dir = File(args.getOrElse(0) { "tests/vectors/v1" })
    val t0 = System.nanoTime()
    vectors.runDir(dir)
    vectors.checkCodes()
    report.check(vectors.positive >= 90 && vectors.negative >= 90) { "too few vector cases ran: ${vectors.positive}/${vectors.negative}" }
    println("kotlin vectors: ${vectors.positive} positive and ${vectors.negative} fail_* cases (${vectors.codesSeen.size} distinct codes) in ${(System.nanoTime() - t0) / 1_000_000} ms")
    val t1 = System.nanoTime()
    ApiChecks(report).runAll()
    SigningChecks(report).runAll()
    BlindIndexChecks(report).run()
    CallPoolChecks(report).run()
    HandleChecks(report).run()
    println("kotlin API checks: export, exceptions, secrets, threads, hostile input in ${(System.nanoTime() - t1) / 1_000_000} ms")
    exitProcess(report.finish("kotlin (JVM, UniFFI + JNA)"))
}
