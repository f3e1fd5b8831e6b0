//! Pin's edit planner: every edit a digest insertion, a second run a no-op (see `pinnace_fuzz::check_pin_plan`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        pinnace_fuzz::check_pin_plan(text);
    }
});
