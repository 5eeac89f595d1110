//! What cosign v3 writes with a key and no transparency log — a Sigstore
//! bundle referrer (`cosign sign --key` with a key-only signing config) and a
//! legacy `.att` attestation (`cosign attest --key --new-bundle-format=false`)
//! — carried by `airlock bundle create` and judged by `airlock verify
//! --policy`: accepted exactly where the key authority waives the log (as
//! `cosign verify --insecure-ignore-tlog` and policy-controller without
//! `ctlog` do), refused naming the log where it is required, refused under
//! another key. The same for `cosign sign-blob --key` and `airlock
//! verify-blob --insecure-ignore-tlog`.
//!
//! Then cosign judges the site: `cosign verify --key site.pub
//! --insecure-ignore-tlog` accepts every image and platform child `airlock
//! load --resign-key` loaded, with keys from `airlock key generate` and from
//! `cosign generate-key-pair`, and refuses another key; the publisher's own
//! signature and attestations (SPDX, SLSA) still verify in the site's registry.

mod common;

use common::{airlock, airlock_key, load_resigned_images, site_trusted_root, tempdir, verify_json, Run, VerifyBlob, CREATED};
use std::path::{Path, PathBuf};
use testbed::{Cosign, Registry};

/// An image in a loopback registry, signed and attested by cosign with the
/// publisher's key, nothing logged.
struct Published {
    registry: Registry,
    dir: tempfile::TempDir,
    reference: String,
    digest: String,
    key: PathBuf,
    public_key: PathBuf,
    cosign: Cosign,
}

/// The SBOM the publisher attests (SPDX 2.3, one npm package).
const SPDX: &str = r#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"demo-keyed","documentNamespace":"https://example.com/spdx/demo-keyed","creationInfo":{"created":"2026-11-23T10:00:00Z","creators":["Tool: airlock-tests"]},"packages":[{"SPDXID":"SPDXRef-Package-left-pad","name":"left-pad","versionInfo":"1.3.0","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/left-pad@1.3.0"}]}]}"#;

