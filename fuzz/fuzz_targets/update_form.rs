//! The classic `POST /updateData` form (Python list literals): any bytes give a form or a
//! 400, never a panic; labels and values always pair up.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = tt::serve::parse_update_form(data) {
        assert_eq!(f.labels.len(), f.values.len());
    }
});
