//! Any bytes through tt's bzip2 decoder and through the library's (bzip2 1.0.8's own
//! code, ported): no panic, no hang, and the two agree: both give the same bytes, or
//! both refuse; but for zero bytes after the last stream, padding to tt (as to gzip -d),
//! which the library refuses: without them, it must give what tt gives with them.
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
        (Ok(a), Err(_)) if unpadded_agrees(data, &a) => {}
        (a, b) => panic!("ours {:?}, library {:?}", a.map(|v| v.len()), b.map(|v| v.len())),
    }
});

/// Whether `data` ends in zero bytes and, without them, the library gives `ours`. The
/// stream's own last bytes (its checksum) may be zero too: up to eight are left on.
fn unpadded_agrees(data: &[u8], ours: &[u8]) -> bool {
    let zeros = data.iter().rev().take_while(|&&b| b == 0).count();
    (zeros.saturating_sub(8)..=zeros).rev().any(|k| {
        let mut theirs = Vec::new();
        k > 0
            && bzip2::read::MultiBzDecoder::new(&data[..data.len() - k])
                .read_to_end(&mut theirs)
                .is_ok()
            && theirs == ours
    })
}
