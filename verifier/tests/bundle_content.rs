//! Opening bundles in every form and refusing each way their content can be
//! broken: the first three steps of `airlock verify`.

use base64::Engine as _;
use oci::Digest;
use std::path::{Path, PathBuf};
use verifier::bundle::archive::ArchiveWriter;
use verifier::bundle::content::{self, NoProgress, OpenOptions, TransferSignature};
use verifier::bundle::manifest::{self, BlobEntry, BundleManifest, FileEntry, ImageEntry, Tool, TrustMaterial};
use verifier::bundle::volumes::VolumeWriter;
use keys::PublicKey;
use verifier::Check;

/// A small but complete bundle, written by hand through the manifest types:
/// one image (a config and a 3 MB layer), its layout files and a trusted root.
struct Fixture {
    blobs: Vec<Vec<u8>>,
    files: Vec<(String, Vec<u8>)>,
    key: Option<sigstore_crypto::KeyPair>,
}

const REFERENCE: &str = "registry.example/app:v1";

fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": Digest::sha256_of(bytes).to_string(), "size": bytes.len()})
}

impl Fixture {
    fn new() -> Self {
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
        let image = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci::manifest::media_type::OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &big)],
        }))
        .unwrap();
        Self {
            blobs: vec![config, image, big],
            files: vec![
                ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
                ("airlock/trust/trusted_root.json".into(), b"{}".to_vec()),
            ],
            key: None,
        }
    }

    fn config(&self) -> &[u8] {
        &self.blobs[0]
    }

    fn image_manifest(&self) -> &[u8] {
        &self.blobs[1]
    }

    fn images(&self) -> Vec<ImageEntry> {
        vec![ImageEntry {
            reference: REFERENCE.into(),
            digest: Digest::sha256_of(self.image_manifest()),
            media_type: oci::manifest::media_type::OCI_MANIFEST.into(),
            platforms: vec![],
            dropped_platforms: vec![],
            evidence: vec![],
            sboms: vec![],
        }]
    }

    /// The non-blob files, `index.json` derived as the bundler writes it.
    fn all_files(&self) -> Vec<(String, Vec<u8>)> {
        let blobs = self.blobs.clone();
        let manifest_of = move |d: &Digest| {
            let bytes = blobs.iter().find(|b| Digest::sha256_of(b) == *d).expect("a fixture blob").clone();
            Ok(oci::RawManifest::from_bytes("fixture", bytes, None, Some(d))?)
        };
        let index = verifier::bundle::layout::index_json(&self.images(), &manifest_of).unwrap();
        let mut files = self.files.clone();
        files.push(("index.json".into(), index));
        files
    }

    fn signed(mut self) -> Self {
        self.key = Some(sigstore_crypto::KeyPair::generate_ecdsa_p256().unwrap());
        self
    }

    fn public_key(&self) -> PublicKey {
        let der = self.key.as_ref().unwrap().public_key_der().unwrap();
        PublicKey::from_pem(&pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_bytes().to_vec()))).unwrap()
    }

    fn manifest(&self) -> BundleManifest {
        let mut blobs: Vec<BlobEntry> = self
            .blobs
            .iter()
            .map(|b| BlobEntry { digest: Digest::sha256_of(b), size: b.len() as u64, carried: true })
            .collect();
        blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
        let mut files: Vec<FileEntry> = self
            .all_files()
            .iter()
            .map(|(p, b)| FileEntry { path: p.clone(), sha256: Digest::sha256_of(b), size: b.len() as u64 })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        BundleManifest {
            media_type: manifest::MEDIA_TYPE.into(),
            created: "2026-11-23T00:00:00Z".parse().unwrap(),
            tool: Tool { name: "airlock".into(), version: "test".into() },
            extends: None,
            trust: TrustMaterial::TrustedRoot { path: "airlock/trust/trusted_root.json".into() },
            images: self.images(),
            blobs,
            files,
            advisories: None,
        }
    }

    /// Every (path, bytes) of the bundle, in archive order.
    fn entries(&self) -> Vec<(String, Vec<u8>)> {
        let manifest_bytes = self.manifest().to_canonical_json();
        let mut entries = Vec::new();
        if let Some(key) = &self.key {
            let sig = key.sign(&manifest_bytes).unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_bytes());
            entries.push((manifest::SIGNATURE_PATH.to_string(), b64.into_bytes()));
        }
        entries.push((manifest::PATH.to_string(), manifest_bytes));
        entries.extend(self.all_files());
        for blob in &self.blobs {
            entries.push((format!("blobs/sha256/{}", Digest::sha256_of(blob).hex()), blob.clone()));
        }
        entries
    }

    fn write_dir(&self, dir: &Path) -> PathBuf {
        for (path, bytes) in self.entries() {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        dir.to_path_buf()
    }

    fn archive_bytes(&self, entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut w = ArchiveWriter::new(Vec::new());
        for (path, bytes) in entries {
            w.append(path, bytes.len() as u64, bytes.as_slice()).unwrap();
        }
        w.finish().unwrap()
    }

    fn write_archive(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.archive_bytes(&self.entries())).unwrap();
        path.to_path_buf()
    }
}

