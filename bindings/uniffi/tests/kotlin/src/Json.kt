package dev.keyroll.tests

import java.math.BigDecimal
import java.math.BigInteger

/**
 * The JSON the tests read (vector files, the cross harness) and write (tokens.json): objects
 * keep their order, integers are BigInteger so that 2^64-1 survives, and nothing is lenient.
 */
object Json {
    fun parse(text: String): Any? {
        val p = Reader(text)
        p.skipWs()
        val value = p.value()
        p.skipWs()
        require(p.pos == text.length) { "JSON: trailing data at offset ${p.pos}" }
        return value
    }

    fun write(value: Any?): String = StringBuilder().also { emit(it, value) }.toString()

    private fun emit(out: StringBuilder, v: Any?) {
        when (v) {
            null -> out.append("null")
            is String -> {
                out.append('"')
                for (c in v) {
                    when {
                        c == '"' -> out.append("\\\"")
                        c == '\\' -> out.append("\\\\")
                        c < ' ' -> out.append(String.format("\\u%04x", c.code))
                        else -> out.append(c)
                    }
                }
                out.append('"')
            }
            is Boolean, is BigInteger, is Int, is Long -> out.append(v.toString())
            is Map<*, *> -> {
                out.append('{')
                v.entries.forEachIndexed { i, (k, x) ->
                    if (i > 0) out.append(',')
                    emit(out, k as String)
                    out.append(':')
                    emit(out, x)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                v.forEachIndexed { i, x -> if (i > 0) out.append(','); emit(out, x) }
                out.append(']')
            }
            else -> throw IllegalArgumentException("JSON: cannot write ${v::class}")
        }
    }

    private class Reader(val s: String) {
        var pos = 0

        fun skipWs() {
            while (pos < s.length && s[pos] in " \t\r\n") pos++
        }

        fun value(): Any? {
            require(pos < s.length) { "JSON: unexpected end" }
            return when (s[pos]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> num()
            }
        }

        private fun literal(word: String, v: Any?): Any? {
            require(s.startsWith(word, pos)) { "JSON: bad literal at $pos" }
            pos += word.length
            return v
        }

        private fun expect(c: Char) {
            require(pos < s.length && s[pos] == c) { "JSON: expected '$c' at $pos" }
            pos++
        }

        private fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            expect('{'); skipWs()
            if (s[pos] == '}') { pos++; return out }
            while (true) {
                skipWs(); val k = str(); skipWs(); expect(':'); skipWs()
                require(!out.containsKey(k)) { "JSON: duplicate key $k" }
                out[k] = value(); skipWs()
                if (s[pos] == ',') { pos++; continue }
                expect('}'); return out
            }
        }

        private fun arr(): List<Any?> {
            val out = ArrayList<Any?>()
            expect('['); skipWs()
            if (s[pos] == ']') { pos++; return out }
            while (true) {
                skipWs(); out.add(value()); skipWs()
                if (s[pos] == ',') { pos++; continue }
                expect(']'); return out
            }
        }

        private fun str(): String {
            expect('"')
            val out = StringBuilder()
            while (true) {
                require(pos < s.length) { "JSON: unterminated string" }
                val c = s[pos++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        val e = s[pos++]
                        when (e) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> { out.append(s.substring(pos, pos + 4).toInt(16).toChar()); pos += 4 }
                            else -> throw IllegalArgumentException("JSON: bad escape \\$e")
                        }
                    }
                    c < ' ' -> throw IllegalArgumentException("JSON: control character in string")
                    else -> out.append(c)
                }
            }
        }

        private fun num(): Any {
            val start = pos
            while (pos < s.length && s[pos] in "+-0123456789.eE") pos++
            val text = s.substring(start, pos)
            require(text.isNotEmpty()) { "JSON: unexpected '${s[start]}' at $start" }
            return if (text.any { it in ".eE" }) BigDecimal(text) else BigInteger(text)
        }
    }
}

/** Typed access to parsed JSON objects; a missing or mistyped field is a test-data error. */
@Suppress("UNCHECKED_CAST")
fun Any?.obj(): Map<String, Any?> = this as Map<String, Any?>

@Suppress("UNCHECKED_CAST")
fun Any?.list(): List<Any?> = this as List<Any?>

fun Map<String, Any?>.str(key: String): String = this[key] as? String ?: error("field $key missing or not a string")
fun Map<String, Any?>.strOrNull(key: String): String? = this[key] as String?
fun Map<String, Any?>.u64(key: String): ULong = (this[key] as BigInteger).toString().toULong()
fun Map<String, Any?>.u64OrNull(key: String): ULong? = (this[key] as BigInteger?)?.toString()?.toULong()

fun ByteArray.hex(): String = joinToString("") { "%02x".format(it.toInt() and 0xff) }

fun String.unhex(): ByteArray {
    require(length % 2 == 0) { "odd hex length" }
    return ByteArray(length / 2) { substring(2 * it, 2 * it + 2).toInt(16).toByte() }
}

fun ULong.big(): BigInteger = BigInteger(toString())
fun UInt.big(): BigInteger = BigInteger(toString())
