//! The bundle archive reader on arbitrary bytes (bare, gzip or zstd): every
//! entry it yields must be a plain relative path whose declared size it
//! never reads past; anything else is an error, never a panic, a hang or
//! unbounded memory.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use verifier::bundle::archive::{ArchiveReader, Compression};

fuzz_target!(|data: &[u8]| {
    let Ok(decoder) = Compression::detect(data).decoder(data) else { return };
    let mut archive = ArchiveReader::new(decoder.take(64 << 20));
    for _ in 0..1000 {
        match archive.next_entry() {
            Ok(Some(mut entry)) => {
                assert!(!entry.path.starts_with('/') && !entry.path.split('/').any(|c| c == ".." || c.is_empty()));
                let declared = entry.size;
                let mut sink = Vec::new();
                if (&mut entry).take(1 << 20).read_to_end(&mut sink).is_ok() {
                    assert!(sink.len() as u64 <= declared);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
});
