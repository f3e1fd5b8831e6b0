//! The image reference parser (see `pinnace_fuzz::check_image_ref`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        pinnace_fuzz::check_image_ref(text);
    }
});
