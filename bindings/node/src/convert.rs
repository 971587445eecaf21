//! Type conversions between JavaScript values and core's types (the wasm layer's rules).

use keyroll::Error;
use napi::bindgen_prelude::Either;

/// Largest integer a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Unix seconds from a JavaScript number: whole, non-negative, exactly representable.
pub(crate) fn secs(t: f64) -> keyroll::Result<u64> {
    if t.is_finite() && t >= 0.0 && t.fract() == 0.0 && t <= MAX_SAFE {
        Ok(t as u64)
    } else {
        Err(Error::InvalidArgument(
            "times must be whole Unix seconds between 0 and 2^53-1",
        ))
    }
}

/// An optional time.
pub(crate) fn opt_secs(t: Option<f64>) -> keyroll::Result<Option<u64>> {
    t.map(secs).transpose()
}

/// A TTL check from `ttl` seconds at `now`.
pub(crate) fn ttl(seconds: Option<f64>, now: f64) -> keyroll::Result<Option<keyroll::Ttl>> {
    seconds
        .map(|s| {
            Ok(keyroll::Ttl {
                seconds: secs(s)?,
                now: secs(now)?,
            })
        })
        .transpose()
}

/// Core's serde JSON for a metadata value (no secrets: versions, policy, token info).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("metadata types always serialize")
}

/// An optional value as wasm-bindgen returns it: `undefined` when absent (napi's `Option`
/// gives `null`).
pub(crate) type Maybe<T> = Either<T, ()>;

/// [`Maybe`] of an `Option`.
pub(crate) fn maybe<T>(value: Option<T>) -> Maybe<T> {
    value.map_or(Either::B(()), Either::A)
}

/// A JavaScript number of an optional u64 (`undefined` when absent). Values above 2^53 lose
/// precision, as any JavaScript number does.
pub(crate) fn opt_u64(v: Option<u64>) -> Maybe<f64> {
    maybe(v.map(|v| v as f64))
}
