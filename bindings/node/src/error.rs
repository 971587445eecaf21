//! The one place core errors become JavaScript values.
//!
//! As in the wasm layer, the TypeScript layer registers a factory that builds its `KeyrollError`
//! (`setErrorFactory`); until it does (or if it throws), a plain `Error` named `KeyrollError`
//! with the same `code` is used. The factory is kept per Node environment (napi instance data),
//! so worker threads, each with its own copy of the TypeScript layer, get their own class.

use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, JsError, JsValue};
use napi_derive::napi;

type Factory = FunctionRef<FnArgs<(String, String)>, Unknown<'static>>;

/// Registers `factory(code, message)`, called for every error this addon reports.
#[napi(catch_unwind, js_name = "setErrorFactory")]
pub fn set_error_factory(
    env: Env,
    factory: Function<FnArgs<(String, String)>, Unknown<'static>>,
) -> napi::Result<()> {
    env.set_instance_data(factory.create_ref()?, (), |_| {})
}

/// Every stable error code core can report (`keyroll::Error::CODES`).
#[napi(catch_unwind, js_name = "errorCodes")]
pub fn error_codes() -> Vec<String> {
    keyroll::Error::CODES
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// The JavaScript value of a core error: its stable code and its message (no secrets).
pub(crate) fn error_value<'env>(env: &'env Env, error: &keyroll::Error) -> Unknown<'env> {
    coded_value(env, error.code(), error.to_string())
}

/// The JavaScript error for a stable code and its message (core's, or the store crate's).
pub(crate) fn coded_value<'env>(env: &'env Env, code: &str, message: String) -> Unknown<'env> {
    let built = env
        .get_instance_data::<Factory>()
        .ok()
        .flatten()
        .and_then(|factory| factory.borrow_back(env).ok())
        .and_then(|f| {
            f.call(FnArgs::from((code.to_owned(), message.clone())))
                .ok()
        });
    if let Some(value) = built {
        return value;
    }
    let plain = JsError::from(napi::Error::new(code, message)).into_unknown(*env);
    if let Ok(mut object) = plain.coerce_to_object() {
        // Setting a property on a fresh Error object cannot fail.
        let _ = object.set("name", "KeyrollError");
        return object.to_unknown();
    }
    plain
}

/// A core error as the `napi::Error` that throws exactly [`error_value`].
pub(crate) fn to_js(env: &Env, error: &keyroll::Error) -> napi::Error {
    napi::Error::from_unknown_without_coercion(error_value(env, error))
}

/// Runs `f` (a body over core) and converts its error: the shape of every export.
pub(crate) fn run<T>(env: &Env, f: impl FnOnce() -> keyroll::Result<T>) -> napi::Result<T> {
    f().map_err(|e| to_js(env, &e))
}
