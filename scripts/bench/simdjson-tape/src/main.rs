//! Reads FILE's lines and parses each: `tape`, with simd-json into its tape (the line
//! copied into a reused buffer, as simd-json parses in place); `ignored`, with serde_json
//! validating only (`IgnoredAny`). Nothing is extracted: this is the floor of each.
use std::io::BufRead;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: simdjson-tape tape|ignored FILE");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path).expect("readable FILE");
    let lines = std::io::BufReader::with_capacity(1 << 16, file).lines();
    let (mut n, mut buf, mut bufs) = (0usize, Vec::new(), simd_json::Buffers::default());
    for line in lines {
        let line = line.expect("UTF-8 lines");
        match mode.as_str() {
            "tape" => {
                buf.clear();
                buf.extend_from_slice(line.as_bytes());
                let tape = simd_json::to_tape_with_buffers(&mut buf, &mut bufs).expect("JSON");
                n += tape.as_value().as_object().map_or(0, |o| o.len());
            }
            "ignored" => {
                let _: serde::de::IgnoredAny = serde_json::from_str(&line).expect("JSON");
                n += 1;
            }
            _ => panic!("mode: tape or ignored"),
        }
    }
    println!("{n}");
}
