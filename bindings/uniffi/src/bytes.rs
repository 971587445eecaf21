//! Bytes across the UniFFI boundary, copied in bulk.
//!
//! UniFFI passes a `Vec<u8>` through its generic sequence converter: a 4-byte count, then each
//! element read and written one at a time with a bounds check apiece (uniffi_core 0.32
//! `impl Lift for Vec<T>`). On the JVM run that cost ~2.7 ns a byte: 180 µs to hand a 64 KiB
//! token to `needsRewrap`, which reads 26 bytes of it, and about half of `decryptMany`'s time
//! per token. [`Bytes`] has the same wire form and the same type metadata as `Vec<u8>`, so
//! the generated Kotlin and Swift are unchanged (`ByteArray`, `Data`), but it is read and
//! written with one copy. Kotlin already copies its side in bulk.

use std::ops::Deref;
use uniffi::{FfiConverter, MetadataBuffer, RustBuffer, TypeId};

/// A byte string from or for Kotlin/Swift (`ByteArray`/`Data`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// Says how long it is, never what it holds (it may be a plaintext or a key).
impl core::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(b: Bytes) -> Self {
        b.0
    }
}

// SAFETY: the same serialised form as uniffi_core's `Vec<u8>` (an i32 big-endian count, then
// the bytes) and the same `TYPE_ID_META`, so the generated foreign code — written for
// `Vec<u8>` — reads and writes exactly what these functions do; `try_read` checks every length
// before slicing, so a malformed buffer is an error, never an out-of-bounds read.
#[allow(unsafe_code)]
unsafe impl FfiConverter<crate::UniFfiTag> for Bytes {
    type FfiType = RustBuffer;

    fn lower(obj: Self) -> RustBuffer {
        let mut buf = Vec::with_capacity(4 + obj.0.len());
        <Self as FfiConverter<crate::UniFfiTag>>::write(obj, &mut buf);
        RustBuffer::from_vec(buf)
    }

    fn try_lift(v: RustBuffer) -> uniffi::Result<Self> {
        let vec = v.destroy_into_vec();
        let mut rest = vec.as_slice();
        let value = <Self as FfiConverter<crate::UniFfiTag>>::try_read(&mut rest)?;
        if !rest.is_empty() {
            uniffi::deps::anyhow::bail!("junk data left in buffer after lifting bytes");
        }
        Ok(value)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        let len = i32::try_from(obj.0.len()).expect("UniFFI limits byte strings to i32::MAX");
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&obj.0);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Self> {
        let Some((count, rest)) = buf.split_first_chunk::<4>() else {
            uniffi::deps::anyhow::bail!("not enough bytes for a byte string's length");
        };
        let len = usize::try_from(i32::from_be_bytes(*count))?;
        if rest.len() < len {
            uniffi::deps::anyhow::bail!("not enough bytes remaining for a byte string");
        }
        let (bytes, rest) = rest.split_at(len);
        *buf = rest;
        Ok(Bytes(bytes.to_vec()))
    }

    const TYPE_ID_META: MetadataBuffer = <Vec<u8> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local Bytes);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use uniffi::{Lift, Lower};

    /// The same bytes on the wire as uniffi_core's own `Vec<u8>` converter, both ways.
    #[test]
    fn the_wire_form_is_uniffi_own() {
        for len in [0usize, 1, 5, 300, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut ours = Vec::new();
            <Bytes as Lower<crate::UniFfiTag>>::write(Bytes(data.clone()), &mut ours);
            let mut theirs = Vec::new();
            <Vec<u8> as Lower<crate::UniFfiTag>>::write(data.clone(), &mut theirs);
            assert_eq!(ours, theirs);
            let mut rest = theirs.as_slice();
            assert_eq!(
                <Bytes as Lift<crate::UniFfiTag>>::try_read(&mut rest)
                    .unwrap()
                    .0,
                data
            );
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn short_and_negative_lengths_are_errors() {
        for bad in [
            &[][..],
            &[0, 0, 0],
            &[0, 0, 0, 5, 1, 2],
            &[0xFF, 0xFF, 0xFF, 0xFF],
        ] {
            let mut rest = bad;
            assert!(<Bytes as Lift<crate::UniFfiTag>>::try_read(&mut rest).is_err());
        }
        assert_eq!(format!("{:?}", Bytes(b"secret".to_vec())), "Bytes(6 bytes)");
    }
}
