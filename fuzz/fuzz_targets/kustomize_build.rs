//! A Kustomize build of a small tree (see `pinnace_fuzz::check_kustomize`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        pinnace_fuzz::check_kustomize(text);
    }
});
