//! A raw post line through `tt tags`' parser: any bytes, every format, no panic; every
//! hashtag found is a slice of the post's text; the v1.1 fast path reads what it accepts
//! exactly as serde does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tt::post::parse::<()>(line, &mut |p| {
        for t in p.tags {
            let _ = tt::hashtag::key(t.text);
            if let Some((a, b)) = t.span {
                assert!(p.text.get(a..b).is_some(), "span out of the text");
            }
        }
        Ok(())
    });
    let _ = tt::post::time_of(line);
    tt::post::check_fast_path(line);
});
