//! Import policies: the fixtures in testdata/policy parsed into the
//! expected model, and every refusal named.

use std::path::{Path, PathBuf};
use verifier::check::identity::{Matcher, WorkflowClaim};
use verifier::check::signature::{Authority, Requirements};
use verifier::policy::{
    AuthorityKind, Evidence, Mode, Policy, PolicyError, PolicyErrorKind, Rule, RuleFormat, SignatureFormat,
    SignerRule, StaticAction, UnmatchedAction, ValueMatcher, VerifyRule,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/policy").join(name)
}

fn load(name: &str) -> Policy {
    Policy::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_err(name: &str) -> PolicyError {
    match Policy::load(&fixture(name)) {
        Err(verifier::Error::Policy(e)) => *e,
        Err(other) => panic!("{name}: expected a policy error, got {other}"),
        Ok(_) => panic!("{name}: expected a policy error"),
    }
}

fn parse_err(yaml: &str) -> PolicyError {
    match Policy::from_yaml(yaml.as_bytes(), "inline") {
        Err(verifier::Error::Policy(e)) => *e,
        Err(other) => panic!("expected a policy error, got {other}"),
        Ok(p) => panic!("expected an error, got {} rules from\n{yaml}", p.rules.len()),
    }
}

fn verify(rule: &Rule, authority: usize) -> &VerifyRule {
    match &rule.authorities[authority].kind {
        AuthorityKind::Verify(v) => v,
        AuthorityKind::Static(s) => panic!("authority {authority} is static {s:?}"),
    }
}

fn matcher_text(m: &Matcher) -> String {
    m.to_string()
}

fn rule_names(policy: &Policy, reference: &str) -> Vec<String> {
    policy
        .rules_for(reference)
        .unwrap()
        .into_iter()
        .map(|r| r.name.clone())
        .collect()
}

const SLSA02: &str = "https://slsa.dev/provenance/v0.2";
const SLSA1: &str = "https://slsa.dev/provenance/v1";

#[test]
fn native_full_example() {
    let bytes = std::fs::read(fixture("native-full.yaml")).unwrap();
    let policy = load("native-full.yaml");
    assert_eq!(policy.source.sha256, oci::Digest::sha256_of(&bytes));
    assert!(policy.source.description.ends_with("native-full.yaml"));
    assert_eq!(policy.unmatched, UnmatchedAction::Reject);
    let names: Vec<&str> = policy.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["example-app", "base-images", "vendor-appliance", "pause"]);
    assert!(policy.rules.iter().all(|r| r.format == RuleFormat::Native && r.document == 1));

    let app = &policy.rules[0];
    assert_eq!(app.images.len(), 2);
    assert_eq!(app.mode, Mode::Enforce);
    assert!(app.require_sbom);
    assert_eq!(app.authorities[0].name, "release-workflow");
    let v = verify(app, 0);
    assert_eq!(v.requirements, Requirements::default().require_signed_timestamp());
    let SignerRule::Keyless(ids) = &v.signer else { panic!("keyless expected") };
    assert_eq!(ids.len(), 1);
    assert!(matches!(&ids[0].identity.issuer, Matcher::Exact(i) if i == "https://token.actions.githubusercontent.com"));
    assert!(matches!(&ids[0].identity.subject, Matcher::Regex(_)));
    let claims: Vec<(WorkflowClaim, String)> = ids[0].claims.iter().map(|(c, m)| (c, matcher_text(m))).collect();
    assert_eq!(
        claims,
        [
            (WorkflowClaim::RunnerEnvironment, "\"github-hosted\"".to_string()),
            (WorkflowClaim::SourceRepositoryUri, "\"https://github.com/example/app\"".to_string()),
            (WorkflowClaim::SourceRepositoryRef, "regexp \"^refs/tags/v[0-9]\"".to_string()),
        ]
    );
    let Evidence::SignatureAndAttestations(atts) = &v.evidence else { panic!("{:?}", v.evidence) };
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0].name, "provenance");
    let types: Vec<&str> = atts[0].accepts.iter().map(|p| p.predicate_type.as_str()).collect();
    assert_eq!(types, [SLSA02, SLSA1]);
    let paths = |i: usize| -> Vec<String> {
        atts[0].accepts[i].constraints.iter().map(|c| c.path.to_string()).collect()
    };
    assert_eq!(paths(0), ["builder.id", "invocation.configSource.uri"]);
    assert_eq!(paths(1), ["runDetails.builder.id", "buildDefinition.externalParameters.workflow.repository"]);
    assert_eq!(atts[1].accepts[0].predicate_type, "https://cyclonedx.org/bom");
    assert!(atts[1].accepts[0].constraints.is_empty());

    let base = &policy.rules[1];
    assert_eq!(base.mode, Mode::Warn);
    let v = verify(base, 0);
    assert_eq!(v.requirements, Requirements::default().without_transparency_log_unsafe());
    let SignerRule::Key(keys) = &v.signer else { panic!("key expected") };
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0].fingerprint(), keys[1].fingerprint());
    let site = std::fs::read(fixture("keys/site.pub")).unwrap();
    assert_eq!(policy.source.included_files.len(), 1);
    assert!(policy.source.included_files[0].path.ends_with("keys/site.pub"));
    assert_eq!(policy.source.included_files[0].sha256, oci::Digest::sha256_of(&site));
    let candidates = v.candidates();
    assert!(matches!(candidates[0].authority, Authority::Key(ref k) if k == &keys[0]));

    let vendor = &policy.rules[2];
    let v = verify(vendor, 0);
    assert_eq!(v.requirements, Requirements::default().without_sct_unsafe());
    let Evidence::Attestations(atts) = &v.evidence else { panic!("{:?}", v.evidence) };
    assert!(!v.evidence.requires_signature());
    let constraints = &atts[0].accepts[0].constraints;
    assert_eq!(atts[0].accepts[0].predicate_type, SLSA1);
    assert_eq!(constraints.len(), 3);
    assert!(matches!(&constraints[0].expected, ValueMatcher::Equals(serde_json::Value::String(s)) if s == "https://vendor.example/build/v1"));
    assert_eq!(constraints[1].path.as_str(), "/runDetails/metadata/invocationId");
    assert!(matches!(&constraints[2].expected, ValueMatcher::Equals(serde_json::Value::Bool(true))));

    let pause = &policy.rules[3];
    assert_eq!(pause.authorities[0].name, "authority-0");
    assert!(matches!(pause.authorities[0].kind, AuthorityKind::Static(StaticAction::Pass)));

    // Every relaxation is reported.
    let warnings: Vec<String> = policy.warnings.iter().map(|w| w.to_string()).collect();
    for expected in ["warn mode", "transparency log not required", "(SCT) not required", "static pass"] {
        assert!(warnings.iter().any(|w| w.contains(expected)), "{expected:?} not in {warnings:#?}");
    }

    assert_eq!(rule_names(&policy, "ghcr.io/example/app:v1.2.3"), ["example-app"]);
    assert_eq!(rule_names(&policy, "ghcr.io/example/app/worker:v1"), ["example-app"]);
    assert_eq!(rule_names(&policy, "alpine:3.20"), ["base-images"]);
    assert_eq!(rule_names(&policy, "docker.io/library/debian"), ["base-images"]);
    assert_eq!(rule_names(&policy, "registry.k8s.io/pause:3.9"), ["pause"]);
    assert!(rule_names(&policy, "quay.io/other/thing:1").is_empty());
    assert!(rule_names(&policy, "ghcr.io/example/other:1").is_empty());
    assert!(policy.rules_for("Not A Reference").is_err());
}

