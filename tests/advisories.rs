//! `airlock advisories fetch` and `airlock scan`, driven as an operator
//! would: real OSV records (../shared/realdata/advisories) served from
//! 127.0.0.1 in OSV's own layouts (per-ecosystem all.zip, modified_id.csv)
//! and as a plain directory behind Python's http.server, then real SBOMs
//! scanned against the snapshot with the verdicts of realdata SOURCES.md
//! (13.1, 13.3).

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use testbed::realdata;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

fn airlock(args: &[&str]) -> Output {
    Command::new(AIRLOCK).args(args).output().expect("airlock runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), stderr(out)))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `tar xzf` a packed realdata archive into `dest`.
fn unpack(archive: &str, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    testbed::run(Command::new("tar").arg("xzf").arg(realdata(archive)).arg("-C").arg(dest));
}

/// Every `.json` record of those `dirs` that exist, with its file name.
fn records(dirs: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in dirs.iter().filter(|d| d.exists()) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push((path.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// An OSV all.zip: one deflated entry per record, as OSV publishes it.
fn write_zip(path: &Path, records: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in records {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// A plain directory of records, plus OSV's modified_id.csv when asked.
fn write_dir(dir: &Path, records: &[(String, Vec<u8>)], modified_id_csv: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::new();
    for (name, bytes) in records {
        std::fs::write(dir.join(name), bytes).unwrap();
        let record: Value = serde_json::from_slice(bytes).unwrap();
        csv.push_str(&format!("{},{}\n", record["modified"].as_str().unwrap(), record["id"].as_str().unwrap()));
    }
    if modified_id_csv {
        std::fs::write(dir.join("modified_id.csv"), csv).unwrap();
    }
}

/// Python's http.server on 127.0.0.1: a real plain-directory web server
/// with directory listings. Killed on drop.
struct PlainServer {
    child: Child,
    url: String,
}

impl PlainServer {
    fn serve(dir: &Path) -> Self {
        let port = testbed::free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server (scripts/install-deps.sh installs python3)");
        // Owned from here on: dropped (killed and waited for) on any panic.
        let server = Self { child, url: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("python3 http.server did not start on port {port}");
    }
}

impl Drop for PlainServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The served data: OSV's bucket layout for Alpine and Maven (all.zip),
/// Debian and Go (records + modified_id.csv), and a plain directory of the
/// GitHub Advisory Database records for the Packagist and Maven SBOMs.
struct Osv {
    _tmp: tempfile::TempDir,
    bucket: tuf_testgen::Server,
    plain: PlainServer,
    packed: PathBuf,
}

fn serve_osv() -> Osv {
    let tmp = tempfile::tempdir().unwrap();
    let packed = tmp.path().join("packed");
    unpack("advisories/with-package-urls.tar.gz", &packed.join("advisories"));
    // Its paths start with sbom/.
    unpack("sbom/with-package-urls.tar.gz", &packed);
    let offline = |eco: &str| vec![realdata("advisories/osv-scanner-offline/offline-dbs").join(eco), packed.join("advisories/osv-scanner-offline/offline-dbs").join(eco)];
    let bucket = tmp.path().join("bucket");
    write_zip(&bucket.join("Alpine/all.zip"), &records(&offline("Alpine")));
    write_zip(&bucket.join("Maven/all.zip"), &records(&offline("Maven")));
    write_dir(&bucket.join("Debian"), &records(&offline("Debian")), true);
    write_dir(&bucket.join("Go"), &records(&offline("Go")), true);
    let plain = tmp.path().join("plain");
    write_dir(&plain.join("ghsa"), &records(&[realdata("advisories/ghsa"), packed.join("advisories/ghsa")]), false);
    Osv { bucket: tuf_testgen::Server::serve(&bucket), plain: PlainServer::serve(&plain), packed, _tmp: tmp }
}

fn fetch(osv: &Osv, out: &Path) -> Output {
    let sources = [
        format!("{}/Alpine/all.zip", osv.bucket.url),
        format!("{}/Maven/", osv.bucket.url),
        format!("{}/Debian", osv.bucket.url),
        format!("{}/Go/", osv.bucket.url),
        format!("{}/ghsa/", osv.plain.url),
    ];
    let mut args = vec!["advisories", "fetch", "--out", s(out), "--output", "json"];
    for source in &sources {
        args.extend(["--source", source.as_str()]);
    }
    airlock(&args)
}

fn scan(sbom: &Path, snapshot: &Path) -> Value {
    let out = airlock(&["scan", "--sbom", s(sbom), "--advisories", s(snapshot), "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json_of(&out)
}

/// (OSV package, version, first id, fixed, rating, score) of each finding.
fn findings(report: &Value) -> BTreeSet<(String, String, String, String, String, String)> {
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let fixed: Vec<String> = f["fixed"].as_array().unwrap().iter().map(text).collect();
            (text(&f["package"]), text(&f["version"]), text(&f["ids"][0]), fixed.join(" "), text(&f["severity"]["rating"]), text(&f["severity"]["score"]))
        })
        .collect()
}

fn set(rows: &[(&str, &str, &str, &str, &str, &str)]) -> BTreeSet<(String, String, String, String, String, String)> {
    rows.iter().map(|r| (r.0.into(), r.1.into(), r.2.into(), r.3.into(), r.4.into(), r.5.into())).collect()
}

#[test]
fn fetch_from_osv_layouts_and_a_plain_directory_then_scan_real_sboms() {
    let osv = serve_osv();
    let work = tempfile::tempdir().unwrap();
    let snapshot = work.path().join("snapshot");
    let out = fetch(&osv, &snapshot);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["report"]["resolved"], serde_json::json!(["all.zip", "all.zip", "modified_id.csv", "modified_id.csv", "directory listing"]));

    // The index: sources, counts per ecosystem, every file's digest.
    let index: Value = serde_json::from_slice(&std::fs::read(snapshot.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["mediaType"], "application/vnd.airlock.advisories.snapshot.v1+json");
    let counts: Vec<(u64, Value)> = index["sources"].as_array().unwrap().iter().map(|s| (s["records"].as_u64().unwrap(), s["ecosystems"].clone())).collect();
    assert_eq!(counts[0], (1, serde_json::json!({"Alpine": 1})));
    assert_eq!(counts[1], (3, serde_json::json!({"Maven": 3})));
    assert_eq!(counts[2], (4, serde_json::json!({"Debian": 4})));
    assert_eq!(counts[3], (2, serde_json::json!({"Go": 2})));
    // SOURCES.md 13.2: 16 Maven and 4 Packagist records.
    assert_eq!(counts[4], (20, serde_json::json!({"Maven": 16, "Packagist": 4})));
    for file in index["files"].as_array().unwrap() {
        let bytes = std::fs::read(snapshot.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(file["size"].as_u64().unwrap(), bytes.len() as u64);
        use sha2::Digest;
        assert_eq!(file["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
    }

    // quarkus (Maven): three netty findings; netty-codec-http (fixed 4.1.59) is not one.
    let quarkus = scan(&realdata("sbom/guac/quarkus-deps-cyclonedx.json"), &snapshot);
    assert_eq!(
        findings(&quarkus),
        set(&[
            ("io.netty:netty-codec-haproxy", "4.1.82.Final", "GHSA-fx2c-96vj-985v", "4.1.86.Final", "medium", "5.3"),
            ("io.netty:netty-codec-http2", "4.1.82.Final", "GHSA-xpw8-rcwv-8f8p", "4.1.100.Final", "medium", "5.3"),
            ("io.netty:netty-handler", "4.1.82.Final", "GHSA-6mjq-h674-j845", "4.1.94.Final", "medium", "null"),
        ])
    );
    assert_eq!(quarkus["mediaType"], "application/vnd.airlock.scan.report.v1+json");
    let handler = quarkus["findings"].as_array().unwrap().iter().find(|f| f["package"] == "io.netty:netty-handler").unwrap();
    assert_eq!((&handler["severity"]["sourceRating"], &handler["aliases"]), (&serde_json::json!("MODERATE"), &serde_json::json!(["CVE-2023-34462"])));
    assert_eq!(quarkus["summary"], serde_json::json!({"medium": 3}));

    // laravel (Packagist): psr7 and http-kernel (its `v5.4.16` read as 5.4.16);
    // guzzle 6.5.8 and laravel/framework v7.30.6 sit exactly on their fixes.
    let laravel = scan(&realdata("sbom/cyclonedx-bom-examples/laravel-7.12.0.bom.1.4.json"), &snapshot);
    assert_eq!(
        findings(&laravel),
        set(&[
            ("guzzlehttp/psr7", "1.9.0", "GHSA-wxmh-65f7-jcvw", "1.9.1", "medium", "5.3"),
            ("symfony/http-kernel", "v5.4.16", "GHSA-h7vf-5wrv-9fhv", "5.4.20", "medium", "null"),
        ])
    );

    // appbomination (SPDX 2.2): junit 4.12, in GHSA-269g's range and versions list.
    let junit = scan(&realdata("sbom/spdx-examples/example9__spdx2.2__appbomination.spdx.json"), &snapshot);
    assert_eq!(findings(&junit), set(&[("junit:junit", "4.12", "GHSA-269g-pwp5-87pp", "4.13.1", "medium", "4.4")]));

    // Alpine 3.16 (CycloneDX and SPDX): musl and musl-utils (source musl).
    for sbom in ["sbom/guac/alpine-cyclonedx.json", "sbom/guac/alpine-spdx.json"] {
        let alpine = scan(&realdata(sbom), &snapshot);
        assert_eq!(findings(&alpine), set(&[("musl", "1.2.3-r0", "ALPINE-CVE-2025-26519", "1.2.3-r4", "high", "7.0")]), "{sbom}");
        assert_eq!(alpine["findings"].as_array().unwrap().len(), 2, "{sbom}: musl and musl-utils");
        assert_eq!(alpine["findings"][0]["ecosystem"], "Alpine:v3.16");
    }
    // Alpine 3.17: 1.2.3-r4 is affected there (fix r6), as osv-scanner's test asserts.
    let oci = scan(&realdata("sbom/guac/oci-spdx.json"), &snapshot);
    assert_eq!(findings(&oci), set(&[("musl", "1.2.3-r4", "ALPINE-CVE-2025-26519", "1.2.3-r6", "high", "7.0")]));

    // Debian 11 and Go: the DLA records are Debian 9 only; x/sys v0.10.0 and a
    // pseudo-version dated after the fix are not affected.
    for sbom in ["sbom/guac/distroless-cyclonedx.json", "sbom/guac/oci-kubectl-linux-amd64-spdx.json", "sbom/guac/big-mongo-cyclonedx.json"] {
        let clean = scan(&osv.packed.join(sbom), &snapshot);
        assert_eq!(clean["findings"], serde_json::json!([]), "{sbom}");
        assert!(clean["scanned"].as_u64().unwrap() > 0, "{sbom}");
    }
}

#[test]
fn a_snapshot_that_does_not_match_its_index_is_refused() {
    let osv = serve_osv();
    let work = tempfile::tempdir().unwrap();
    let snapshot = work.path().join("snapshot");
    assert_eq!(code(&fetch(&osv, &snapshot)), 0);
    let sbom = realdata("sbom/guac/quarkus-deps-cyclonedx.json");
    let scan_code = |snapshot: &Path| {
        let out = airlock(&["scan", "--sbom", s(&sbom), "--advisories", s(snapshot)]);
        (code(&out), stderr(&out))
    };

    // One byte of one record changed.
    let tampered = work.path().join("tampered");
    testbed::run(Command::new("cp").arg("-r").arg(&snapshot).arg(&tampered));
    let record = tampered.join("sources/4/GHSA-fx2c-96vj-985v.json");
    let mut bytes = std::fs::read(&record).unwrap();
    let at = bytes.iter().position(|b| *b == b'4').unwrap();
    bytes[at] = b'5';
    std::fs::write(&record, bytes).unwrap();
    let (code_, err) = scan_code(&tampered);
    assert_eq!(code_, 1, "{err}");
    assert!(err.contains("GHSA-fx2c-96vj-985v.json") && err.contains("sha256"), "{err}");

    // A record slipped in that the index does not list.
    let extra = work.path().join("extra");
    testbed::run(Command::new("cp").arg("-r").arg(&snapshot).arg(&extra));
    std::fs::write(extra.join("sources/4/GHSA-extra.json"), b"{}").unwrap();
    let (code_, err) = scan_code(&extra);
    assert_eq!(code_, 1, "{err}");
    assert!(err.contains("GHSA-extra.json") && err.contains("not in its index"), "{err}");

    // A count in the index that the files do not hold.
    let recount = work.path().join("recount");
    testbed::run(Command::new("cp").arg("-r").arg(&snapshot).arg(&recount));
    let index = std::fs::read_to_string(recount.join("index.json")).unwrap();
    std::fs::write(recount.join("index.json"), index.replacen("\"Alpine\": 1", "\"Alpine\": 2", 1)).unwrap();
    let (code_, err) = scan_code(&recount);
    assert_eq!(code_, 1, "{err}");
    assert!(err.contains("index records 2 Alpine records, the files hold 1"), "{err}");

    // No snapshot at all: an error, never a clean result.
    let (code_, err) = scan_code(&work.path().join("absent"));
    assert_eq!(code_, 2, "{err}");
    assert!(err.contains("index.json"), "{err}");
}

#[test]
fn fetch_refuses_what_is_not_osv_data_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("srv");
    // A zip whose entry is JSON but not an OSV record.
    write_zip(&root.join("NotOsv/all.zip"), &[("X-1.json".into(), br#"{"hello":"world"}"#.to_vec())]);
    // A zip bomb: one entry of 64 MiB of spaces, deflated to a few KiB.
    write_zip(&root.join("Bomb/all.zip"), &[("BOMB-1.json".into(), vec![b' '; 64 << 20])]);
    std::fs::create_dir_all(root.join("Empty")).unwrap();
    let server = tuf_testgen::Server::serve(&root);
    let cases = [
        ("NotOsv/all.zip", 1, "missing field `id`"),
        ("Bomb/all.zip", 1, "larger than the 33554432-byte limit"),
        ("Empty/", 1, "no all.zip, modified_id.csv or directory listing"),
        ("Absent/all.zip", 1, "not found"),
    ];
    for (path, expected, message) in cases {
        let out_dir = tmp.path().join("out");
        let url = format!("{}/{path}", server.url);
        let out = airlock(&["advisories", "fetch", "--out", s(&out_dir), "--source", &url]);
        assert_eq!(code(&out), expected, "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{path}: {}", stderr(&out));
        assert!(!out_dir.exists(), "{path}: a refused fetch left {}", out_dir.display());
    }
}

#[test]
fn an_sbom_the_reader_refuses_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = airlock(&["scan", "--sbom", s(&realdata("sbom/cyclonedx-bom-examples/dropwizard-1.3.15.bom.1.2.json")), "--advisories", s(tmp.path())]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("CycloneDX version \"1.2\""), "{}", stderr(&out));
}
