//! The real OSV records of ../shared/realdata/advisories against the real
//! SBOMs the CLI cannot read (CycloneDX 1.2 JSON, CycloneDX XML): their
//! package URLs taken out here, the verdicts those of realdata SOURCES.md
//! sections 13.1 ([T] osv-scanner's own offline test) and 13.3.

use advisories::osv::Record;
use advisories::{scan, Database, PackageRef, Rating, ScanReport};
use std::collections::BTreeSet;
use std::path::Path;
use testbed::realdata;

/// The advisories folder with its packed files unpacked beside the rest.
fn advisories_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(realdata("advisories"))
        .arg(dir.path().join("a"))
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(realdata("advisories/with-package-urls.tar.gz"))
        .arg("-C")
        .arg(dir.path().join("a"))
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn records_in(dir: &Path) -> Vec<Record> {
    let mut records = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            records.push(
                Record::parse(&std::fs::read(&path).unwrap(), &path.display().to_string()).unwrap(),
            );
        }
    }
    records
}

fn database(root: &Path) -> Database {
    let mut records = records_in(&root.join("ghsa"));
    for eco in [
        "Alpine",
        "Debian",
        "GIT",
        "Go",
        "Maven",
        "Packagist",
        "PyPI",
        "npm",
    ] {
        records.extend(records_in(
            &root.join("osv-scanner-offline/offline-dbs").join(eco),
        ));
    }
    Database::new(records)
}

/// The `<purl>` values of a CycloneDX XML document.
fn xml_purls(path: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(path).unwrap();
    xml.split("<purl>")
        .skip(1)
        .filter_map(|s| s.split("</purl>").next())
        .map(|p| p.replace("&amp;", "&"))
        .collect()
}

fn scan_purls(db: &Database, purls: &[String]) -> ScanReport {
    scan(
        db,
        purls.iter().map(|p| PackageRef {
            name: p,
            version: None,
            purl: Some(p),
        }),
    )
}

/// (package, version, ids, fixed, rating, score to one decimal) per finding.
type Row = (
    String,
    String,
    Vec<String>,
    Vec<String>,
    Rating,
    Option<String>,
);

fn rows(report: &ScanReport) -> BTreeSet<Row> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.package.clone(),
                f.version.clone(),
                f.ids.clone(),
                f.fixed.clone(),
                f.severity.rating,
                f.severity.score.map(|s| format!("{s:.1}")),
            )
        })
        .collect()
}

fn row(
    package: &str,
    version: &str,
    id: &str,
    fixed: &[&str],
    rating: Rating,
    score: Option<f64>,
) -> Row {
    (
        package.into(),
        version.into(),
        vec![id.into()],
        fixed.iter().map(|s| s.to_string()).collect(),
        rating,
        score.map(|s| format!("{s:.1}")),
    )
}

#[test]
fn every_real_record_parses_and_duplicates_count_once() {
    let dir = advisories_dir();
    let db = database(&dir.path().join("a"));
    // 48 files, 45 distinct ids (the GIT folder repeats three PyPI records).
    assert_eq!((db.len(), db.duplicates(), db.withdrawn()), (45, 3, 0));
}

