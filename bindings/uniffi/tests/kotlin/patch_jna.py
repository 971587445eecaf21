#!/usr/bin/env python3
"""Applies keyroll's small performance patch to the Kotlin that uniffi-bindgen 0.32 generates.

Usage: python3 patch_jna.py path/to/dev/keyroll/keyroll.kt   (run by build.sh after generation)

Why: every FFI call in UniFFI's JNA-based Kotlin allocated a fresh `UniffiRustCallStatus` JNA
`Structure` and every `RustBuffer` returned by value got its own `com.sun.jna.Memory`. Each such
`Memory` is a malloc plus a WeakReference in JNA's global `allocatedMemory` map plus a JNA Cleaner
registration; together they were most of the 24-45 us a call cost (docs/benchmarks.md, "Mobile
(JVM)"). The patch changes no FFI signature and no public Kotlin API:

  1. `uniffiRustCallWithError` takes its call status from a per-thread stack (`UniffiCallStatusPool`):
     one status per nesting depth (lowering an argument calls `RustBuffer.alloc` inside the outer
     call's lambda, so nested calls never share one), reset before each call. JNA's automatic
     write/read of the status is off: the code byte is cleared before the call and read after it,
     and the whole structure (code + error buffer) is read only when the code is not success.
  2. `RustBuffer.ByValue` takes its 24 bytes from a per-thread slab (`UniffiRustBufferSlab`): a
     direct `ByteBuffer` cut into slots that are never reused; the JDK frees the slab once the last
     structure in it is garbage. No slot is shared, so no aliasing reasoning is needed.
  3. `RustBuffer.getFieldList()` returns a copy of a list computed once, instead of JNA listing the
     class's fields by reflection (`Class.getDeclaredFields`) twice for every structure it builds.
  4. `RustBuffer.read()`/`write()` copy its three fields at their fixed offsets instead of JNA's
     reflective field-by-field sync (run before and after every call that passes or returns one).

Each replacement must match exactly once, otherwise this script fails: a uniffi upgrade that
changes these templates stops the build instead of silently shipping unpatched (or half-patched)
code. How to drop it: docs/mobile.md, "JVM call cost patch".
"""
import sys

MARK = "// keyroll: patched by bindings/uniffi/tests/kotlin/patch_jna.py (docs/mobile.md)"