#[test]
fn cip_keyless_github_actions() {
    let policy = load("cip-keyless-github.yaml");
    assert_eq!(policy.rules.len(), 1);
    let rule = &policy.rules[0];
    assert_eq!(rule.name, "github-release-workflows");
    assert_eq!(
        rule.format,
        RuleFormat::ClusterImagePolicy {
            api_version: "policy.sigstore.dev/v1beta1".into()
        }
    );
    assert_eq!(rule.mode, Mode::Enforce);
    assert!(!rule.require_sbom);
    assert_eq!(rule.authorities[0].name, "github-actions");
    let v = verify(rule, 0);
    assert_eq!(v.requirements, Requirements::default());
    assert!(matches!(v.evidence, Evidence::Signature));
    let SignerRule::Keyless(ids) = &v.signer else { panic!() };
    assert!(ids[0].claims.is_empty());
    let Matcher::Regex(re) = &ids[0].identity.subject else { panic!() };
    assert!(re.is_match("https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1.0.0"));
    assert!(!re.is_match("https://github.com/example/app/.github/workflows/other.yml@refs/tags/v1.0.0"));
    assert!(matches!(v.candidates()[0].authority, Authority::Keyless(_)));
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    assert_eq!(rule_names(&policy, "ghcr.io/example/app/sub:v1"), ["github-release-workflows"]);
    assert!(rule_names(&policy, "ghcr.io/other/app:v1").is_empty());
}

#[test]
fn cip_key_with_inline_pem() {
    let policy = load("cip-key-inline.yaml");
    let rule = &policy.rules[0];
    assert_eq!(rule.authorities[0].name, "authority-0");
    let v = verify(rule, 0);
    assert_eq!(v.requirements, Requirements::default(), "ctlog with the public Rekor url requires the log");
    let SignerRule::Key(keys) = &v.signer else { panic!() };
    let site = keys::PublicKey::from_pem(
        &std::fs::read_to_string(fixture("keys/site.pub")).unwrap(),
    )
    .unwrap();
    assert_eq!(keys, &vec![site]);
    assert!(policy.source.included_files.is_empty());
}

#[test]
fn cip_key_without_ctlog_skips_the_log_loudly() {
    let policy = load("cip-key-no-ctlog.yaml");
    let v = verify(&policy.rules[0], 0);
    assert!(!v.requirements.transparency_log());
    let w = &policy.warnings[0];
    assert_eq!((w.rule.as_deref(), w.authority.as_deref()), (Some("resigned-by-site"), Some("site")));
    assert!(w.message.contains("ctlog"), "{w}");
}

