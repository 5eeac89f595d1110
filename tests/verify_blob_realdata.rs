//! `airlock verify-blob` on the real third-party data in ../shared/realdata,
//! each case at the outcome SOURCES.md gives for it.

mod common;

use common::{jsonl_line, realdata, tempdir, VerifyBlob};

const GHA: &str = "https://token.actions.githubusercontent.com";
const GH_OAUTH: &str = "https://github.com/login/oauth";
const GOOGLE: &str = "https://accounts.google.com";

fn public_good() -> std::path::PathBuf {
    realdata("tuf/public-good-trusted_root.json")
}
fn staging() -> std::path::PathBuf {
    realdata("sigstore-python/store/staging/trusted_root.json")
}

// ---------------------------------------------------------------- sigstore-java

const JAVA_SA: &str = "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com";
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

fn java(name: &str) -> std::path::PathBuf {
    realdata(&format!("sigstore-java/bundles/{name}"))
}

#[test]
fn java_bundle_v02_production_is_valid_with_embedded_root() {
    let doc = VerifyBlob::new(java("bundle.sigstore"))
        .identity("appu@google.com", GOOGLE)
        .verified(java("artifact.txt"));
    assert_eq!(doc["result"]["signer"]["identity"]["value"], "appu@google.com");
    assert_eq!(doc["result"]["signer"]["issuer"], GOOGLE);
    assert_eq!(doc["trustedRoot"]["digest"], "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66");
}

#[test]
fn java_same_signature_in_every_bundle_version_is_valid() {
    for name in ["bundle.v1.sigstore", "bundle.v2.sigstore", "bundle.v3.sigstore", "bundle.v3_1.sigstore"] {
        let doc = VerifyBlob::new(java(name))
            .identity("appu@google.com", GOOGLE)
            .verified(java("artifact.txt"));
        assert_eq!(doc["result"]["logEntries"][0]["logIndex"], 41958702, "{name}");
    }
}

#[test]
fn java_v01_bundle_with_only_a_set_is_valid() {
    // The v0.1 spec allows a SET without an inclusion proof.
    let doc = VerifyBlob::new(java("bundle.v1.no.inclusion.sigstore"))
        .identity("appu@google.com", GOOGLE)
        .verified(java("artifact.txt"));
    assert_eq!(doc["result"]["logEntries"][0]["inclusionProofVerified"], false);
    assert_eq!(doc["result"]["logEntries"][0]["inclusionPromise"], true);
}

#[test]
fn java_v02_and_v03_bundles_without_inclusion_proof_are_refused() {
    for name in ["bundle.v2.no.inclusion.sigstore", "bundle.v3.no.inclusion.sigstore", "bundle.v3_1.no.inclusion.sigstore"] {
        let error = VerifyBlob::new(java(name))
            .identity("appu@google.com", GOOGLE)
            .refused_by("bundle-format", java("artifact.txt"));
        assert!(error.contains("inclusion proof"), "{name}: {error}");
    }
}

#[test]
fn java_v03_bundle_with_a_certificate_chain_is_refused() {
    // bundle-no-digest.sigstore uses x509CertificateChain, which the v0.3
    // spec forbids (sigstore-python refuses it too; sigstore-java accepts).
    let error = VerifyBlob::new(java("bundle-no-digest.sigstore"))
        .identity("appu@google.com", GOOGLE)
        .refused_by("bundle-format", java("artifact.txt"));
    assert!(error.contains("chain"), "{error}");
}

#[test]
fn java_set_of_another_artifact_is_refused() {
    VerifyBlob::new(java("bundle-with-mismatched-set.sigstore"))
        .identity(BEACON, GHA)
        .refused_by("inclusion-promise", java("artifact.txt"));
}

#[test]
fn java_log_entry_of_another_artifact_is_refused() {
    // The bundle's own digest matches the artifact; the log entry's does not.
    let error = VerifyBlob::new(java("bundle-with-wrong-tlog-entry.sigstore"))
        .identity("appu@google.com", GOOGLE)
        .refused_by("artifact-binding", java("artifact.txt"));
    assert!(error.contains("hashedrekord entry"), "{error}");
}

