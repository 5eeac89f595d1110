//! The advisories crate's parsers on arbitrary bytes: OSV records, package
//! URLs, and every version scheme (two versions split from the input,
//! compared both ways), with matching of whatever record parses.

#![no_main]

use advisories::version::Scheme;
use libfuzzer_sys::fuzz_target;
use std::cmp::Ordering;

const SCHEMES: [Scheme; 8] =
    [Scheme::Debian, Scheme::Alpine, Scheme::Rpm, Scheme::SemVer, Scheme::Go, Scheme::PyPI, Scheme::Maven, Scheme::Packagist];

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = advisories::osv::Record::parse(data, "fuzz") {
        let db = advisories::Database::new([record]);
        let purl = "pkg:npm/x@1.0.0";
        let _ = advisories::scan(&db, [advisories::PackageRef { name: "x", version: None, purl: Some(purl) }]);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = advisories::ecosystem::coordinates(text);
    let mid = (0..=text.len() / 2).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    let (a, b) = text.split_at(mid);
    for scheme in SCHEMES {
        if let (Ok(x), Ok(y)) = (scheme.parse(a), scheme.parse(b)) {
            let forward = x.compare(&y).unwrap();
            assert_eq!(forward, y.compare(&x).unwrap().reverse(), "{scheme:?} {a:?} {b:?}");
            assert_eq!(x.compare(&x), Some(Ordering::Equal), "{scheme:?} {a:?}");
        }
    }
});
