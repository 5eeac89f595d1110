//! Evidence layers on arbitrary bytes: cosign signature and attestation
//! layers (payload plus annotations, as a bundle carries them, and
//! containers/image's file form), simple-signing payloads, in-toto
//! statements, Sigstore bundles and Rekor entry bodies; and the rule that a
//! layer is what its media type says, never what it is filed as.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use verifier::bundle::manifest::EvidenceKind;
use verifier::evidence::cosign::{annotation, CosignLayer, CosignSignature, LayerKind, SimpleSigning, DSSE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE};
use verifier::evidence::rekor::EntryBody;
use verifier::evidence::sigstore::SigstoreBundle;
use verifier::evidence::statement::Statement;
use verifier::image::filed_kind_mismatch;

/// The first bytes up to a NUL as a string (the annotations' values), the
/// rest as the payload.
fn split(data: &[u8]) -> (String, &[u8]) {
    let cut = data.iter().position(|b| *b == 0).unwrap_or(0);
    (String::from_utf8_lossy(&data[..cut]).into_owned(), data.get(cut + 1..).unwrap_or_default())
}

fuzz_target!(|data: &[u8]| {
    let (value, payload) = split(data);
    for media_type in [SIMPLE_SIGNING_MEDIA_TYPE, DSSE_MEDIA_TYPE] {
        let mut annotations = BTreeMap::new();
        for key in [annotation::SIGNATURE, annotation::CERTIFICATE, annotation::CHAIN, annotation::BUNDLE, annotation::RFC3161_TIMESTAMP] {
            annotations.insert(key.to_string(), value.clone());
        }
        let layer = CosignLayer { media_type: media_type.into(), payload: payload.to_vec(), annotations };
        if let Ok(signature) = CosignSignature::from_layer(&layer) {
            // Parsed as what its media type says, whatever it is filed as.
            let expected = if media_type == DSSE_MEDIA_TYPE { LayerKind::Attestation } else { LayerKind::Signature };
            assert_eq!(signature.kind(), expected);
            let _ = signature.set_entry();
            let _ = signature.to_sigstore_bundle();
        }
        assert!(filed_kind_mismatch(EvidenceKind::CosignSignature, media_type).is_some() == (media_type == DSSE_MEDIA_TYPE));
        assert!(filed_kind_mismatch(EvidenceKind::CosignAttestation, media_type).is_some() == (media_type == SIMPLE_SIGNING_MEDIA_TYPE));
    }
    let _ = CosignLayer::from_containers_image_file(data);
    let _ = SimpleSigning::parse(data);
    let _ = Statement::parse("application/vnd.in-toto+json", data);
    let _ = EntryBody::parse(data);
    if let Ok(bundle) = SigstoreBundle::from_json(data) {
        let _ = bundle.dsse_payload();
        let _ = bundle.to_json();
    }
    let _ = filed_kind_mismatch(EvidenceKind::CosignSbom, &value);
});