#[test]
fn java_p256_and_rsa_algorithm_registry_bundles_are_valid() {
    for name in [
        "PKIX_ECDSA_P256_SHA_256.sigstore.json",
        "PKIX_RSA_PKCS1V15_2048_SHA256.sigstore.json",
        "PKIX_RSA_PKCS1V15_3072_SHA256.sigstore.json",
        "PKIX_RSA_PKCS1V15_4096_SHA256.sigstore.json",
    ] {
        VerifyBlob::new(java(name))
            .identity(JAVA_SA, GOOGLE)
            .verified(java("artifact.txt"));
    }
}

#[test]
fn java_p256_bundle_with_a_sha512_artifact_digest_is_refused() {
    let sha512 = format!("sha512:{}", hex_sha512(&std::fs::read(java("artifact.txt")).unwrap()));
    VerifyBlob::new(java("PKIX_ECDSA_P256_SHA_256.sigstore.json"))
        .identity(JAVA_SA, GOOGLE)
        .refused_by("artifact-binding", sha512);
}

#[test]
fn java_p384_and_p521_bundles_are_refused_as_unsupported() {
    // Engine limits (documented in docs/architecture.md): hashedrekord
    // entries with SHA-384/512 digests and P-521 leaf keys. Refused, never
    // accepted unchecked.
    let error = VerifyBlob::new(java("PKIX_ECDSA_P384_SHA_384.sigstore.json"))
        .identity(JAVA_SA, GOOGLE)
        .refused_as_unsupported(java("artifact.txt"));
    assert!(error.contains("sha384"), "{error}");
    let error = VerifyBlob::new(java("PKIX_ECDSA_P521_SHA_512.sigstore.json"))
        .identity(JAVA_SA, GOOGLE)
        .refused_as_unsupported(java("artifact.txt"));
    assert!(error.contains("P-521"), "{error}");
}