#[test]
fn cip_attestations() {
    let policy = load("cip-attestations.yaml");
    let v = verify(&policy.rules[0], 0);
    let Evidence::Attestations(atts) = &v.evidence else { panic!("{:?}", v.evidence) };
    let resolved: Vec<(&str, &str)> =
        atts.iter().map(|a| (a.name.as_str(), a.accepts[0].predicate_type.as_str())).collect();
    assert_eq!(
        resolved,
        [
            ("provenance", SLSA02),
            ("provenance-v1", SLSA1),
            ("custom-check", "https://cosign.sigstore.dev/attestation/v1"),
            ("by-url", "https://example.com/attestations/review/v1"),
        ]
    );
    assert!(atts.iter().all(|a| a.accepts.len() == 1 && a.accepts[0].constraints.is_empty()));
    assert_eq!(v.signature_format, Some(SignatureFormat::Bundle));
    assert_eq!(v.signature_sources, ["registry.example.com/signatures"]);
    // Types policy-controller's own admission check would refuse are named.
    let warned: Vec<&str> = policy.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].contains("\"slsaprovenance1\""));
    assert!(warned[1].contains("https://example.com/attestations/review/v1"));
    let SignerRule::Keyless(ids) = &v.signer else { panic!() };
    assert!(matches!(ids[0].identity.issuer, Matcher::Regex(_)));
    assert!(matches!(ids[0].identity.subject, Matcher::Exact(_)));
}

#[test]
fn cip_static_pass_and_fail() {
    let policy = load("cip-static-pass.yaml");
    assert_eq!(policy.rules.len(), 2);
    assert!(matches!(policy.rules[0].authorities[0].kind, AuthorityKind::Static(StaticAction::Pass)));
    assert!(matches!(
        &policy.rules[1].authorities[0].kind,
        AuthorityKind::Static(StaticAction::Fail { message: Some(m) }) if m == "legacy registry is retired"
    ));
    assert_eq!(policy.rules[1].document, 2);
    assert_eq!(rule_names(&policy, "gcr.io/example-sidecars/proxy:v2"), ["allow-sidecars"]);
    assert_eq!(rule_names(&policy, "legacy.example.com/a/b"), ["block-legacy"]);
}

#[test]
fn cip_warn_mode_v1alpha1() {
    let policy = load("cip-warn-v1alpha1.yaml");
    let rule = &policy.rules[0];
    assert_eq!(rule.mode, Mode::Warn);
    assert_eq!(
        rule.format,
        RuleFormat::ClusterImagePolicy {
            api_version: "policy.sigstore.dev/v1alpha1".into()
        }
    );
    assert_eq!(rule.authorities[1].name, "authority-1");
    assert_eq!(verify(rule, 0).requirements, Requirements::default());
    assert_eq!(
        verify(rule, 1).requirements,
        Requirements::default()
            .without_sct_unsafe()
            .without_transparency_log_unsafe()
            .require_signed_timestamp()
    );
    // `*` and `*/*` are Docker Hub globs.
    assert_eq!(rule_names(&policy, "alpine"), ["trial-warn"]);
    assert_eq!(rule_names(&policy, "myorg/app:1"), ["trial-warn"]);
    assert!(rule_names(&policy, "ghcr.io/org/app").is_empty());
    assert_eq!(policy.warnings.len(), 3, "{:#?}", policy.warnings);
}

#[test]
fn mixed_documents_in_one_file() {
    let policy = load("mixed.yaml");
    let names: Vec<(&str, usize)> = policy.rules.iter().map(|r| (r.name.as_str(), r.document)).collect();
    assert_eq!(names, [("internal", 1), ("github-release-workflows", 2), ("allow-sidecars", 3)]);
    assert_eq!(policy.rules[0].format, RuleFormat::Native);
    assert_eq!(policy.source.included_files.len(), 1);
    assert_eq!(rule_names(&policy, "registry.internal.example/a/b:1"), ["internal"]);
    // Every matching rule applies.
    let both = format!(
        "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n  - name: a\n    images: ['ghcr.io/**']\n    authorities: [{{static: fail}}]\n---\n{}",
        std::fs::read_to_string(fixture("cip-keyless-github.yaml")).unwrap()
    );
    let policy = Policy::from_yaml(both.as_bytes(), "inline").unwrap();
    assert_eq!(rule_names(&policy, "ghcr.io/example/app:1"), ["a", "github-release-workflows"]);
}