fn open(input: &Path, work: &Path, key: Option<&PublicKey>) -> verifier::Result<content::CheckedContent> {
    content::open(input, &OpenOptions { transfer_key: key, jobs: 2, work_dir: work }, &NoProgress)
}

fn refused(result: verifier::Result<content::CheckedContent>, check: Check, words: &str) {
    let error = result.expect_err("expected a refusal");
    assert_eq!(error.check(), Some(check), "wrong check for: {error}");
    assert!(error.to_string().contains(words), "expected {words:?} in: {error}");
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_directory_bundle_checks_and_its_blobs_read_back() {
    let (dir, work) = (tmp(), tmp());
    let fixture = Fixture::new();
    let checked = open(&fixture.write_dir(dir.path()), &work.path().join("w"), None).unwrap();
    assert_eq!(checked.stats.blobs, 3);
    assert_eq!(checked.stats.files, 3);
    assert_eq!(checked.transfer_signature, TransferSignature::Unsigned);
    assert_eq!(checked.read_blob(&Digest::sha256_of(fixture.config()), 1024).unwrap(), fixture.config());
    assert_eq!(checked.manifest.id, Digest::sha256_of(&fixture.manifest().to_canonical_json()));
    assert!(!work.path().join("w").exists(), "a directory bundle needs no work directory");
}

#[test]
fn a_flipped_byte_in_a_blob_is_refused() {
    let (dir, work) = (tmp(), tmp());
    let fixture = Fixture::new();
    let root = fixture.write_dir(dir.path());
    let path = root.join(format!("blobs/sha256/{}", Digest::sha256_of(fixture.image_manifest()).hex()));
    let mut flipped = fixture.image_manifest().to_vec();
    flipped[3] ^= 1;
    std::fs::write(&path, flipped).unwrap();
    refused(open(&root, work.path(), None), Check::Content, "digest mismatch");
}

#[test]
fn a_missing_or_extra_blob_is_refused() {
    let (dir, work) = (tmp(), tmp());
    let fixture = Fixture::new();
    let root = fixture.write_dir(dir.path());
    let config = root.join(format!("blobs/sha256/{}", Digest::sha256_of(fixture.config()).hex()));
    std::fs::rename(&config, root.join("aside")).unwrap();
    refused(open(&root, work.path(), None), Check::Content, "aside is not listed");
    std::fs::remove_file(root.join("aside")).unwrap();
    refused(open(&root, work.path(), None), Check::Content, "missing");
    std::fs::write(&config, fixture.config()).unwrap();
    std::fs::write(root.join(format!("blobs/sha256/{}", Digest::sha256_of(b"extra").hex())), b"extra").unwrap();
    refused(open(&root, work.path(), None), Check::Content, "not listed");
}

#[test]
fn an_edited_index_json_is_refused() {
    let (dir, work) = (tmp(), tmp());
    let root = Fixture::new().write_dir(dir.path());
    std::fs::write(root.join("index.json"), br#"{"schemaVersion":2,"manifests":[{}]}"#).unwrap();
    refused(open(&root, work.path(), None), Check::Content, "index.json");
}

#[test]
fn a_symlink_in_a_directory_bundle_is_refused() {
    let (dir, work) = (tmp(), tmp());
    let root = Fixture::new().write_dir(dir.path());
    std::os::unix::fs::symlink("/etc/passwd", root.join("blobs/sha256/link")).unwrap();
    refused(open(&root, work.path(), None), Check::Content, "symbolic link");
}

#[test]
fn an_archive_bundle_checks_into_the_work_directory() {
    let (dir, work) = (tmp(), tmp());
    let archive = Fixture::new().write_archive(&dir.path().join("b.tar"));
    let work_dir = work.path().join("w");
    let checked = open(&archive, &work_dir, None).unwrap();
    assert_eq!(checked.root(), work_dir);
    assert_eq!(checked.read_file("oci-layout", 100).unwrap(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    let names: Vec<_> = std::fs::read_dir(work_dir.join("blobs/sha256")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "no partial files left: {names:?}");
}

#[test]
fn compressed_archives_and_volumes_check() {
    let fixture = Fixture::new();
    let tar = fixture.archive_bytes(&fixture.entries());
    for (name, bytes) in [
        ("b.tar.gz", { let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()); std::io::Write::write_all(&mut e, &tar).unwrap(); e.finish().unwrap() }),
        ("b.tar.zst", zstd::encode_all(tar.as_slice(), 3).unwrap()),
    ] {
        let (dir, work) = (tmp(), tmp());
        std::fs::write(dir.path().join(name), bytes).unwrap();
        open(&dir.path().join(name), &work.path().join("w"), None).unwrap();
    }
    let (dir, work) = (tmp(), tmp());
    let mut volumes = VolumeWriter::new(&dir.path().join("b.tar"), 1 << 20).unwrap();
    std::io::Write::write_all(&mut volumes, &tar).unwrap();
    let paths = volumes.finish().unwrap();
    assert!(paths.len() >= 3);
    open(&paths[0], &work.path().join("w"), None).unwrap();
    std::fs::remove_file(&paths[1]).unwrap();
    let error = open(&paths[0], &work.path().join("w2"), None).unwrap_err();
    assert!(error.to_string().contains("volume 2 of"), "{error}");
}

#[test]
fn archive_entries_out_of_place_are_refused() {
    let fixture = Fixture::new();
    let entries = fixture.entries();
    type Case<'a> = (&'a str, Vec<(String, Vec<u8>)>, Check, &'a str);
    let cases: Vec<Case> = vec![
        ("content before the manifest", { let mut e = entries.clone(); e.swap(0, 1); e }, Check::BundleManifest, "must come first"),
        ("an unlisted entry", { let mut e = entries.clone(); e.push(("blobs/sha256/deadbeef".into(), b"x".to_vec())); e }, Check::Content, "not listed"),
        ("a duplicate entry", { let mut e = entries.clone(); let last = e.last().unwrap().clone(); e.push(last); e }, Check::Content, "twice"),
        ("a missing blob", { let mut e = entries.clone(); e.pop(); e }, Check::Content, "missing"),
        ("a tampered blob", { let mut e = entries.clone(); e[1 + 3].1[0] ^= 1; e }, Check::Content, ""),
        ("no manifest", entries[1..].to_vec(), Check::BundleManifest, "must come first"),
    ];
    for (what, entries, check, words) in cases {
        let (dir, work) = (tmp(), tmp());
        let path = dir.path().join("b.tar");
        std::fs::write(&path, fixture.archive_bytes(&entries)).unwrap();
        let error = open(&path, &work.path().join("w"), None).expect_err(what);
        assert_eq!(error.check(), Some(check), "{what}: {error}");
        assert!(error.to_string().contains(words), "{what}: {error}");
    }
}

#[test]
fn a_truncated_archive_is_refused() {
    let fixture = Fixture::new();
    let bytes = fixture.archive_bytes(&fixture.entries());
    for cut in [bytes.len() / 2, bytes.len() - 1024 - 1, bytes.len() - 700] {
        let (dir, work) = (tmp(), tmp());
        std::fs::write(dir.path().join("b.tar"), &bytes[..cut]).unwrap();
        assert!(open(&dir.path().join("b.tar"), &work.path().join("w"), None).is_err(), "cut at {cut}");
    }
}

#[test]
fn transfer_signature_is_required_and_checked_when_a_key_is_pinned() {
    let signed = Fixture::new().signed();
    let key = signed.public_key();
    let (dir, work) = (tmp(), tmp());
    let root = signed.write_dir(dir.path());
    let checked = open(&root, &work.path().join("w"), Some(&key)).unwrap();
    assert!(matches!(checked.transfer_signature, TransferSignature::Verified { .. }));
    assert_eq!(open(&root, &work.path().join("w"), None).unwrap().transfer_signature, TransferSignature::NotChecked);

    // Another key.
    let other = Fixture::new().signed().public_key();
    refused(open(&root, &work.path().join("w"), Some(&other)), Check::TransferSignature, "not signed by transfer key");

    // A manifest edited after signing.
    let manifest_path = root.join(manifest::PATH);
    let mut bytes = std::fs::read(&manifest_path).unwrap();
    bytes.push(b' ');
    std::fs::write(&manifest_path, &bytes).unwrap();
    refused(open(&root, &work.path().join("w"), Some(&key)), Check::TransferSignature, "not signed by transfer key");

    // No signature at all.
    let (dir2, work2) = (tmp(), tmp());
    let unsigned = Fixture::new().write_dir(dir2.path());
    refused(open(&unsigned, work2.path(), Some(&key)), Check::TransferSignature, "not signed");
}

#[test]
fn a_non_empty_work_directory_is_refused() {
    let (dir, work) = (tmp(), tmp());
    let archive = Fixture::new().write_archive(&dir.path().join("b.tar"));
    std::fs::write(work.path().join("something"), b"x").unwrap();
    let error = open(&archive, work.path(), None).unwrap_err();
    assert!(error.to_string().contains("not empty"), "{error}");
}
