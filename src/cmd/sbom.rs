//! `airlock sbom list` and `airlock sbom query`: "which images contain
//! package X?", from the SBOMs a bundle carries, after it verifies (or,
//! explicitly, unverified).

use super::verify::{verify, Verified};
use crate::cli::{SbomArgs, SbomCommand, SbomImagesArgs, SbomQueryArgs};
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::{bail, Context};
use verifier::bundle::content::{self, CheckedContent, NoProgress, OpenOptions};
use verifier::bundle::manifest::ImageEntry;
use verifier::evidence::sbom::{Package, Sbom, MAX_SBOM_BYTES};
use verifier::evidence::sbom_images::{sbom_images, SbomImageError, SbomImages};

pub fn run(command: SbomCommand) -> anyhow::Result<Outcome> {
    match command {
        SbomCommand::List(args) => list(args),
        SbomCommand::Query(args) => query(args),
        SbomCommand::Images(args) => images(args),
    }
}

/// The bundle's content and its images, verified first unless `--unverified`.
enum Source {
    Verified(Box<Verified>),
    Unverified {
        content: Box<CheckedContent>,
        /// Where an archive's content lives; removed when this goes.
        _work: tempfile::TempDir,
    },
}

impl Source {
    fn open(args: &SbomArgs) -> anyhow::Result<Self> {
        if args.unverified {
            let work = tempfile::Builder::new().prefix("airlock-work-").tempdir()?;
            let checked = content::open(&args.bundle, &OpenOptions { transfer_key: None, jobs: 2, work_dir: &work.path().join("bundle") }, &NoProgress)?;
            return Ok(Self::Unverified { content: Box::new(checked), _work: work });
        }
        if args.verify.policy.is_none() {
            bail!("the bundle must verify before its SBOMs are read: give --policy (and verify's other flags), or --unverified");
        }
        let verified = verify(&args.bundle, &args.verify)?;
        if verified.verification.verified.is_none() {
            eprint!("{}", verified.verification.report.to_text());
            bail!("the bundle did not verify; its SBOMs are not read (use --unverified to read them anyway)");
        }
        Ok(Self::Verified(Box::new(verified)))
    }

    fn content(&self) -> &CheckedContent {
        match self {
            Self::Verified(v) => v.verification.verified.as_ref().expect("checked in open").content(),
            Self::Unverified { content, .. } => content,
        }
    }

    fn images(&self) -> &[ImageEntry] {
        match self {
            Self::Verified(v) => v.verification.verified.as_ref().expect("checked in open").images(),
            Self::Unverified { content, .. } => &content.manifest.manifest.images,
        }
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SbomRow<'a> {
    reference: &'a str,
    image: &'a oci::Digest,
    subject: &'a oci::Digest,
    file: &'a str,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sbom: Option<Sbom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn rows(source: &Source) -> Vec<SbomRow<'_>> {
    let mut rows = Vec::new();
    for image in source.images() {
        for entry in &image.sboms {
            let parsed = source
                .content()
                .read_blob(&entry.blob, MAX_SBOM_BYTES as u64)
                .and_then(|bytes| Sbom::parse(&bytes));
            let (sbom, error) = match parsed {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e.to_string())),
            };
            rows.push(SbomRow {
                reference: &image.reference,
                image: &image.digest,
                subject: &entry.subject,
                file: &entry.file,
                source: entry.source.name(),
                sbom,
                error,
            });
        }
    }
    rows
}

