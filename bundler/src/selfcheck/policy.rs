//! With `--policy`: the staged bundle evaluated exactly as the site will
//! (`verifier::verify::evaluate_images`), with the trust material it
//! carries, before it is signed and before any image layer is fetched
//! (the policy reads manifests and evidence only, each verified again as
//! it is read). A bundle with an image the policy refuses is not a bundle:
//! its manifest is never written (fetched blobs stay for a re-run).

use crate::error::{Error, Result};
use crate::write::Staged;
use std::path::Path;
use verifier::policy::eval::ImageVerdict;
use verifier::policy::Policy;

/// `--policy FILE`, read before anything touches the network.
pub fn load_policy(path: &Path) -> Result<Policy> {
    verifier::policy::Policy::load(path).map_err(|e| Error::Policy(Box::new(e)))
}

/// Every image of `staged` against `policy` (nothing without one): each
/// image's verdict, or a refusal naming each image and its first reason.
pub fn against_policy(
    staged: &Staged,
    policy: Option<&Policy>,
    trust: &trust_roots::VerifiedTrustRoot,
    jobs: usize,
) -> Result<Option<Vec<ImageVerdict>>> {
    let Some(policy) = policy else { return Ok(None) };
    evaluate(staged, policy, trust, jobs).map(Some)
}

fn evaluate(staged: &Staged, policy: &Policy, trust: &trust_roots::VerifiedTrustRoot, jobs: usize) -> Result<Vec<ImageVerdict>> {
    let as_policy_error = |e: verifier::Error| Error::Policy(Box::new(e));
    let checked = verifier::bundle::content::open_staged(&staged.root, &staged.bytes, jobs)
        .map_err(|e| Error::io(&staged.root, "re-read the staged bundle", std::io::Error::other(e.to_string())))?;
    policy
        .check_trust_roots(trust.trusted_root())
        .map_err(|e| Error::Usage(format!("the policy does not fit the bundle's trust material: {e}")))?;
    let verifier = verifier::check::signature::SignatureVerifier::new(trust).map_err(as_policy_error)?;
    let verdicts = verifier::verify::evaluate_images(&checked, policy, &verifier, jobs);
    let failures: Vec<String> = verdicts
        .iter()
        .filter(|v| v.outcome == verifier::policy::eval::Outcome::Failed)
        .map(|v| {
            let failure = v.failure.as_ref();
            format!(
                "{}: {}{}",
                v.reference,
                failure.and_then(|f| f.check()).map(|c| format!("[{c}] ")).unwrap_or_default(),
                failure.map_or_else(|| "refused".to_string(), |f| f.refusal.to_string())
            )
        })
        .collect();
    if failures.is_empty() {
        Ok(verdicts)
    } else {
        Err(Error::PolicyNotMet { failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_policy_is_a_usage_error() {
        let err = load_policy(Path::new("no-such-policy.yaml")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(err.to_string().contains("no-such-policy.yaml"), "{err}");
    }
}
