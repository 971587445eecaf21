//! Bytes out: every `Uint8Array` this addon returns is a fresh V8 `ArrayBuffer` that core
//! writes into directly (`encrypt_binary_into`, `decrypt_into`), so an envelope or a plaintext
//! is written once, where JavaScript reads it: no `Vec` and no copy at 64 KiB, and no external
//! buffer (whose finalizer and bookkeeping cost more than the copy at 64 B).
//!
//! The only `unsafe` code of the crate is here: two Node-API calls and the slice over the
//! buffer they create.
#![allow(unsafe_code)]

use napi::bindgen_prelude::ToNapiValue;
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
