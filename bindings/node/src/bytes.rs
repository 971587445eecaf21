//! Bytes out: every `Uint8Array` this addon returns is a fresh V8 `ArrayBuffer` that core
//! writes into directly (`encrypt_binary_into`, `decrypt_into`), so an envelope or a plaintext
//! is written once, where JavaScript reads it: no `Vec` and no copy at 64 KiB, and no external
//! buffer (whose finalizer and bookkeeping cost more than the copy at 64 B).
//!
//! Text crosses the same way: envelopes in the text form are ASCII, so they are handed to V8
//! as Latin-1 (one copy into a one-byte string, no UTF-8 decoding), and a token string that
//! is all ASCII is read with one copy too (`TextArg`); V8's UTF-8 paths transcode character by
//! character, which at 64 KiB cost more than the decryption.
//!
//! The only `unsafe` code of the crate is here: Node-API calls and the slices over the memory
//! they hand out.
#![allow(unsafe_code)]

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue};
use napi::{check_status, sys, Env};
use std::ptr;

/// A `Uint8Array` built here, handed back to JavaScript as it is.
pub struct Bytes(sys::napi_value);

impl ToNapiValue for Bytes {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// A new `Uint8Array` over a zeroed `len`-byte `ArrayBuffer`, filled by `fill`, which returns
/// how many bytes it wrote (the array's length) or core's error (the outer `Result` is
/// Node-API's own failure; the caller converts core's).
pub(crate) fn filled(
    env: &Env,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> keyroll::Result<usize>,
) -> napi::Result<keyroll::Result<Bytes>> {
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    // SAFETY: `env` is the live environment of this call; both out-pointers are valid locals.
    check_status!(unsafe { sys::napi_create_arraybuffer(env.raw(), len, &mut data, &mut buffer) })?;
    let out: &mut [u8] = if len == 0 || data.is_null() {
        &mut []
    } else {
        // SAFETY: V8 just allocated `len` zeroed bytes at `data` for this buffer, which nothing
        // else references yet; no JavaScript runs while `fill` holds the slice (core code only),
        // the handle scope of this call keeps the buffer alive, and backing stores never move.
        unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) }
    };
    let used = match fill(out) {
        Ok(used) => used.min(len),
        Err(e) => return Ok(Err(e)),
    };
    let mut array = ptr::null_mut();
    // SAFETY: `buffer` is the ArrayBuffer created above and `used <= len` its length.
    check_status!(unsafe {
        sys::napi_create_typedarray(
            env.raw(),
            sys::TypedarrayType::uint8_array,
            used,
            buffer,
            0,
            &mut array,
        )
    })?;
    Ok(Ok(Bytes(array)))
}

/// A new `Uint8Array` holding a copy of `bytes` (documents, derived keys, legacy plaintexts).
pub(crate) fn copied(env: &Env, bytes: &[u8]) -> napi::Result<Bytes> {
    filled(env, bytes.len(), |out| {
        out.copy_from_slice(bytes);
        Ok(bytes.len())
    })?
    .map_err(|e| crate::error::to_js(env, &e))
}

/// A JavaScript string built here (see [`ascii`]).
pub struct Text(sys::napi_value);

impl ToNapiValue for Text {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// A JavaScript string of `text`, which core wrote and which is ASCII (envelopes `kr1:v…`, blind
/// indexes, signed messages): created as Latin-1, which for ASCII is the same string.
pub(crate) fn ascii(env: &Env, text: &str) -> napi::Result<Text> {
    debug_assert!(text.is_ascii());
    let mut value = ptr::null_mut();
    // SAFETY: `text` is valid for `text.len()` bytes; the out-pointer is a valid local.
    check_status!(unsafe {
        sys::napi_create_string_latin1(
            env.raw(),
            text.as_ptr().cast(),
            text.len() as isize,
            &mut value,
        )
    })?;
    Ok(Text(value))
}

/// The UTF-8 bytes of a JavaScript string argument (a token in the text form). An all-ASCII
/// string (every real token) is copied once as Latin-1; any other string goes through V8's
/// UTF-8 encoder, so the bytes are always exactly the string's UTF-8 (unpaired surrogates
/// become U+FFFD, as `TextEncoder` writes them).
pub struct TextArg(pub(crate) Vec<u8>);

impl FromNapiValue for TextArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let (mut chars, mut utf8) = (0usize, 0usize);
        // SAFETY (all calls below): `env` and `value` are the live arguments of this call, and
        // each buffer passed is allocated with room for the length given plus the NUL V8 writes.
        check_status!(unsafe {
            sys::napi_get_value_string_latin1(env, value, ptr::null_mut(), 0, &mut chars)
        })?;
        check_status!(unsafe {
            sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut utf8)
        })?;
        // As many UTF-8 bytes as UTF-16 units: every character is ASCII, Latin-1 is exact.
        let latin1 = chars == utf8;
        let mut out: Vec<u8> = Vec::with_capacity(utf8 + 1);
        let mut written = 0usize;
        check_status!(unsafe {
            if latin1 {
                sys::napi_get_value_string_latin1(
                    env,
                    value,
                    out.as_mut_ptr().cast(),
                    utf8 + 1,
                    &mut written,
                )
            } else {
                sys::napi_get_value_string_utf8(
                    env,
                    value,
                    out.as_mut_ptr().cast(),
                    utf8 + 1,
                    &mut written,
                )
            }
        })?;
        // SAFETY: V8 initialised `written <= utf8` bytes (plus a NUL past them).
        unsafe { out.set_len(written.min(utf8)) };
        Ok(TextArg(out))
    }
}

/// A caller's `Uint8Array` that core writes into (`decryptInto`): the Node entry's scratch
/// buffer for small plaintexts, which it copies out and wipes (see `js/src/node.ts`).
pub struct OutArg(pub(crate) &'static mut [u8]);

impl FromNapiValue for OutArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi-rs's own `&mut [u8]` conversion: the slice is the typed array's memory,
        // valid while the call runs (the argument keeps it alive; no JavaScript runs meanwhile).
        Ok(OutArg(unsafe { <&mut [u8]>::from_napi_value(env, value)? }))
    }
}