#[test]
fn unsupported_fields_are_refused_with_their_place() {
    for (file, rule, authority, field, mentions) in [
        ("cip-unsupported-cue.yaml", "two-signatures", None, "spec.policy", "CUE/Rego"),
        ("cip-unsupported-kms.yaml", "kms-signed", Some("release-key"), "spec.authorities[0].key.kms", "KMS"),
        (
            "cip-unsupported-attestation-policy.yaml",
            "vuln-scan-recent",
            Some("scanner"),
            "spec.authorities[0].attestations[0].policy",
            "attestation \"vuln\"",
        ),
    ] {
        let e = load_err(file);
        assert!(e.is_unsupported(), "{file}: {e}");
        assert_eq!(e.location.document, Some(1), "{file}");
        assert_eq!(e.location.rule.as_deref(), Some(rule), "{file}");
        assert_eq!(e.location.authority.as_deref(), authority, "{file}");
        assert_eq!(e.location.field.as_deref(), Some(field), "{file}");
        let text = e.to_string();
        assert!(text.contains(mentions) && text.contains(rule) && text.contains(field), "{text}");
        let as_crate = verifier::Error::from(e);
        assert_eq!(as_crate.kind(), verifier::ErrorKind::Environment);
        assert_eq!(as_crate.check(), None);
    }
}

const CIP_HEAD: &str = "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: p\nspec:\n  images:\n  - glob: '**'\n  authorities:\n";
const KEYLESS_ID: &str = "      identities:\n      - issuer: https://issuer\n        subject: a@b\n";

fn cip_authority(authority: &str) -> String {
    format!("{CIP_HEAD}{authority}")
}

#[test]
fn cip_refusals() {
    let site = std::fs::read_to_string(fixture("keys/site.pub")).unwrap().replace('\n', "\n        ");
    let keyless = format!("  - keyless:\n{KEYLESS_ID}");
    let cases: Vec<(String, &str)> = vec![
        (format!("{keyless}      ca-cert: {{data: x}}\n"), "spec.authorities[0].keyless.ca-cert"),
        (format!("{keyless}      url: https://fulcio.example.com\n"), "spec.authorities[0].keyless.url"),
        (format!("{keyless}    ctlog: {{url: https://rekor.example.com}}\n"), "spec.authorities[0].ctlog.url"),
        ("  - key:\n      secretRef: {name: k}\n".to_string(), "spec.authorities[0].key.secretRef"),
        (format!("  - key:\n      hashAlgorithm: sha512\n      data: |\n        {site}\n"), "spec.authorities[0].key.hashAlgorithm"),
        (format!("{keyless}    source:\n    - oci: r.example/sigs\n      signaturePullSecrets: [{{name: s}}]\n"), "spec.authorities[0].source[0].signaturePullSecrets"),
        (format!("{keyless}    source:\n    - oci: r.example/sigs\n      tagPrefix: x\n"), "spec.authorities[0].source[0].tagPrefix"),
        (format!("{keyless}  match:\n  - resource: pods\n"), "spec.match"),
    ];
    for (authorities, field) in cases {
        let yaml = cip_authority(&authorities);
        let e = parse_err(&yaml);
        assert_eq!(e.location.field.as_deref(), Some(field), "{yaml}\n{e}");
        assert!(e.is_unsupported(), "{e}");
        assert_eq!(e.location.rule.as_deref(), Some("p"));
    }
    // The public-good instances are what airlock trusts anyway.
    for ok in [
        format!("{keyless}      url: https://fulcio.sigstore.dev/\n    ctlog: {{url: https://rekor.sigstore.dev}}\n"),
        format!("{keyless}    source:\n    - oci: r.example/sigs\n    signatureFormat: legacy\n"),
    ] {
        let policy = Policy::from_yaml(cip_authority(&ok).as_bytes(), "inline").unwrap();
        assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    }
}

/// The TrustRoot policy-controller reads for the trusted root at `path`,
/// named `name`; `drop_ctlogs` leaves the CT logs out.
fn trust_root_document(path: &Path, name: &str, drop_ctlogs: bool) -> String {
    let mut doc = testbed::trust_root_resource(path, name);
    if drop_ctlogs {
        doc["spec"]["sigstoreKeys"]["ctLogs"] = serde_json::json!([]);
    }
    doc.to_string()
}

