//! Any bytes through tt's bzip2 decoder and through the library's (bzip2 1.0.8's own
//! code, ported): no panic, no hang, and the two agree: both give the same bytes, or
//! both refuse.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let mut ours = Vec::new();
    let ours = tt::bunzip::Decoder::new(data).read_to_end(&mut ours).map(|_| ours);
    let mut theirs = Vec::new();
    let theirs = bzip2::read::MultiBzDecoder::new(data)
        .read_to_end(&mut theirs)
        .map(|_| theirs);
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert!(a == b, "different bytes"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("ours {:?}, library {:?}", a.map(|v| v.len()), b.map(|v| v.len())),
    }
});
