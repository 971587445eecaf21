//! `uniffi-bindgen`, pinned to the workspace's uniffi version (a mismatched generator fails
//! with "Unexpected metadata type code"). Used as
//! `uniffi-bindgen generate --no-format --library target/release/libkeyroll_uniffi.so
//! --language kotlin --out-dir target/uniffi/kotlin`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
