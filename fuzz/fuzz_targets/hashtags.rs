//! Hashtag extraction on arbitrary text: no panic, ranges are hash-sign-to-body slices,
//! and the counting key is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut v = Vec::new();
    tt::hashtag::extract(text, &mut v);
    for h in v {
        let slice = &text[h.start..h.end];
        assert!(slice.starts_with(['#', '＃']) && slice.ends_with(h.text));
        let k = tt::hashtag::key(h.text).into_owned();
        assert_eq!(tt::hashtag::key(&k), k.as_str());
    }
});