#[test]
fn cip_trust_root_ref_resolves_to_a_trust_root_document_that_must_be_the_trusted_root() {
    let root_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trust-roots/data/public-good-trusted_root.json");
    let trusted = trust_roots::VerifiedTrustRoot::from_hand_managed_file(&root_file).unwrap();
    let keyless = format!(
        "  - keyless:\n      url: https://fulcio.internal\n      trustRootRef: site\n{KEYLESS_ID}    ctlog:\n      url: https://rekor.internal\n      trustRootRef: site\n    rfc3161timestamp: {{trustRootRef: site}}\n"
    );
    let cip = cip_authority(&keyless);

    // A reference to nothing: refused where it is written.
    let e = parse_err(&cip);
    assert_eq!(e.location.field.as_deref(), Some("spec.authorities[0].keyless.trustRootRef"), "{e}");
    assert!(e.to_string().contains("\"site\" names no TrustRoot"), "{e}");

    // The same trusted root, as policy-controller reads it: accepted.
    let policy = Policy::from_yaml(format!("{cip}---\n{}\n", trust_root_document(&root_file, "site", false)).as_bytes(), "inline").unwrap();
    assert_eq!(policy.trust_roots.len(), 1);
    policy.check_trust_roots(trusted.trusted_root()).unwrap();

    // Other trust material: parsed, refused against the trusted root.
    let short = Policy::from_yaml(format!("{cip}---\n{}\n", trust_root_document(&root_file, "site", true)).as_bytes(), "inline").unwrap();
    let e = short.check_trust_roots(trusted.trusted_root()).unwrap_err();
    assert_eq!((e.name.as_str(), e.role, e.document), ("site", "ctLogs", 2), "{e}");

    // Material airlock would have to fetch, and a garbled key: refused.
    let remote = "apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {name: site}\nspec:\n  remote: {mirror: https://tuf.example, root: eA==}\n";
    let e = parse_err(&format!("{cip}---\n{remote}"));
    assert!(e.is_unsupported() && e.location.field.as_deref() == Some("spec.remote"), "{e}");
    let garbled = "apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata: {name: site}\nspec:\n  sigstoreKeys:\n    certificateAuthorities: [{certChain: '!!'}]\n";
    let e = parse_err(&format!("{cip}---\n{garbled}"));
    assert_eq!(e.location.field.as_deref(), Some("spec.sigstoreKeys.certificateAuthorities[0].certChain"), "{e}");
}

#[test]
fn cip_invalid_documents() {
    let keyless = format!("  - keyless:\n{KEYLESS_ID}");
    let cases: Vec<(String, &str)> = vec![
        // Keyless without identities would accept any certificate.
        (cip_authority("  - keyless: {url: https://fulcio.sigstore.dev}\n"), "spec.authorities[0].keyless.identities"),
        (cip_authority("  - keyless:\n      identities:\n      - issuer: https://i\n"), "spec.authorities[0].keyless.identities[0].subject"),
        (cip_authority("  - keyless:\n      identities:\n      - subject: s\n"), "spec.authorities[0].keyless.identities[0].issuer"),
        (cip_authority("  - keyless:\n      identities:\n      - issuer: i\n        subject: s\n        subjectRegExp: s\n"), "spec.authorities[0].keyless.identities[0].subject"),
        (cip_authority("  - keyless:\n      identities:\n      - issuer: i\n        subjectRegExp: '('\n"), "spec.authorities[0].keyless.identities[0].subjectRegExp"),
        (cip_authority("  - key: {data: not a key}\n"), "spec.authorities[0].key.data"),
        (cip_authority("  - key: {}\n"), "spec.authorities[0].key"),
        (cip_authority(&format!("{keyless}    key: {{data: x}}\n")), "spec.authorities[0]"),
        (cip_authority("  - name: x\n"), "spec.authorities[0]"),
        (cip_authority("  - static: {action: maybe}\n"), "spec.authorities[0].static.action"),
        (cip_authority("  - static: {}\n"), "spec.authorities[0].static.action"),
        (cip_authority("  - static: {action: pass}\n    ctlog: {url: https://rekor.sigstore.dev}\n"), "spec.authorities[0].ctlog"),
        (cip_authority(&format!("{keyless}    attestations:\n    - predicateType: slsaprovenance\n")), "spec.authorities[0].attestations[0].name"),
        (cip_authority(&format!("{keyless}    attestations:\n    - name: a\n")), "spec.authorities[0].attestations[0].predicateType"),
        (cip_authority(&format!("{keyless}    attestations:\n    - name: a\n      predicateType: slsa\n")), "spec.authorities[0].attestations[0].predicateType"),
        (cip_authority(&format!("{keyless}    attestations:\n    - name: a\n      predicateType: custom\n    - name: a\n      predicateType: vuln\n")), "spec.authorities[0].attestations[1].name"),
        (cip_authority(&format!("{keyless}    signatureFormat: sigstore\n")), "spec.authorities[0].signatureFormat"),
        (cip_authority(&format!("{keyless}    source:\n    - {{}}\n")), "spec.authorities[0].source[0].oci"),
        (cip_authority(&format!("{keyless}    name: a\n{keyless}    name: a\n")), "spec.authorities[1].name"),
        (cip_authority(&format!("{keyless}    unknownField: 1\n")), "spec.authorities[0].unknownField"),
        (cip_authority(&format!("{keyless}      insecureIgnoreSCT: 'yes'\n")), "spec.authorities[0].keyless.insecureIgnoreSCT"),
        (cip_authority(&format!("{keyless}  mode: audit\n")), "spec.mode"),
        (CIP_HEAD.replace("  - glob: '**'\n", "  - glob: 'ghcr.io/[a-z]'\n") + &keyless, "spec.images[0].glob"),
        (CIP_HEAD.replace("  - glob: '**'\n", "  - {}\n") + &keyless, "spec.images[0].glob"),
        (CIP_HEAD.replace("  images:\n  - glob: '**'\n", "  images: []\n") + &keyless, "spec.images"),
        (CIP_HEAD.to_string() + "  - {static: {action: pass}}\n  foo: bar\n", "spec.foo"),
        (CIP_HEAD.replace("  name: p\n", "  labels: {}\n") + &keyless, "metadata.name"),
        (CIP_HEAD.replace("  authorities:\n", "  authorities: []\n"), "spec.authorities"),
    ];
    for (yaml, field) in cases {
        let e = parse_err(&yaml);
        assert_eq!(e.location.field.as_deref(), Some(field), "{yaml}\n{e}");
        assert!(!e.is_unsupported(), "{e}");
    }
}

