//! `airlock inspect`: what a bundle carries, read without verifying.

use crate::cli::InspectArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use progress::bytes;
use verifier::bundle::manifest::BundleManifest;

pub fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    let parsed = verifier::bundle::content::peek_manifest(&args.bundle)?;
    let manifest = &parsed.manifest;
    match args.output {
        Format::Json => print_json(&serde_json::json!({
            "mediaType": "application/vnd.airlock.inspect.v1+json",
            "verified": false,
            "note": "read without verifying: nothing here is proven until `airlock verify` passes",
            "bundle": parsed.id,
            "totalBytes": total(manifest, true),
            "manifest": manifest,
        }))?,
        Format::Text => render(&parsed.id, manifest),
    }
    Ok(Outcome::Success)
}

fn total(manifest: &BundleManifest, carried_only: bool) -> u64 {
    manifest.blobs.iter().filter(|b| b.carried || !carried_only).map(|b| b.size).sum()
}

fn render(id: &oci::Digest, manifest: &BundleManifest) {
    println!("NOT VERIFIED: this is what the bundle claims; run `airlock verify` before trusting any of it.");
    println!("bundle {id}");
    println!("  created {} by {} {}", manifest.created, manifest.tool.name, manifest.tool.version);
    if let Some(extends) = &manifest.extends {
        println!("  extends {}", extends.bundle);
    }
    let carried = manifest.blobs.iter().filter(|b| b.carried).count();
    println!(
        "  {} image(s), {} blob(s) carried ({}), {} inherited",
        manifest.images.len(),
        carried,
        bytes(total(manifest, true)),
        manifest.blobs.len() - carried
    );
    for image in &manifest.images {
        println!("  {} @ {}", image.reference, image.digest);
        for p in &image.platforms {
            println!("      platform {} {}", p.platform, p.digest);
        }
        for p in &image.dropped_platforms {
            println!("      platform {} {} (left out)", p.platform, p.digest);
        }
        for e in &image.evidence {
            println!("      {} {} for {}", e.kind.name(), e.manifest, e.subject);
        }
        for s in &image.sboms {
            println!("      sbom {} ({})", s.file, s.source.name());
        }
    }
}