#[test]
fn java_staging_bundle_with_timestamp_is_valid() {
    let doc = VerifyBlob::new(java("bundle-with-timestamp.sigstore"))
        .identity("aaronlew@google.com", GOOGLE)
        .trusted_root(staging())
        .verified(java("artifact.txt"));
    let sources: Vec<_> = doc["result"]["signedTimes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["source"].as_str().unwrap().to_string())
        .collect();
    assert!(sources.contains(&"timestamp-authority".to_string()), "{sources:?}");
    assert!(sources.contains(&"transparency-log".to_string()), "{sources:?}");
}

#[test]
fn java_staging_rekor_v2_entry_is_valid() {
    let doc = VerifyBlob::new(java("bundle-with-rekor-v2-entry.sigstore"))
        .identity("aaronlew@google.com", GOOGLE)
        .trusted_root(staging())
        .verified(java("artifact.txt"));
    assert_eq!(doc["result"]["logEntries"][0]["version"], "0.0.2");
}

#[test]
fn java_github_private_instance_without_tlog_needs_the_log_waived() {
    let dir = tempdir();
    let root = jsonl_line(&java("github-private-no-tlog/trusted_root.jsonl"), 2, dir.path());
    let bundle = java("github-private-no-tlog/attestation.sigstore.json");
    let identity = "https://github.com/neverendingsupport/slsa-attestations/.github/workflows/attest.yml@9f6d9dc1bfc02986955721eb15f89ad618f1cedb";
    let digest = "sha256:caa015ef69e9bc31a41322d6c71563ed9600c75bb988e4d639b1edc578580551";
    let doc = VerifyBlob::new(&bundle)
        .identity(identity, GHA)
        .trusted_root(&root)
        .arg("--insecure-ignore-tlog")
        .arg("--insecure-ignore-sct")
        .verified(digest);
    assert_eq!(doc["relaxations"], serde_json::json!(["transparency-log", "certificate-transparency"]));
    // With the default policy (log required) it is refused.
    VerifyBlob::new(&bundle)
        .identity(identity, GHA)
        .trusted_root(&root)
        .refused_by("bundle-format", digest);
    // And for another artifact it is refused even with the log waived.
    let nonsense = format!("sha256:{}", hex_sha256(b"nonsense"));
    VerifyBlob::new(&bundle)
        .identity(identity, GHA)
        .trusted_root(&root)
        .arg("--insecure-ignore-tlog")
        .arg("--insecure-ignore-sct")
        .refused_by("artifact-binding", nonsense);
}

// -------------------------------------------------------------- sigstore-python

fn py(name: &str) -> std::path::PathBuf {
    realdata(&format!("sigstore-python/assets/{name}"))
}

#[test]
fn python_v01_staging_bundle_is_valid() {
    VerifyBlob::new(py("bundle.txt.sigstore"))
        .identity("a@tny.town", GH_OAUTH)
        .trusted_root(staging())
        .verified(py("bundle.txt"));
}

#[test]
fn python_v01_staging_bundle_with_another_identity_is_refused() {
    VerifyBlob::new(py("bundle.txt.sigstore"))
        .identity("bad@ident.example.com", GH_OAUTH)
        .trusted_root(staging())
        .refused_by("identity", py("bundle.txt"));
}

#[test]
fn python_staging_bundles_are_refused_against_public_good() {
    for name in ["bundle.txt", "bundle_v3.txt"] {
        let identity = if name == "bundle.txt" { "a@tny.town" } else { "william@yossarian.net" };
        let run = VerifyBlob::new(py(&format!("{name}.sigstore")))
            .identity(identity, GH_OAUTH)
            .run(py(name));
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
    }
}

#[test]
fn python_v03_bundles_with_both_media_type_spellings_are_valid() {
    for name in ["bundle_v3.txt", "bundle_v3_alt.txt"] {
        VerifyBlob::new(py(&format!("{name}.sigstore")))
            .identity("william@yossarian.net", GH_OAUTH)
            .trusted_root(staging())
            .verified(py(name));
    }
}

#[test]
fn python_cve_2022_36056_log_entry_mismatch_is_refused() {
    VerifyBlob::new(py("bundle_cve_2022_36056.txt.sigstore"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("log-entry-consistency", py("bundle_cve_2022_36056.txt"));
}

#[test]
fn python_invalid_media_type_is_refused_at_load() {
    let error = VerifyBlob::new(py("bundle_invalid_version.txt.sigstore"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("bundle-format", py("bundle_invalid_version.txt"));
    assert!(error.contains("malformed"), "{error}");
}

#[test]
fn python_empty_certificate_chain_is_refused() {
    let error = VerifyBlob::new(py("bundle_no_cert_v1.txt.sigstore"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("bundle-format", py("bundle_no_cert_v1.txt"));
    assert!(error.contains("empty certificate chain"), "{error}");
}

#[test]
fn python_bundle_without_log_entry_is_refused() {
    VerifyBlob::new(py("bundle_no_log_entry.txt.sigstore"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("bundle-format", py("bundle_no_log_entry.txt"));
}

#[test]
fn python_inclusion_proof_without_checkpoint_is_refused() {
    let error = VerifyBlob::new(py("bundle_no_checkpoint.txt.sigstore"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("bundle-format", py("bundle_no_checkpoint.txt"));
    assert!(error.contains("checkpoint"), "{error}");
}

#[test]
fn python_bundle_without_any_signed_time_is_refused() {
    VerifyBlob::new(py("bundle_v3_no_signed_time.txt.sigstore.json"))
        .identity_regexp(".*", ".*")
        .trusted_root(staging())
        .refused_by("signed-time", py("bundle_v3_no_signed_time.txt"));
}

#[test]
fn python_rfc8785_release_wheel_is_valid_by_digest() {
    let digest = std::fs::read_to_string(py("bundle_v3_github.whl.sha256")).unwrap();
    let doc = VerifyBlob::new(py("bundle_v3_github.whl.sigstore"))
        .identity("https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2", GHA)
        .verified(digest.trim());
    let workflow = &doc["result"]["signer"]["workflow"];
    assert_eq!(workflow["sourceRepositoryDigest"], "d8b4a6445f38c48b9137a8099706d9b8073146e4");
    assert_eq!(workflow["sourceRepositoryRef"], "refs/tags/v0.1.2");
    assert_eq!(workflow["buildTrigger"], "release");
    assert_eq!(workflow["runnerEnvironment"], "github-hosted");
    assert_eq!(
        workflow["runInvocationUri"],
        "https://github.com/trailofbits/rfc8785.py/actions/runs/8351058501/attempts/1"
    );
}

#[test]
fn python_staging_rekor_v2_entry_with_timestamp_is_valid() {
    VerifyBlob::new(py("staging-rekor-v2.txt.sigstore.json"))
        .identity("jku@goto.fi", GH_OAUTH)
        .trusted_root(staging())
        .verified(py("staging-rekor-v2.txt"));
}

#[test]
fn python_dsse_on_rekor_v2_is_valid_for_its_subject_only() {
    let bundle = py("a.dsse.staging-rekor-v2.txt.sigstore.json");
    let doc = VerifyBlob::new(&bundle)
        .identity(BEACON, GHA)
        .trusted_root(staging())
        .verified("sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf");
    assert_eq!(doc["result"]["statement"]["predicateType"], "https://slsa.dev/provenance/v1");
    // The sibling file is not the attested subject.
    VerifyBlob::new(&bundle)
        .identity(BEACON, GHA)
        .trusted_root(staging())
        .refused_by("artifact-binding", py("a.dsse.staging-rekor-v2.txt"));
}

/// The staging root with its timestamp authorities replaced by the test TSA
/// of sigstore-python's `assets/tsa/ca.json`.
fn staging_with_test_tsa(dir: &std::path::Path) -> std::path::PathBuf {
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(staging()).unwrap()).unwrap();
    let ca: serde_json::Value = serde_json::from_slice(&std::fs::read(py("tsa/ca.json")).unwrap()).unwrap();
    root["timestampAuthorities"] = serde_json::json!([ca]);
    let path = dir.join("staging-test-tsa.json");
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
    path
}

#[test]
fn python_bundle_with_a_timestamp_over_other_data_is_refused() {
    // Its second RFC 3161 token timestamps sha512("hello"), not the
    // signature. sigstore-python ignores such a token and accepts the bundle
    // on its other time sources; sigstore-js and airlock refuse it: a bundle
    // carrying a timestamp that does not verify is tampered input.
    let dir = tempdir();
    let error = VerifyBlob::new(py("tsa/bundle.txt.sigstore"))
        .identity("alexis.challande@trailofbits.com", GOOGLE)
        .trusted_root(staging_with_test_tsa(dir.path()))
        .refused_by("timestamp-authority", py("tsa/bundle.txt"));
    assert!(error.contains("message hash mismatch"), "{error}");
}

#[test]
fn python_bundle_timestamps_are_refused_without_their_tsa() {
    VerifyBlob::new(py("tsa/bundle.txt.sigstore"))
        .identity("alexis.challande@trailofbits.com", GOOGLE)
        .trusted_root(staging())
        .refused_by("timestamp-authority", py("tsa/bundle.txt"));
}

#[test]
fn python_too_many_and_duplicate_timestamps_are_refused() {
    let dir = tempdir();
    let root = staging_with_test_tsa(dir.path());
    for name in ["tsa/bundle.many_timestamp.sigstore", "tsa/bundle.duplicate.sigstore"] {
        let run = VerifyBlob::new(py(name))
            .identity("alexis.challande@trailofbits.com", GOOGLE)
            .trusted_root(&root)
            .run(py("tsa/bundle.txt"));
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
    }
}

#[test]
fn python_timestamp_after_certificate_expiry_is_refused() {
    let dir = tempdir();
    let run = VerifyBlob::new(py("tsa/bundle.txt.late_timestamp.sigstore"))
        .identity("insecure-cloudtop-shared-user@cloudtop-prod-us-east.iam.gserviceaccount.com", GOOGLE)
        .trusted_root(staging_with_test_tsa(dir.path()))
        .run(py("tsa/bundle.txt"));
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn python_cpython_release_without_checkpoint_is_refused() {
    // Client-dependent per SOURCES.md; airlock is strict, like sigstore-python.
    VerifyBlob::new(py("integration/Python-3.12.5.tgz.sigstore"))
        .identity("thomas@python.org", GOOGLE)
        .refused_by(
            "bundle-format",
            "sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405",
        );
}

// ------------------------------------------------------------------ sigstore-go

fn go(name: &str) -> std::path::PathBuf {
    realdata(&format!("sigstore-go/{name}"))
}

const SIGSTORE_JS_SHA512: &str = "sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c";

#[test]
fn go_sigstore_js_provenance_with_intoto_entry_is_valid() {
    let doc = VerifyBlob::new(go("bundles/sigstore.js@2.0.0-provenance.sigstore.json"))
        .identity_regexp("^https://github.com/sigstore/sigstore-js/", GHA)
        .trusted_root(go("trusted-roots/public-good.json"))
        .verified(SIGSTORE_JS_SHA512);
    assert_eq!(doc["result"]["statement"]["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(doc["result"]["logEntries"][0]["kind"], "intoto");
    assert_eq!(doc["result"]["logEntries"][0]["logIndex"], 31821305);
}

#[test]
fn go_sigstore_js_provenance_for_another_digest_is_refused() {
    let wrong = SIGSTORE_JS_SHA512.replacen("sha512:46", "sha512:56", 1);
    VerifyBlob::new(go("bundles/sigstore.js@2.0.0-provenance.sigstore.json"))
        .identity_regexp("^https://github.com/sigstore/sigstore-js/", GHA)
        .trusted_root(go("trusted-roots/public-good.json"))
        .refused_by("artifact-binding", wrong);
}

#[test]
fn go_sigstore_js_provenance_with_bad_san_is_refused() {
    VerifyBlob::new(go("bundles/sigstore.js@2.0.0-provenance.sigstore.json"))
        .identity("BadSANValue", GHA)
        .trusted_root(go("trusted-roots/public-good.json"))
        .refused_by("identity", SIGSTORE_JS_SHA512);
}

#[test]
fn go_sigstore_js_provenance_is_refused_when_a_timestamp_is_required() {
    VerifyBlob::new(go("bundles/sigstore.js@2.0.0-provenance.sigstore.json"))
        .identity_regexp("^https://github.com/sigstore/sigstore-js/", GHA)
        .trusted_root(go("trusted-roots/public-good.json"))
        .arg("--require-timestamp")
        .refused_by("timestamp-authority", SIGSTORE_JS_SHA512);
}

#[test]
fn go_dsse_envelope_with_two_signatures_is_refused() {
    VerifyBlob::new(go("bundles/dsse-2sigs.sigstore.json"))
        .identity_regexp(".*", ".*")
        .trusted_root(go("trusted-roots/public-good.json"))
        .refused_by("bundle-format", "sha256:0000000000000000000000000000000000000000000000000000000000000000");
}

#[test]
fn go_othername_san_is_matched() {
    let digest = "sha256:bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b";
    let doc = VerifyBlob::new(go("bundles/othername.sigstore.json"))
        .identity("foo!oidc.local", "http://oidc.local:8080")
        .trusted_root(go("trusted-roots/scaffolding.json"))
        .verified(digest);
    assert_eq!(doc["result"]["signer"]["identity"]["kind"], "other-name");
    VerifyBlob::new(go("bundles/othername.sigstore.json"))
        .identity("foo@oidc.local", "http://oidc.local:8080")
        .trusted_root(go("trusted-roots/scaffolding.json"))
        .refused_by("identity", digest);
}

#[test]
fn go_example_provenance_v01_is_valid() {
    VerifyBlob::new(go("examples/bundle-provenance.json"))
        .identity_regexp("^https://github.com/sigstore/sigstore-js/", GHA)
        .trusted_root(go("examples/trusted-root-public-good.json"))
        .verified("sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751");
}

#[test]
fn go_example_npm_publish_attestation_is_valid_with_npm_key() {
    let digest = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751";
    let doc = VerifyBlob::new(go("examples/bundle-publish.json"))
        .key(go("examples/publish_key.pub"))
        .trusted_root(go("examples/trusted-root-public-good.json"))
        .verified(digest);
    assert_eq!(doc["result"]["signer"]["kind"], "key");
    // Another key does not verify it.
    VerifyBlob::new(go("examples/bundle-publish.json"))
        .key(realdata("cosign/release-cosign.pub"))
        .trusted_root(go("examples/trusted-root-public-good.json"))
        .refused_by("signature", digest);
}

// ------------------------------------------------------------ sigstore-rs, cosign

#[test]
fn rs_cosign_v3_image_signature_bundle_is_valid() {
    let doc = VerifyBlob::new(realdata("sigstore-rs/bundle_v03.json"))
        .identity("https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0", GHA)
        .trusted_root(public_good())
        .verified("sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172");
    assert_eq!(doc["result"]["statement"]["predicateType"], "https://sigstore.dev/cosign/sign/v1");
}

#[test]
fn cosign_oci_attestation_bundle_is_valid_for_its_image_only() {
    let bundle = realdata("cosign/oci-attestation.sigstore.json");
    let root = realdata("cosign/trusted_root_pgi.json");
    let image = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
    VerifyBlob::new(&bundle).identity_regexp(".*", ".*").trusted_root(&root).verified(image);
    VerifyBlob::new(&bundle)
        .identity_regexp("wrong", ".*")
        .trusted_root(&root)
        .refused_by("identity", image);
    VerifyBlob::new(&bundle)
        .identity_regexp(".*", ".*")
        .trusted_root(&root)
        .refused_by("artifact-binding", format!("sha256:{}", hex_sha256(b"another image")));
}

// ------------------------------------------------------------ gh attestation

fn gh(name: &str) -> std::path::PathBuf {
    realdata(&format!("gh-cli-attestation/{name}"))
}

const SIGSTORE_JS_210_SHA512: &str = "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";

#[test]
fn gh_sigstore_js_210_provenance_is_valid_in_every_form() {
    let dir = tempdir();
    let jsonl = gh("sigstore-js-2.1.0_with_2_bundles.jsonl");
    let bundles = [
        gh("sigstore-js-2.1.0-bundle.json"),
        gh("sigstore-js-2.1.0-bundle-v0.1.json"),
        jsonl_line(&jsonl, 1, dir.path()),
        jsonl_line(&jsonl, 2, dir.path()),
    ];
    for bundle in bundles {
        for root in [public_good(), gh("trusted_root.json")] {
            VerifyBlob::new(&bundle)
                .identity("https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main", GHA)
                .trusted_root(&root)
                .verified(SIGSTORE_JS_210_SHA512);
        }
    }
}

#[test]
fn gh_bundle_with_invalid_signature_is_refused() {
    // Its DSSE payload is text/plain, not an in-toto statement, so nothing
    // binds it to an artifact: refused before its (invalid) signature.
    let error = VerifyBlob::new(gh("sigstoreBundle-invalid-signature.json"))
        .identity_regexp(".*", ".*")
        .refused_by("statement", format!("sha256:{}", hex_sha256(b"hello, world!")));
    assert!(error.contains("text/plain"), "{error}");
}

#[test]
fn gh_github_instance_wheel_attestation_is_valid_with_github_root() {
    let dir = tempdir();
    let root = jsonl_line(&java("github-private-no-tlog/trusted_root.jsonl"), 2, dir.path());
    let bundle = jsonl_line(&gh("github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl"), 1, dir.path());
    let digest = std::fs::read_to_string(gh("github_provenance_demo-0.0.12-py3-none-any.whl.sha256")).unwrap();
    VerifyBlob::new(bundle)
        .identity("https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main", GHA)
        .trusted_root(root)
        .arg("--insecure-ignore-tlog")
        .arg("--insecure-ignore-sct")
        .verified(digest.trim());
}

#[test]
fn gh_bundles_missing_material_are_refused_at_load() {
    let dir = tempdir();
    for name in [
        "github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl",
        "github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl",
    ] {
        let bundle = jsonl_line(&gh(name), 1, dir.path());
        VerifyBlob::new(bundle)
            .identity_regexp(".*", ".*")
            .arg("--insecure-ignore-tlog")
            .refused_by("bundle-format", "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b");
    }
}

#[test]
fn gh_reusable_workflow_attestation_is_valid() {
    VerifyBlob::new(gh("reusable-workflow-attestation.sigstore.json"))
        .identity("https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d", GHA)
        .verified(gh("reusable-workflow-artifact"));
    VerifyBlob::new(gh("reusable-workflow-attestation.sigstore.json"))
        .identity_regexp("^https://github.com/github/artifact-attestations-workflows/", &format!("^{GHA}$"))
        .verified(gh("reusable-workflow-artifact"));
}

#[test]
fn gh_custom_issuer_attestation_is_valid_for_that_issuer_only() {
    let identity = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main";
    VerifyBlob::new(gh("custom-issuer.sigstore.json"))
        .identity(identity, "https://token.actions.githubusercontent.com/hammer-time")
        .verified(gh("custom-issuer-artifact"));
    VerifyBlob::new(gh("custom-issuer.sigstore.json"))
        .identity(identity, GHA)
        .refused_by("identity", gh("custom-issuer-artifact"));
}

// ------------------------------------------------------------------ helpers

fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

fn hex_sha512(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha512::digest(data))
}
