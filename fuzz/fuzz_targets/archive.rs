//! Any bytes as a file named like an archive or a compressed file, through what `tt tags`
//! opens (`io::each_unit`), every unit read to its end the way the command reads it: no
//! panic, no hang, memory bounded whatever sizes the headers declare.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use tt::io::{each_unit, read_packed, zstd_lines, Codec, Names, Unit, Units};

/// The names the first byte picks from: each archive and codec, and plain lines.
const NAMES: [&str; 8] = [
    "x.tar", "x.zip", "x.tar.gz", "x.tbz2", "x.json.gz", "x.json.zst", "x.json.xz", "x.json",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("tt-fuzz-archive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(NAMES[usize::from(pick) % NAMES.len()]);
    std::fs::write(&path, body).unwrap();
    // Packed members (read whole, then decoded) or streamed ones, one thread or two; the
    // members read are JSON or text.
    let units = Units {
        packed_max: if pick & 0x08 != 0 { 1 << 20 } else { 0 },
        by_parts: false,
        threads: if pick & 0x10 != 0 { 2 } else { 1 },
        names: if pick & 0x20 != 0 { Names::Text } else { Names::Json },
    };
    let _ = each_unit(&[path], units, &mut |unit| {
        let mut out = Vec::new();
        match unit {
            Unit::Plain(_, r) => {
                let _ = r.read_to_end(&mut out);
            }
            Unit::Packed(name, codec, r) => {
                // As `tt tags` decodes it: a zstd frame of a declared size into one buffer,
                // anything else as a stream checked to decode to lines.
                let Ok((bytes, _)) = read_packed(r, name) else {
                    return Ok(());
                };
                let whole = match codec {
                    Codec::Zstd => zstd_lines(&bytes, name, 1 << 20, &mut out, &mut |_| Ok(())),
                    _ => None,
                };
                if whole.is_none() {
                    if let Ok(mut d) = codec.lines(&bytes[..], name) {
                        let _ = d.read_to_end(&mut out);
                    }
                }
            }
            Unit::File(..) | Unit::Bad(_) => {}
        }
        Ok(())
    });
});
