//! `airlock verify-image`: one image's cosign signature by one key.

use crate::cli::VerifyImageArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::Context;

/// Media type of the `--output json` document.
const RESULT_MEDIA_TYPE: &str = "application/vnd.airlock.verify-image.result.v1+json";

pub fn run(args: VerifyImageArgs) -> anyhow::Result<Outcome> {
    let reference: oci::ImageRef = args.image.parse().context("image reference")?;
    let digest = reference
        .digest()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{}: give the image by digest (REF@sha256:…): a tag proves nothing", args.image))?;
    let key = super::common::public_key(&args.key)?;
    let options = super::common::remote_options(&args.registry)?;
    let repository = oci::remote::Repository::open(&reference, &options)?;
    let result = super::common::runtime()?.block_on(verifier::signed_image::verify_image(&repository, &digest, &key));
    let outcome = match &result {
        Ok(_) => Outcome::Success,
        Err(e) => Outcome::for_error(e),
    };
    match args.output {
        Format::Json => print_json(&serde_json::json!({
            "mediaType": RESULT_MEDIA_TYPE,
            "verified": result.is_ok(),
            "image": format!("{}@{digest}", reference.name()),
            "key": key.fingerprint(),
            "failedCheck": result.as_ref().err().and_then(|e| e.check()).map(|c| c.name()),
            "error": result.as_ref().err().map(ToString::to_string),
            "result": result.as_ref().ok().map(|facts| &**facts),
            "airlockVersion": env!("CARGO_PKG_VERSION"),
        }))?,
        Format::Text => match &result {
            Ok(facts) => {
                println!("Verified OK: {}@{digest} is signed by key {}", reference.name(), facts.key);
                println!("  signature: {} (layer {})", facts.tag, facts.layer);
                println!("  signed as: {}", facts.docker_reference);
            }
            Err(e) => eprintln!("airlock: verify-image: {}@{digest} refused: {e}", reference.name()),
        },
    }
    Ok(outcome)
}
