package dev.keyroll.tests

import dev.keyroll.KeyrollException

/** Counts checks and failures; the process exits non-zero if anything failed. */
class Report {
    var checks = 0
        private set
    private val failures = ArrayList<String>()

    fun check(condition: Boolean, what: () -> String) {
        checks++
        if (!condition) failures.add(what())
    }

    fun fail(what: String) {
        checks++
        failures.add(what)
    }

    /** Runs [block] and checks that it throws a KeyrollException with [code]. */
    fun expectCode(code: String, what: String, block: () -> Unit) {
        checks++
        try {
            block()
            failures.add("$what: succeeded, wanted $code")
        } catch (e: KeyrollException) {
            if (e.code() != code) failures.add("$what: got ${e.code()} (${e.message}), wanted $code")
        }
    }

    val failed: Boolean get() = failures.isNotEmpty()

    fun finish(name: String): Int {
        if (failures.isEmpty()) {
            println("$name: all $checks checks passed")
            return 0
        }
        System.err.println("$name: ${failures.size} of $checks checks FAILED")
        failures.take(50).forEach { System.err.println("  $it") }
        return 1
    }
}

/** Runs [block]; a KeyrollException becomes a failed Result, anything else propagates. */
inline fun <T> attempt(block: () -> T): Result<T> =
    try {
        Result.success(block())
    } catch (e: KeyrollException) {
        Result.failure(e)
    }