/// SOURCES.md 13.3, dropwizard-1.3.15 (CycloneDX 1.2, which the SBOM
/// reader refuses as a version it does not read).
#[test]
fn dropwizard_verdicts() {
    let dir = advisories_dir();
    let db = database(&dir.path().join("a"));
    let bom: serde_json::Value = serde_json::from_slice(
        &std::fs::read(realdata(
            "sbom/cyclonedx-bom-examples/dropwizard-1.3.15.bom.1.2.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let purls: Vec<String> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_string))
        .collect();
    let report = scan_purls(&db, &purls);
    let expected: BTreeSet<Row> = [
        row(
            "com.fasterxml.jackson.core:jackson-databind",
            "2.9.10",
            "GHSA-gjmw-vf9h-g25v",
            &["2.9.10.1"],
            Rating::Critical,
            Some(9.8),
        ),
        row(
            "com.fasterxml.jackson.core:jackson-databind",
            "2.9.10",
            "GHSA-57j2-w4cx-62h2",
            &["2.12.6.1"],
            Rating::High,
            Some(7.5),
        ),
        row(
            "com.fasterxml.jackson.core:jackson-databind",
            "2.9.10",
            "GHSA-jjjh-jjxp-wpff",
            &["2.12.7.1"],
            Rating::High,
            Some(7.5),
        ),
        row(
            "com.h2database:h2",
            "1.4.197",
            "GHSA-h376-j262-vhq6",
            &["2.0.206"],
            Rating::Critical,
            Some(9.8),
        ),
        row(
            "com.h2database:h2",
            "1.4.197",
            "GHSA-45hx-wfhj-473x",
            &["2.1.210"],
            Rating::Critical,
            Some(9.8),
        ),
        row(
            "org.dom4j:dom4j",
            "2.1.1",
            "GHSA-hwj3-m3p6-hj38",
            &["2.1.3"],
            Rating::Critical,
            Some(9.8),
        ),
        row(
            "org.yaml:snakeyaml",
            "1.23",
            "GHSA-mjmj-j48q-9wg2",
            &["2.0"],
            Rating::High,
            Some(8.3),
        ),
        row(
            "ch.qos.logback:logback-core",
            "1.2.3",
            "GHSA-668q-qrv7-99fm",
            &["1.2.9"],
            Rating::Medium,
            Some(6.6),
        ),
        row(
            "com.google.guava:guava",
            "24.1.1-jre",
            "GHSA-7g45-4rm6-3mm3",
            &["32.0.0"],
            Rating::Medium,
            Some(5.5),
        ),
        row(
            "junit:junit",
            "4.12",
            "GHSA-269g-pwp5-87pp",
            &["4.13.1"],
            Rating::Medium,
            Some(4.4),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows(&report), expected);
    // The gate of SOURCES.md: "block on a CRITICAL that has a fix".
    let gated: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity.rating == Rating::Critical && f.fix_available())
        .map(|f| f.ids[0].as_str())
        .collect();
    assert_eq!(
        gated,
        BTreeSet::from([
            "GHSA-45hx-wfhj-473x",
            "GHSA-gjmw-vf9h-g25v",
            "GHSA-h376-j262-vhq6",
            "GHSA-hwj3-m3p6-hj38"
        ])
    );
    let cves: BTreeSet<&str> = report
        .findings
        .iter()
        .flat_map(|f| f.aliases.iter().map(String::as_str))
        .collect();
    assert!(
        cves.contains("CVE-2019-17531") && cves.contains("CVE-2022-1471"),
        "{cves:?}"
    );
}

/// SOURCES.md 13.1 [T]: osv-scanner's offline test on postgres-stretch
/// (CycloneDX XML, Debian 9 and Go): six rows, none with a severity.
#[test]
fn osv_scanner_offline_rows_for_postgres_stretch() {
    let dir = advisories_dir();
    let root = dir.path().join("a");
    let db = database(&root);
    let purls = xml_purls(
        &root.join("osv-scanner-offline/testdata/sbom-insecure/postgres-stretch.cdx.xml"),
    );
    assert_eq!(purls.len(), 136);
    let report = scan_purls(&db, &purls);
    // osv-scanner prints one row per source package; libssl1.1 (source
    // openssl) is a second binary package of the same row.
    let found: BTreeSet<(String, String, String, Vec<String>, Rating)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.package.clone(),
                f.version.clone(),
                f.ids[0].clone(),
                f.fixed.clone(),
                f.severity.rating,
            )
        })
        .collect();
    let expected: BTreeSet<_> = [
        (
            "github.com/opencontainers/runc",
            "v1.0.1",
            "GO-2022-0274",
            "1.1.0",
        ),
        (
            "golang.org/x/sys",
            "v0.0.0-20210817142637-7d9622a276b7",
            "GO-2022-0493",
            "0.0.0-20220412211240-33da011f77ad",
        ),
        ("dpkg", "1.18.25", "DLA-3022-1", "1.18.26"),
        (
            "libxml2",
            "2.9.4+dfsg1-2.2+deb9u6",
            "DLA-3012-1",
            "2.9.4+dfsg1-2.2+deb9u7",
        ),
        (
            "openssl",
            "1.1.0l-1~deb9u5",
            "DLA-3008-1",
            "1.1.0l-1~deb9u6",
        ),
        ("tzdata", "2021a-0+deb9u3", "DLA-3051-1", "2021a-0+deb9u4"),
    ]
    .into_iter()
    .map(|(p, v, id, fix)| {
        (
            p.to_string(),
            v.to_string(),
            id.to_string(),
            vec![fix.to_string()],
            Rating::Unknown,
        )
    })
    .collect();
    assert_eq!(found, expected);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.package == "openssl")
            .count(),
        2,
        "openssl and libssl1.1"
    );
    assert!(report
        .findings
        .iter()
        .filter(|f| f.ecosystem.starts_with("Debian"))
        .all(|f| f.ecosystem == "Debian:9"));
}

/// SOURCES.md 13.1 [T]: the Alpine row of the locks-many case, musl
/// 1.2.3-r4 under Alpine:v3.17, fix 1.2.3-r6, CVSS 7.0.
#[test]
fn osv_scanner_offline_alpine_row() {
    let dir = advisories_dir();
    let root = dir.path().join("a");
    let db = database(&root);
    let purls = xml_purls(
        &root.join("osv-scanner-offline/testdata/locks-many-with-insecure/alpine.cdx.xml"),
    );
    let report = scan_purls(&db, &purls);
    let found: BTreeSet<Row> = rows(&report);
    let musl = row(
        "musl",
        "1.2.3-r4",
        "ALPINE-CVE-2025-26519",
        &["1.2.3-r6"],
        Rating::High,
        Some(7.0),
    );
    assert_eq!(
        found,
        BTreeSet::from([musl]),
        "musl and musl-utils are one source package"
    );
    assert_eq!(report.findings.len(), 2);
    assert_eq!(report.findings[0].upstream, ["CVE-2025-26519"]);
}
