//! State file loading: any bytes give a state or an error, never a panic. Each input is
//! tried as it is, and as a body behind a correct trailer (so the checksum does not stop
//! the fuzzer before the JSON); a state that loads must then take a batch.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.json");
    let _ = tt::state::parse_snapshot(data, path);
    let mut framed = data.to_vec();
    framed.push(b'\n');
    framed.extend_from_slice(tt::state::trailer_for(data).as_bytes());
    framed.push(b'\n');
    if let Ok(mut snap) = tt::state::parse_snapshot(&framed, path) {
        let c = &mut snap.counter;
        let next = c.last_batch.saturating_add(1);
        let slot = c.last_slot.saturating_add(1).max(0);
        c.apply(&tt::record::Batch {
            batch: next,
            slot,
            end: 0,
            posts: 1,
            uses: vec![tt::record::SpellingUses::new("a", "A", 1)],
            users: vec![tt::record::TagUsers {
                key: "a".into(),
                users: vec!["u".into()],
            }],
        });
    }
});