const NATIVE_HEAD: &str = "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n  - name: r\n    images: ['ghcr.io/**']\n    authorities:\n";

fn native(authority: &str) -> String {
    format!("{NATIVE_HEAD}{authority}")
}

#[test]
fn native_refusals() {
    let id = "    - keyless:\n      - issuer: https://i\n        subject: s\n";
    type KindCheck = fn(&PolicyErrorKind) -> bool;
    let cases: Vec<(String, &str, KindCheck)> = vec![
        (native(&format!("{id}      bogus: 1\n")), "spec.rules[0].authorities[0].bogus", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (native("    - keyless:\n      - issuer: https://i\n        subject: s\n        claims: {sourceRepo: x}\n"), "spec.rules[0].authorities[0].keyless[0].claims.sourceRepo", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (NATIVE_HEAD.replace("    images: ['ghcr.io/**']\n", "    images: ['ghcr.io/**']\n    imagez: []\n") + id, "spec.rules[0].imagez", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (NATIVE_HEAD.replace("images: ['ghcr.io/**']", "images: 'ghcr.io/**'") + id, "spec.rules[0].images", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (NATIVE_HEAD.replace("images: ['ghcr.io/**']", "images: []") + id, "spec.rules[0].images", |k| matches!(k, PolicyErrorKind::Empty { .. })),
        (NATIVE_HEAD.replace("images: ['ghcr.io/**']", "images: ['ghcr.io/{a,b}']") + id, "spec.rules[0].images[0]", |k| matches!(k, PolicyErrorKind::InvalidGlob { .. })),
        (NATIVE_HEAD.replace("    authorities:\n", "    authorities: []\n"), "spec.rules[0].authorities", |k| matches!(k, PolicyErrorKind::Empty { .. })),
        (NATIVE_HEAD.replace("    authorities:\n", "    mode: audit\n    authorities:\n") + id, "spec.rules[0].mode", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (NATIVE_HEAD.replace("    authorities:\n", "    requireSbom: 'yes'\n    authorities:\n") + id, "spec.rules[0].requireSbom", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (native("    - keyless:\n      - issuer: https://i\n        subjectRegExp: '[z-a]'\n"), "spec.rules[0].authorities[0].keyless[0].subjectRegExp", |k| matches!(k, PolicyErrorKind::InvalidRegex { .. })),
        (native("    - keyless:\n      - issuer: https://i\n        subject: s\n        claims: {buildTrigger: push, buildTriggerRegExp: p}\n"), "spec.rules[0].authorities[0].keyless[0].claims.buildTrigger", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native("    - keyless:\n      - issuer: https://i\n        subject: s\n        claims: {runInvocationURIRegExp: '('}\n"), "spec.rules[0].authorities[0].keyless[0].claims.runInvocationURIRegExp", |k| matches!(k, PolicyErrorKind::InvalidRegex { .. })),
        (native("    - keyless: []\n"), "spec.rules[0].authorities[0].keyless", |k| matches!(k, PolicyErrorKind::Empty { .. })),
        (native("    - key:\n      - pem: nonsense\n"), "spec.rules[0].authorities[0].key[0].pem", |k| matches!(k, PolicyErrorKind::InvalidKey(_))),
        (native("    - key:\n      - file: keys/site.pub\n"), "spec.rules[0].authorities[0].key[0].file", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        (native("    - key:\n      - {}\n"), "spec.rules[0].authorities[0].key[0]", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native("    - name: a\n      static: pass\n    - name: a\n      static: fail\n"), "spec.rules[0].authorities[1].name", |k| matches!(k, PolicyErrorKind::DuplicateName { what: "authority", .. })),
        (native("    - static: pass\n      require: {transparencyLog: false}\n"), "spec.rules[0].authorities[0].require", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native("    - static: maybe\n"), "spec.rules[0].authorities[0].static", |k| matches!(k, PolicyErrorKind::Schema(_))),
        (native(&format!("{id}      static: pass\n")), "spec.rules[0].authorities[0]", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native("    - name: nothing\n"), "spec.rules[0].authorities[0]", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native(&format!("{id}      require: {{signature: false}}\n")), "spec.rules[0].authorities[0].require.signature", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native("    - key:\n      - pem: x\n      require: {certificateTransparency: false}\n"), "spec.rules[0].authorities[0].key[0].pem", |k| matches!(k, PolicyErrorKind::InvalidKey(_))),
        (native(&format!("{id}      attestations: []\n")), "spec.rules[0].authorities[0].attestations", |k| matches!(k, PolicyErrorKind::Empty { .. })),
        (native(&format!("{id}      attestations:\n      - name: a\n")), "spec.rules[0].authorities[0].attestations[0]", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: spdx\n        builderId: b\n")), "spec.rules[0].authorities[0].attestations[0].builderId", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: spdx\n        sourceRepositoryRegExp: b\n")), "spec.rules[0].authorities[0].attestations[0].sourceRepository", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateTypes: [custom, nope]\n")), "spec.rules[0].authorities[0].attestations[0].predicateTypes[1]", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: custom\n        constraints:\n        - path: a..b\n          equals: 1\n")), "spec.rules[0].authorities[0].attestations[0].constraints[0].path", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: custom\n        constraints:\n        - path: a\n          equals: 1\n          regexp: x\n")), "spec.rules[0].authorities[0].attestations[0].constraints[0]", |k| matches!(k, PolicyErrorKind::Conflict(_))),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: custom\n        constraints:\n        - path: a\n          regexp: '('\n")), "spec.rules[0].authorities[0].attestations[0].constraints[0].regexp", |k| matches!(k, PolicyErrorKind::InvalidRegex { .. })),
        (native(&format!("{id}      attestations:\n      - name: a\n        predicateType: custom\n      - name: a\n        predicateType: vuln\n")), "spec.rules[0].authorities[0].attestations[1].name", |k| matches!(k, PolicyErrorKind::DuplicateName { what: "attestation", .. })),
        (format!("{NATIVE_HEAD}{id}  - name: r\n    images: [x]\n    authorities:\n{id}"), "spec.rules[1].name", |k| matches!(k, PolicyErrorKind::DuplicateName { what: "rule", .. })),
        (format!("{NATIVE_HEAD}{id}").replace("  rules:\n", "  unmatched: accept\n  rules:\n"), "spec.unmatched", |k| matches!(k, PolicyErrorKind::InvalidValue(_))),
        ("apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules: []\n".to_string(), "spec.rules", |k| matches!(k, PolicyErrorKind::Empty { .. })),
        ("apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec: {}\n".to_string(), "spec", |k| matches!(k, PolicyErrorKind::Schema(_))),
    ];
    for (yaml, field, kind) in cases {
        let e = parse_err(&yaml);
        assert_eq!(e.location.field.as_deref(), Some(field), "{yaml}\n{e}");
        assert!(kind(&e.kind), "{yaml}\n{e:?}");
        assert_eq!(e.location.document, Some(1));
    }
}

#[test]
fn key_checks() {
    let p521 = std::fs::read_to_string(fixture("keys/p521.pub")).unwrap().replace('\n', "\n          ");
    let yaml = native(&format!("    - key:\n      - pem: |\n          {p521}\n"));
    assert!(matches!(parse_err(&yaml).kind, PolicyErrorKind::InvalidKey(_)));
    let ed = std::fs::read_to_string(fixture("keys/ed25519.pub")).unwrap().replace('\n', "\n          ");
    let yaml = native(&format!("    - key:\n      - pem: |\n          {ed}\n      require: {{certificateTransparency: true}}\n"));
    let e = parse_err(&yaml);
    assert_eq!(e.location.field.as_deref(), Some("spec.rules[0].authorities[0].require.certificateTransparency"));
    let yaml = native(&format!("    - key:\n      - pem: |\n          {ed}\n"));
    assert!(Policy::from_yaml(yaml.as_bytes(), "inline").is_ok());

    // Key files resolve relative to the policy; a missing one is named.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::copy(fixture("keys/site.pub"), dir.path().join("keys/k.pub")).unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, native("    - key:\n      - file: keys/k.pub\n")).unwrap();
    let policy = Policy::load(&path).unwrap();
    assert_eq!(policy.source.included_files[0].path, dir.path().join("keys/k.pub"));
    std::fs::write(&path, native("    - key:\n      - file: keys/missing.pub\n")).unwrap();
    match Policy::load(&path) {
        Err(verifier::Error::Policy(e)) => assert!(matches!(e.kind, PolicyErrorKind::KeyFile { .. }), "{e}"),
        other => panic!("{other:?}"),
    }
    std::fs::write(dir.path().join("keys/big.pub"), vec![b'a'; 70_000]).unwrap();
    std::fs::write(&path, native("    - key:\n      - file: keys/big.pub\n")).unwrap();
    match Policy::load(&path) {
        Err(verifier::Error::Policy(e)) => assert!(matches!(e.kind, PolicyErrorKind::InvalidKey(_)), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_level_refusals() {
    for (yaml, check) in [
        ("", (|k| matches!(k, PolicyErrorKind::NoDocuments)) as fn(&PolicyErrorKind) -> bool),
        ("---\n---\n", |k| matches!(k, PolicyErrorKind::NoDocuments)),
        ("a: [1, 2\n", |k| matches!(k, PolicyErrorKind::Syntax(_))),
        ("a: 1\na: 2\n", |k| matches!(k, PolicyErrorKind::Syntax(_))),
        ("- 1\n- 2\n", |k| matches!(k, PolicyErrorKind::Schema(_))),
        ("apiVersion: v1\nkind: ConfigMap\n", |k| matches!(k, PolicyErrorKind::UnknownDocument { .. })),
        ("apiVersion: policy.sigstore.dev/v1beta1\nkind: TrustRoot\n", |k| matches!(k, PolicyErrorKind::UnknownDocument { .. })),
        ("apiVersion: policy.sigstore.dev/v2\nkind: ClusterImagePolicy\n", |k| matches!(k, PolicyErrorKind::UnknownDocument { .. })),
        ("apiVersion: 1\nkind: ImportPolicy\n", |k| matches!(k, PolicyErrorKind::Schema(_))),
        ("kind: ImportPolicy\n", |k| matches!(k, PolicyErrorKind::Schema(_))),
    ] {
        let e = parse_err(yaml);
        assert!(check(&e.kind), "{yaml:?}: {e:?}");
    }
    // Not UTF-8.
    assert!(matches!(
        Policy::from_yaml(&[0xff, 0xfe, 0x00], "inline"),
        Err(verifier::Error::Policy(e)) if matches!(e.kind, PolicyErrorKind::Syntax(_))
    ));
    // Alias bombs and deep nesting hit the parser's limits, not memory.
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (prev, c) in ('a'..'j').zip('b'..='j') {
        bomb.push_str(&format!("{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    assert!(matches!(parse_err(&bomb).kind, PolicyErrorKind::Syntax(_)));
    assert!(matches!(parse_err(&"[".repeat(10_000)).kind, PolicyErrorKind::Syntax(_)));
    // Size bound.
    let big = format!("# {}\n", "x".repeat(verifier::policy::MAX_POLICY_BYTES as usize));
    assert!(matches!(parse_err(&big).kind, PolicyErrorKind::TooLarge { .. }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    std::fs::write(&path, &big).unwrap();
    assert!(matches!(Policy::load(&path), Err(verifier::Error::Policy(e)) if matches!(e.kind, PolicyErrorKind::TooLarge { .. })));
    assert!(matches!(Policy::load(&dir.path().join("absent.yaml")), Err(verifier::Error::Io { .. })));
    // The second document's error names it.
    let two = format!("{}---\napiVersion: x\nkind: y\n", std::fs::read_to_string(fixture("cip-key-inline.yaml")).unwrap());
    assert_eq!(parse_err(&two).location.document, Some(2));
}

#[test]
fn duplicate_rules_across_documents() {
    let cip = std::fs::read_to_string(fixture("cip-keyless-github.yaml")).unwrap();
    let e = parse_err(&format!("{cip}---\n{cip}"));
    assert!(matches!(e.kind, PolicyErrorKind::DuplicateName { what: "rule", .. }), "{e}");
    assert_eq!(e.location.document, Some(2));
    assert!(e.to_string().contains("document 1"), "{e}");
}

/// spec.vulnerabilities exactly as issue 14 spells it, and its refusals.
#[test]
fn native_vulnerabilities_gate() {
    use verifier::policy::vulnerabilities::{AllowEntry, DenyRule};
    let head = "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n";
    let rules = "  rules:\n    - name: all\n      images: ['**']\n      authorities: [{static: pass}]\n";
    let gate = "  vulnerabilities:\n    deny: {minSeverity: critical, fixAvailable: true}   # low|medium|high|critical\n    allow:\n      - {id: CVE-2024-12345, reason: \"not reachable in our build\", until: \"2027-03-01\"}\n";
    let policy = Policy::from_yaml(format!("{head}{gate}{rules}").as_bytes(), "inline").unwrap();
    let v = policy.vulnerabilities.expect("parsed");
    assert_eq!(v.deny, Some(DenyRule { min_severity: advisories::Rating::Critical, fix_available: true }));
    assert_eq!(v.allow, [AllowEntry { id: "CVE-2024-12345".into(), reason: "not reachable in our build".into(), until: "2027-03-01".parse().unwrap() }]);
    assert!(Policy::from_yaml(format!("{head}{rules}").as_bytes(), "inline").unwrap().vulnerabilities.is_none());

    let refused = |gate: &str| parse_err(&format!("{head}{gate}{rules}")).to_string();
    assert!(refused("  vulnerabilities:\n    deny: {minSeverity: severe}\n").contains("severe"));
    assert!(refused("  vulnerabilities:\n    allow: [{id: CVE-1, reason: x, until: 2027-13-01}]\n").contains("spec.vulnerabilities.allow[0].until"));
    assert!(refused("  vulnerabilities:\n    allow: [{id: CVE-1, reason: '', until: 2027-01-01}]\n").contains("reason"));
    assert!(refused("  vulnerabilities:\n    allow: [{id: CVE-1, until: 2027-01-01}]\n").contains("reason"));
    let twice = format!("{head}{gate}{rules}---\n{head}  vulnerabilities: {{}}\n  rules:\n    - name: other\n      images: ['x']\n      authorities: [{{static: pass}}]\n");
    assert!(parse_err(&twice).to_string().contains("already sets spec.vulnerabilities"));
}