fn publish() -> Published {
    let registry = Registry::start();
    let digest = registry.push_image("demo/keyed:v1", "signed by cosign with a key");
    let cosign = Cosign::new();
    let (key, public_key) = cosign.generate_key_pair("publisher");
    let image = format!("{}/demo/keyed@{digest}", registry.host());
    cosign.sign_key_only(&key, &image);
    let dir = tempdir();
    let predicate = dir.path().join("provenance.json");
    std::fs::write(&predicate, r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#).unwrap();
    cosign.attest_legacy_key_only(&key, &image, "slsaprovenance1", &predicate);
    let sbom = dir.path().join("sbom.spdx.json");
    std::fs::write(&sbom, SPDX).unwrap();
    cosign.attest_key_only(&key, &image, "spdxjson", &sbom);
    Published {
        reference: format!("{}/demo/keyed:v1", registry.host()),
        registry,
        dir,
        digest,
        key,
        public_key,
        cosign,
    }
}

impl Published {
    /// A native policy: `key` must have signed and attested SLSA provenance
    /// and an SPDX SBOM;
    /// `waive_log` adds `require: {transparencyLog: false}`.
    fn policy(&self, name: &str, key: &Path, waive_log: bool) -> PathBuf {
        let require = if waive_log { "\n          require: {transparencyLog: false}" } else { "" };
        let text = format!(
            "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: keyed\n      images: ['{}/demo/**']\n      authorities:\n        - name: publisher-key\n          key:\n            - file: {}{require}\n          attestations:\n            - name: provenance\n              predicateType: slsaprovenance1\n              builderId: https://example.com/builder\n            - name: sbom\n              predicateType: spdxjson\n",
            self.registry.host(),
            key.display()
        );
        self.write(name, &text)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `airlock bundle create` of the image into `out`, self-checked against `policy`.
    fn bundle(&self, out: &str, policy: &Path) -> (PathBuf, Run) {
        self.bundle_of(&[self.reference.as_str()], out, policy)
    }

    /// `airlock bundle create` of `references` into `out`.
    fn bundle_of(&self, references: &[&str], out: &str, policy: &Path) -> (PathBuf, Run) {
        let out = self.dir.path().join(out);
        let run = Run::from_output(
            airlock()
                .arg("bundle")
                .arg("create")
                .args(references)
                .args(["--insecure-registry", &self.registry.host(), "--created", CREATED])
                .arg("--trusted-root")
                .arg(site_trusted_root())
                .arg("--policy")
                .arg(policy)
                .arg("--out")
                .arg(&out)
                .env("DOCKER_CONFIG", self.dir.path())
                .output()
                .unwrap(),
        );
        (out, run)
    }

    /// `airlock verify BUNDLE --policy POLICY --output json`.
    fn verify(&self, bundle: &Path, policy: &Path) -> Run {
        verify_json(bundle, policy, &site_trusted_root())
    }

    /// A bundle made under a policy that admits the image.
    fn admitted_bundle(&self) -> PathBuf {
        let policy = self.policy("waived.yaml", &self.public_key, true);
        let (bundle, run) = self.bundle("bundle", &policy);
        assert_eq!(run.code, 0, "bundle create refused:\n{}", run.stderr);
        bundle
    }
}

/// The failing check and reason of the only image, from a refused verify.
fn refusal(run: &Run) -> (String, String) {
    assert_eq!(run.code, 1, "expected a refusal (exit 1):\n{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let failure = &report["images"][0]["failure"];
    (failure["check"].as_str().unwrap_or_default().to_string(), failure["reason"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_key_signed_bundle_and_attestation_without_a_log_are_accepted_where_the_key_authority_waives_it() {
    let published = publish();
    let bundle = published.admitted_bundle();
    let policy = published.policy("waived.yaml", &published.public_key, true);
    let run = published.verify(&bundle, &policy);
    assert_eq!(run.code, 0, "verify refused:\n{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let image = &report["images"][0];
    assert_eq!(image["digest"], published.digest.as_str());
    let accepted = image["accepted"].as_array().unwrap();
    let by_role = |role: &str| {
        accepted
            .iter()
            .find(|a| a["role"] == role)
            .unwrap_or_else(|| panic!("no {role} accepted: {accepted:#?}"))
    };
    // The signature is cosign v3's Sigstore bundle, not a legacy .sig.
    let signature = by_role("signature");
    assert!(signature["evidence"].as_str().unwrap().starts_with("sigstore-bundle "), "{signature}");
    assert_eq!(signature["facts"]["statement"]["predicateType"], "https://sigstore.dev/cosign/sign/v1");
    let attestation = by_role("attestation provenance");
    assert!(attestation["evidence"].as_str().unwrap().starts_with("cosign-attestation "), "{attestation}");
    // The SPDX SBOM, attested in v3's format.
    let sbom = by_role("attestation sbom");
    assert!(sbom["evidence"].as_str().unwrap().starts_with("sigstore-bundle "), "{sbom}");
    assert_eq!(sbom["facts"]["statement"]["predicateType"], "https://spdx.dev/Document");
    for facts in [&signature["facts"], &attestation["facts"]] {
        assert_eq!(facts["signer"]["kind"], "key");
        assert_eq!(facts["logEntries"].as_array().unwrap().len(), 0);
        assert_eq!(facts["statement"]["subject"][0]["digest"]["sha256"], published.digest.trim_start_matches("sha256:"));
        let checks: Vec<&str> = facts["checks"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
        assert!(checks.contains(&"signature") && checks.contains(&"artifact-binding"), "{checks:?}");
        assert!(!checks.contains(&"transparency-log"), "{checks:?}");
    }
    assert_eq!(signature["facts"]["signer"], attestation["facts"]["signer"]);
}

#[test]
fn the_same_signatures_are_refused_where_the_log_is_required_naming_the_log_on_both_sides() {
    let published = publish();
    let strict = published.policy("strict.yaml", &published.public_key, false);
    // Connected side: the self-check refuses before the media leaves.
    let (_, run) = published.bundle("refused", &strict);
    assert_eq!(run.code, 1, "bundle create should refuse:\n{}", run.stderr);
    assert!(run.stderr.contains("transparency-log"), "{}", run.stderr);
    // Disconnected side: a bundle made under a laxer policy is still refused.
    let bundle = published.admitted_bundle();
    let (check, reason) = refusal(&published.verify(&bundle, &strict));
    assert_eq!(check, "transparency-log");
    assert!(reason.contains("no transparency-log entry") && reason.contains("transparencyLog: false"), "{reason}");
}

#[test]
fn another_key_is_refused_by_the_signature_check() {
    let published = publish();
    let bundle = published.admitted_bundle();
    let other = Cosign::new();
    let (_, stranger) = other.generate_key_pair("stranger");
    let policy = published.policy("stranger.yaml", &stranger, true);
    let (check, reason) = refusal(&published.verify(&bundle, &policy));
    assert_eq!(check, "signature", "{reason}");
    assert!(reason.contains("does not verify with key"), "{reason}");
}

#[test]
fn a_cluster_image_policy_waives_the_log_for_a_key_authority_without_ctlog_and_requires_it_with_one() {
    let published = publish();
    let bundle = published.admitted_bundle();
    let pem: String = std::fs::read_to_string(&published.public_key).unwrap().lines().map(|l| format!("\n          {l}")).collect();
    let cip = |ctlog: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: keyed}}\nspec:\n  images: [{{glob: '{}/demo/**'}}]\n  authorities:\n    - name: publisher\n      key:\n        data: |{pem}\n{ctlog}      attestations:\n        - name: provenance\n          predicateType: https://slsa.dev/provenance/v1\n",
            published.registry.host()
        )
    };
    let without = published.write("cip.yaml", &cip(""));
    let run = published.verify(&bundle, &without);
    assert_eq!(run.code, 0, "a key authority without ctlog should not need a log:\n{}\n{}", run.stdout, run.stderr);
    let with = published.write("cip-ctlog.yaml", &cip("      ctlog: {url: https://rekor.sigstore.dev}\n"));
    let (check, _) = refusal(&published.verify(&bundle, &with));
    assert_eq!(check, "transparency-log");
}

#[test]
fn a_blob_signed_with_a_key_and_no_log_verifies_with_insecure_ignore_tlog_as_in_cosign() {
    let cosign = Cosign::new();
    let (key, public_key) = cosign.generate_key_pair("publisher");
    let dir = tempdir();
    let file = dir.path().join("release.tar");
    std::fs::write(&file, "a release artifact").unwrap();
    let bundle = dir.path().join("release.sigstore.json");
    cosign.sign_blob_key_only(&key, &file, &bundle);

    let doc = VerifyBlob::new(&bundle).key(&public_key).arg("--insecure-ignore-tlog").verified(&file);
    assert_eq!(doc["result"]["signer"]["kind"], "key", "{doc}");
    assert_eq!(doc["relaxations"][0], "transparency-log", "{doc}");
    let error = VerifyBlob::new(&bundle).key(&public_key).refused_by("transparency-log", &file);
    assert!(error.contains("--insecure-ignore-tlog"), "{error}");
    let other = dir.path().join("other.tar");
    std::fs::write(&other, "another artifact").unwrap();
    VerifyBlob::new(&bundle).key(&public_key).arg("--insecure-ignore-tlog").refused_by("artifact-binding", &other);
}

/// `airlock load --resign-key KEY` of `bundle` under `prefix` in the
/// publisher's registry: every loaded image and platform child, by digest.
fn load_resigned(published: &Published, bundle: &Path, policy: &Path, prefix: &str, key: &Path, password: &str) -> Vec<String> {
    let to = format!("{}/{prefix}", published.registry.host());
    load_resigned_images(bundle, &to, policy, &site_trusted_root(), key, password)
}

/// `cosign verify` passes (exit 0) or refuses (non-zero), with its output.
fn cosign_accepts(cosign: &Cosign, public_key: &Path, image: &str, legacy: bool) -> (bool, String) {
    let out = cosign.verify_key_only(public_key, image, legacy);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Also: what the publisher signed and attested with cosign (a Sigstore
/// bundle signature, an SPDX attestation bundle, a legacy SLSA `.att`) is
/// still accepted by `cosign verify` / `verify-attestation` after the load.
#[test]
fn cosign_verify_accepts_every_image_and_platform_child_airlock_resigned_in_both_key_directions() {
    // The publisher's image carries a cosign v3 Sigstore bundle referrer, so
    // cosign v3 reads bundles only; the index and its children carry legacy
    // evidence only.
    let published = publish();
    let multi = published.registry.push_multiarch("demo/multi:v1", "a two-platform image");
    let index = format!("{}/demo/multi@{}", published.registry.host(), multi.index);
    published.cosign.sign_key_only(&published.key, &index);
    let predicate = published.write("multi-provenance.json", r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#);
    published.cosign.attest_legacy_key_only(&published.key, &index, "slsaprovenance1", &predicate);
    published.cosign.attest_key_only(&published.key, &index, "spdxjson", &published.write("multi.spdx.json", SPDX));
    let policy = published.policy("waived.yaml", &published.public_key, true);
    let multi_ref = format!("{}/demo/multi:v1", published.registry.host());
    let (bundle, run) = published.bundle_of(&[published.reference.as_str(), multi_ref.as_str()], "both", &policy);
    assert_eq!(run.code, 0, "bundle create refused:\n{}", run.stderr);

    // airlock's key, judged by cosign.
    let (site_key, site_pub) = airlock_key(published.dir.path(), "site", "site-password");
    let loaded = load_resigned(&published, &bundle, &policy, "site", &site_key, "site-password");
    assert_eq!(loaded.len(), 1 + 1 + multi.children.len(), "{loaded:?}");
    let (_, stranger) = published.cosign.generate_key_pair("stranger");
    for image in &loaded {
        for legacy in [false, true] {
            let (ok, out) = cosign_accepts(&published.cosign, &site_pub, image, legacy);
            assert!(ok, "cosign verify (legacy {legacy}) refused the site's re-signature of {image}:\n{out}");
            let (ok, out) = cosign_accepts(&published.cosign, &stranger, image, legacy);
            assert!(!ok && out.contains("signature"), "cosign verify (legacy {legacy}) under another key, {image}:\n{out}");
        }
    }

    // The publisher's own evidence still satisfies cosign in the site's
    // registry: the signature and the SPDX attestation (bundles) and the
    // SLSA provenance (a legacy .att, read with --new-bundle-format=false).
    let keyed = &loaded[0];
    assert!(keyed.contains("/demo/keyed@"), "{loaded:?}");
    let (ok, out) = cosign_accepts(&published.cosign, &published.public_key, keyed, false);
    assert!(ok, "cosign verify refused the publisher's signature after load:\n{out}");
    for (predicate_type, legacy) in [("spdxjson", false), ("slsaprovenance1", true)] {
        let out = published.cosign.verify_attestation_key_only(&published.public_key, keyed, predicate_type, legacy);
        assert!(out.status.success(), "cosign verify-attestation --type {predicate_type} refused after load:\n{}", String::from_utf8_lossy(&out.stderr));
        let out = published.cosign.verify_attestation_key_only(&stranger, keyed, predicate_type, legacy);
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && text.contains("signature"), "verify-attestation --type {predicate_type}, another key:\n{text}");
    }

    // cosign's key, used by airlock to re-sign.
    let (cosign_key, cosign_pub) = published.cosign.generate_key_pair("site-by-cosign");
    let loaded = load_resigned(&published, &bundle, &policy, "site2", &cosign_key, testbed::cosign::KEY_PASSWORD);
    for image in &loaded {
        let (ok, out) = cosign_accepts(&published.cosign, &cosign_pub, image, false);
        assert!(ok, "cosign verify refused airlock's re-signature with cosign's key of {image}:\n{out}");
        let (ok, out) = cosign_accepts(&published.cosign, &site_pub, image, false);
        assert!(!ok && out.contains("signature"), "{image} in site2 was signed by cosign's key, not airlock's:\n{out}");
    }
}