# (what, generated text, replacement); each generated text must occur exactly once.
EDITS = [
    (
        "pooled call status",
        """    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}""",
        """    // keyroll patch 1: a per-thread pooled status instead of a new JNA Structure per call.
    val pool = UniffiCallStatusPool.current()
    val status = pool.acquire()
    try {
        val return_value = callback(status)
        pool.afterCall(status)
        uniffiCheckCallStatus(errorHandler, status)
        return return_value
    } finally {
        pool.release()
    }
}

// keyroll patch 1: one status per nesting depth per thread, each allocated once.
internal class UniffiCallStatusPool {
    private var statuses = arrayOfNulls<UniffiRustCallStatus>(4)
    private var depth = 0

    fun acquire(): UniffiRustCallStatus {
        if (depth == statuses.size) statuses = statuses.copyOf(depth * 2)
        val status = statuses[depth] ?: UniffiRustCallStatus().also {
            // Written and read by hand below: JNA's reflective sync of every field is skipped.
            it.autoWrite = false
            it.autoRead = false
            statuses[depth] = it
        }
        depth += 1
        // Rust writes the status only on failure, so only the code needs resetting.
        status.code = UNIFFI_CALL_SUCCESS
        status.pointer.setByte(0, UNIFFI_CALL_SUCCESS)
        return status
    }

    fun afterCall(status: UniffiRustCallStatus) {
        if (status.pointer.getByte(0) != UNIFFI_CALL_SUCCESS) status.read()
    }

    fun release() {
        depth -= 1
    }

    companion object {
        private val pools = ThreadLocal.withInitial { UniffiCallStatusPool() }

        fun current(): UniffiCallStatusPool = pools.get()
    }
}""",
    ),
    (
        "slab-backed RustBuffer.ByValue, cached field list",
        """    class ByValue: RustBuffer(), Structure.ByValue
""",
        """    // keyroll patch 3: JNA lists a structure's fields by reflection (getDeclaredFields) twice
    // per instance; these are fixed, so hand it a copy of a list made once (JNA sorts it in place).
    override fun getFieldList(): MutableList<java.lang.reflect.Field> = ArrayList(uniffiRustBufferFields)

    // keyroll patch 4: JNA syncs a structure with its native memory before and after every call
    // field by field through reflection; a RustBuffer's layout is fixed by uniffi (u64 capacity,
    // u64 len, data pointer at offset 16 on every ABI), so copy the three fields directly.
    override fun read() {
        val p = pointer
        capacity = p.getLong(0)
        len = p.getLong(8)
        data = p.getPointer(16)
    }

    override fun write() {
        val p = pointer
        p.setLong(0, capacity)
        p.setLong(8, len)
        p.setPointer(16, data)
    }

    class ByValue: RustBuffer(), Structure.ByValue {
        // keyroll patch 2: memory from a per-thread slab instead of a JNA Memory (with its
        // global map entry and Cleaner registration) per returned buffer.
        override fun autoAllocate(size: Int): com.sun.jna.Memory = UniffiRustBufferSlab.take(size)
    }
""",
    ),
    (
        "slab definition",
        """// This is a helper for safely passing byte references into the rust code.
""",
        """// keyroll patch 2: slots cut from a direct ByteBuffer; a slot is never handed out twice, and
// the JDK frees the slab when the last structure using it is unreachable.
internal class UniffiSlabSlot(
    @Suppress("unused") private val slab: java.nio.ByteBuffer,
    address: Long,
    size: Int,
) : com.sun.jna.Memory() {
    init {
        peer = address
        this.size = size.toLong()
    }

    // The slab owns the memory: never free a slot on its own.
    override fun dispose() {
        peer = 0
    }
}

// keyroll patch 3: RustBuffer's public instance fields, as JNA's getFieldList would list them.
private val uniffiRustBufferFields: List<java.lang.reflect.Field> =
    RustBuffer::class.java.declaredFields.filter {
        java.lang.reflect.Modifier.isPublic(it.modifiers) && !java.lang.reflect.Modifier.isStatic(it.modifiers)
    }

internal class UniffiRustBufferSlab private constructor(size: Int) {
    private val buffer = ByteBuffer.allocateDirect(size)
    private val base = Pointer.nativeValue(Native.getDirectBufferPointer(buffer))
    private var next = 0

    companion object {
        private const val SLAB_BYTES = 4096
        private val slabs = ThreadLocal<UniffiRustBufferSlab>()

        fun take(size: Int): com.sun.jna.Memory {
            val step = (size + 15) and 15.inv()
            var slab = slabs.get()
            if (slab == null || slab.next + step > slab.buffer.capacity()) {
                slab = UniffiRustBufferSlab(maxOf(SLAB_BYTES, step))
                slabs.set(slab)
            }
            val slot = UniffiSlabSlot(slab.buffer, slab.base + slab.next, size)
            slab.next += step
            slot.clear()
            return slot
        }
    }
}

// This is a helper for safely passing byte references into the rust code.
""",
    ),
]


def main() -> None:
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if MARK in text:
        sys.exit(f"patch_jna: {path} is already patched")
    for what, old, new in EDITS:
        n = text.count(old)
        if n != 1:
            sys.exit(
                f"patch_jna: '{what}': expected the generated text exactly once in {path}, found {n}. "
                "uniffi's Kotlin templates changed: re-derive the patch or drop it (docs/mobile.md)."
            )
        text = text.replace(old, new)
    text = f"{MARK}\n{text}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