fn list(args: SbomArgs) -> anyhow::Result<Outcome> {
    let source = Source::open(&args)?;
    let rows = rows(&source);
    match args.output {
        Format::Json => print_json(&serde_json::json!({ "verified": !args.unverified, "sboms": rows.iter().map(|r| serde_json::json!({
            "reference": r.reference, "image": r.image, "subject": r.subject, "file": r.file, "source": r.source,
            "format": r.sbom.as_ref().map(|s| s.kind.format), "specVersion": r.sbom.as_ref().map(|s| s.kind.spec_version.clone()),
            "packages": r.sbom.as_ref().map(|s| s.packages.len()), "error": r.error,
        })).collect::<Vec<_>>() }))?,
        Format::Text => {
            if args.unverified {
                println!("UNVERIFIED: the bundle was not verified against a policy");
            }
            for r in &rows {
                match (&r.sbom, &r.error) {
                    (Some(s), _) => println!("{} @ {}  {} {} {}, {} packages", r.reference, r.subject, r.file, s.kind.format, s.kind.spec_version, s.packages.len()),
                    (None, Some(e)) => println!("{} @ {}  {} unreadable: {e}", r.reference, r.subject, r.file),
                    (None, None) => {}
                }
            }
        }
    }
    Ok(Outcome::Success)
}

fn query(args: SbomQueryArgs) -> anyhow::Result<Outcome> {
    let (name, version) = split_package(&args.package);
    let source = Source::open(&args.common)?;
    let rows = rows(&source);
    let hits: Vec<(&SbomRow<'_>, Vec<&Package>)> = rows
        .iter()
        .filter_map(|r| r.sbom.as_ref().map(|s| (r, s.matching(name, version).collect::<Vec<_>>())))
        .filter(|(_, found)| !found.is_empty())
        .collect();
    match args.common.output {
        Format::Json => print_json(&serde_json::json!({
            "verified": !args.common.unverified,
            "query": {"name": name, "version": version},
            "matches": hits.iter().map(|(r, found)| serde_json::json!({"reference": r.reference, "image": r.image, "subject": r.subject, "file": r.file, "packages": found})).collect::<Vec<_>>(),
            "unreadable": rows.iter().filter(|r| r.error.is_some()).map(|r| serde_json::json!({"file": r.file, "error": r.error})).collect::<Vec<_>>(),
        }))?,
        Format::Text => {
            if args.common.unverified {
                println!("UNVERIFIED: the bundle was not verified against a policy");
            }
            for (r, found) in &hits {
                for p in found {
                    println!("{} @ {}: {} {} {}", r.reference, r.subject, p.name, p.version.as_deref().unwrap_or("-"), p.purl.as_deref().unwrap_or(""));
                }
            }
            for r in rows.iter().filter(|r| r.error.is_some()) {
                eprintln!("warning: {} could not be read: {}", r.file, r.error.as_deref().unwrap_or_default());
            }
            if hits.is_empty() {
                println!("no image in the bundle lists {}", args.package);
            }
        }
    }
    Ok(Outcome::Success)
}

/// `airlock sbom images FILE`: the images a release SBOM names.
fn images(args: SbomImagesArgs) -> anyhow::Result<Outcome> {
    let listed = match read_sbom_images(&args.file)? {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!("airlock: {}: {e}", args.file.display());
            return Ok(Outcome::Refused);
        }
    };
    for warning in &listed.warnings {
        eprintln!("warning: {}: {warning}", args.file.display());
    }
    match args.output {
        Format::Json => print_json(&listed)?,
        Format::Text => listed.images.iter().for_each(|i| println!("{}", i.reference)),
    }
    Ok(Outcome::Success)
}

/// Read an SBOM file (bounded) and list its images; the outer error is the
/// file's, the inner the document's.
pub(super) fn read_sbom_images(path: &std::path::Path) -> anyhow::Result<Result<SbomImages, SbomImageError>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SBOM_BYTES as u64 + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(sbom_images(&bytes))
}

/// `name@version`, keeping `@` inside a purl's scope (`pkg:npm/%40scope/x@1`).
fn split_package(arg: &str) -> (&str, Option<&str>) {
    match arg.rsplit_once('@') {
        Some((name, version)) if !name.is_empty() && !version.contains('/') => (name, Some(version)),
        _ => (arg, None),
    }
}
