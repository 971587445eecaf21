//! The one place core errors become JavaScript values.
//!
//! The TypeScript layer registers a factory that builds its `KeyrollError` class; until it
//! does (or if it throws), a plain `Error` named `KeyrollError` with the same `code` is used.

use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static FACTORY: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Registers `factory(code, message)`, called for every error this module throws.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: js_sys::Function) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

/// Every stable error code core can report (`keyroll::Error::CODES`).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    keyroll::Error::CODES
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// Converts a core error: its stable code and its message (which carries no secrets).
pub(crate) fn to_js(error: keyroll::Error) -> JsValue {
    let code = JsValue::from_str(error.code());
    let message = JsValue::from_str(&error.to_string());
    let built = FACTORY.with(|f| {
        f.borrow()
            .as_ref()
            .and_then(|factory| factory.call2(&JsValue::UNDEFINED, &code, &message).ok())
    });
    built.unwrap_or_else(|| {
        let plain = js_sys::Error::new(&error.to_string());
        plain.set_name("KeyrollError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&plain, &JsValue::from_str("code"), &code);
        plain.into()
    })
}

/// `Result` with a JavaScript error.
pub(crate) type JsResult<T> = Result<T, JsValue>;

/// Shorthand: a core result with its error converted.
pub(crate) fn js<T>(result: keyroll::Result<T>) -> JsResult<T> {
    result.map_err(to_js)
}
