//! `airlock policy export`.

use crate::cli::{PolicyExportArgs, PolicyFormat};
use crate::exit::Outcome;
use anyhow::Context;
use site::admission::{BreakGlassAdmission, Identity, MirrorPolicy};

pub fn export(args: PolicyExportArgs) -> anyhow::Result<Outcome> {
    let pem = std::fs::read_to_string(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?;
    let key = keys::PublicKey::from_pem(&pem).with_context(|| format!("public key {}", args.key.display()))?;
    let identities = args.identities.iter().map(|i| Identity::parse(i)).collect::<site::Result<Vec<_>>>()?;
    let break_glass = match (args.refuse_break_glass, args.break_glass_namespaces.is_empty()) {
        (true, _) => BreakGlassAdmission::Refuse,
        (false, false) => BreakGlassAdmission::OnlyIn(args.break_glass_namespaces.clone()),
        (false, true) => BreakGlassAdmission::Allow,
    };
    let policy = MirrorPolicy::new(&args.name, &args.registry, &key, &pem, identities)?.with_break_glass(break_glass)?;
    let documents = match args.format {
        PolicyFormat::Cip => vec![policy.cluster_image_policy()?],
        PolicyFormat::Kyverno => vec![policy.kyverno_policy()],
        PolicyFormat::Both => vec![policy.cluster_image_policy()?, policy.kyverno_policy()],
    };
    print!("{}", documents.join("---\n"));
    Ok(Outcome::Success)
}
