//! Any bytes through tt's bzip2 decoder on one thread and on several (blocks found by
//! their magic numbers, decoded apart and chained): the same bytes, and the same error
//! after them, whatever the damage.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let mut one = Vec::new();
    let one_err = tt::bunzip::Decoder::new(data).read_to_end(&mut one).err();
    let mut many = Vec::new();
    let many_err = tt::bunzip::Parallel::new(data, 2).read_to_end(&mut many).err();
    assert_eq!(
        one_err.map(|e| e.to_string()),
        many_err.map(|e| e.to_string())
    );
    assert!(one == many, "{} bytes on one thread, {} on two", one.len(), many.len());
});
