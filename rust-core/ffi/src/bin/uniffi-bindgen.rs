//! `uniffi-bindgen` pinned to this workspace's UniFFI: generates the Kotlin bindings from the
//! built library (`generate --library target/release/libsalur_ffi.so --language kotlin`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
