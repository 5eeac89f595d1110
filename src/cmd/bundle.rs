//! `airlock bundle create`: flags to a `bundler::Request`, one call, the
//! report rendered as text or JSON. In a build without `connected` it is a
//! stub that says so.

use crate::cli::BundleCreateArgs;
use crate::exit::Outcome;

/// `bundle create` in a build without the `connected` feature.
#[cfg(not(feature = "connected"))]
pub fn create(args: BundleCreateArgs) -> anyhow::Result<Outcome> {
    let _ = args;
    eprintln!(
        "airlock: bundle create: this airlock was built without the `connected` feature, so it \
         contains no bundler and no network code; run `bundle create` with a connected build"
    );
    Ok(Outcome::CouldNotRun)
}

#[cfg(feature = "connected")]
pub use connected::create;

#[cfg(feature = "connected")]
mod connected {
    use super::*;
    use crate::cli::CompressArg;
    use crate::output::{print_json, Format};
    use anyhow::Context as _;
    use crate::progress::CliProgress;
    use bundler::{Compression, Created, ErrorKind, OperatorSbom, Output, Report, Request, TrustInput};
    use progress::bytes;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// `bundle create`.
    pub fn create(args: BundleCreateArgs) -> anyhow::Result<Outcome> {
        let (output_format, quiet) = (args.output, args.progress.quiet);
        let request = match request(args) {
            Ok(r) => r,
            Err(e) => return usage(output_format, &format!("{e:#}")),
        };
        // Requests in flight are waits, not work: the runtime needs a thread
        // per core, whatever --jobs says.
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let progress = Arc::new(CliProgress::new(quiet));
        let result = runtime.block_on(bundler::create(&request, progress.clone()));
        progress.end();
        match result {
            Ok(report) => {
                match output_format {
                    Format::Json => print_json(&report)?,
                    Format::Text => render(&report),
                }
                Ok(Outcome::Success)
            }
            Err(error) => {
                let outcome = match error.kind() {
                    ErrorKind::Refused => Outcome::Refused,
                    _ => Outcome::CouldNotRun,
                };
                let verdict = if outcome == Outcome::Refused { "refused" } else { "could not run" };
                if output_format == Format::Json {
                    print_json(&NotCreated::new(error.kind(), error.to_string()))?;
                }
                eprintln!("airlock: bundle create: {verdict}: {}", oci::error_chain(&error));
                Ok(outcome)
            }
        }
    }

    fn usage(format: Format, message: &str) -> anyhow::Result<Outcome> {
        if format == Format::Json {
            print_json(&NotCreated::new(ErrorKind::Usage, message.to_string()))?;
        }
        eprintln!("airlock: bundle create: could not run: {message}");
        Ok(Outcome::CouldNotRun)
    }

    /// Media type of `bundle create --output json` when nothing was created.
    const NOT_CREATED_MEDIA_TYPE: &str = "application/vnd.airlock.bundle-create.error.v1+json";

    /// `bundle create --output json` when no bundle was written
    /// (docs/report.md); `created` is `false` so a reader can tell it from
    /// the report without looking at the media type.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NotCreated {
        media_type: &'static str,
        created: bool,
        error_kind: ErrorKind,
        error: String,
        airlock_version: &'static str,
    }

    impl NotCreated {
        fn new(kind: ErrorKind, error: String) -> Self {
            Self {
                media_type: NOT_CREATED_MEDIA_TYPE,
                created: false,
                error_kind: kind,
                error,
                airlock_version: env!("CARGO_PKG_VERSION"),
            }
        }
    }

    /// Flags to typed values; everything a library must not do (read the
    /// environment and the clock) happens here.
    fn request(args: BundleCreateArgs) -> anyhow::Result<Request> {
        let mut texts = args.refs.clone();
        if let Some(file) = &args.images {
            let list = std::fs::read_to_string(file).with_context(|| format!("--images {}", file.display()))?;
            texts.extend(
                list.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            );
        }
        let images = texts
            .iter()
            .map(|t| t.parse::<oci::ImageRef>().map_err(anyhow::Error::from))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if images.is_empty() && args.images_from_sbom.is_none() {
            anyhow::bail!("no images: give references, --images FILE or --images-from-sbom FILE");
        }
        let platforms = args
            .platforms
            .iter()
            .map(|p| p.parse::<oci::Platform>().map_err(anyhow::Error::from))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let split = args
            .split_size
            .as_deref()
            .map(|s| bundler::archive::split::parse_size(s).map_err(|e| anyhow::anyhow!("--split-size: {e}")))
            .transpose()?;
        let compress = args.compress.map(|c| match c {
            CompressArg::None => Compression::None,
            CompressArg::Gzip => Compression::Gzip,
            CompressArg::Zstd => Compression::Zstd,
        });
        let output = Output::new(args.out.clone(), compress, split)?;
        let trust = match (&args.trusted_root, &args.tuf_mirror) {
            (Some(file), _) => TrustInput::TrustedRoot(file.clone()),
            (None, Some(mirror)) => TrustInput::Tuf {
                mirror: mirror.clone(),
                root: args.tuf_root.clone(),
            },
            (None, None) => TrustInput::default(),
        };
        let sboms = args
            .sboms
            .iter()
            .map(|s| {
                let (file, image) = s
                    .rsplit_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--sbom {s:?}: expected FILE=IMAGE"))?;
                Ok(OperatorSbom {
                    file: PathBuf::from(file),
                    image: image.parse().with_context(|| format!("--sbom {s:?}"))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let remote = crate::cmd::common::remote_options(&args.registry)?;
        let created = match args.created {
            Some(at) => Created::Pinned(at),
            None => {
                let now = jiff::Timestamp::now();
                Created::Clock(now.round(jiff::Unit::Second).unwrap_or(now))
            }
        };
        let jobs = args.jobs.unwrap_or(DEFAULT_JOBS);
        if jobs == 0 {
            anyhow::bail!("--jobs must be at least 1");
        }
        Ok(Request {
            images,
            output,
            platforms,
            policy: args.policy,
            sign_key: args.sign_key.as_deref().map(crate::cmd::common::signing_key).transpose()?.map(Arc::new),
            since: args.since,
            rekor_url: args.rekor_url,
            trust,
            remote,
            jobs,
            created,
            sboms,
            advisories: args.advisories,
            images_from_sbom: args.images_from_sbom,
            require_digest: args.require_digest,
        })
    }

    /// Requests in flight by default: on a registry across a network most
    /// of a small blob's time is the round trip, so more than a core's
    /// worth; the registry and the disk bound it anyway.
    const DEFAULT_JOBS: usize = 8;

    /// When the bundle was made, and which SBOM named its images.
    fn render_provenance(report: &Report) {
        println!("  created:    {}{}", report.created, if report.created_pinned { " (pinned with --created)" } else { "" });
        if let Some(sbom) = &report.images_from_sbom {
            println!("  from SBOM:  {} ({}), carried as {}: {} image(s)", sbom.file.display(), sbom.sha256, sbom.carried_as, sbom.images.len());
        }
    }

    fn render(report: &Report) {
        let out = &report.output;
        let form = match out.form {
            "volumes" => format!("{} volumes", out.files.len()),
            other => other.to_string(),
        };
        println!("Bundle written: {} ({form}, {})", out.path.display(), bytes(out.bytes));
        for f in out.files.iter().filter(|f| out.form == "volumes" || **f != out.path) {
            println!("  volume:     {}", f.display());
        }
        println!("  bundle id:  {}", report.bundle_id);
        render_provenance(report);
        match &report.trust.mirror {
            Some(mirror) => println!("  trust:      TUF snapshot from {mirror} (trusted root {})", report.trust.trusted_root_digest),
            None => println!(
                "  trust:      hand-managed trusted_root.json {} (no TUF chain was checked)",
                report.trust.trusted_root_digest
            ),
        }
        match &report.transfer_key {
            Some(key) => println!("  signed:     transfer key {key}"),
            None => println!("  signed:     no (no --sign-key)"),
        }
        if let Some(extends) = &report.extends {
            println!("  extends:    {extends}");
        }
        if let Some(a) = &report.advisories {
            println!("  advisories: {} record(s) fetched {} from {}, in {}", a.records, a.fetched_at, a.sources.join(", "), a.path);
        }
        let b = &report.blobs;
        println!(
            "  blobs:      {} ({}), {} carried ({}), {} left to the previous bundle, {} shared between images and stored once",
            b.count,
            bytes(b.bytes),
            b.carried,
            bytes(b.carried_bytes),
            b.not_carried,
            b.shared
        );
        println!(
            "  fetched:    {} blob(s), {}; {} reused from an earlier run ({})",
            b.fetch.downloaded,
            bytes(b.fetch.downloaded_bytes),
            b.fetch.reused,
            bytes(b.fetch.reused_bytes)
        );
        for image in &report.images {
            render_image(image);
        }
    }

    /// One image of the text report: platforms, evidence with each layer's
    /// self-check, SBOMs, warnings.
    fn render_image(image: &bundler::report::ImageReport) {
        println!();
        println!("{} -> {}", image.reference, image.digest);
        if !image.platforms.is_empty() {
            let kept: Vec<&str> = image.platforms.iter().map(|p| p.platform.as_str()).collect();
            println!("  platforms:  {}", kept.join(", "));
        }
        if !image.dropped_platforms.is_empty() {
            let dropped: Vec<&str> = image.dropped_platforms.iter().map(|p| p.platform.as_str()).collect();
            println!("  dropped:    {} (left out by --platform; the index names them)", dropped.join(", "));
        }
        for e in &image.evidence {
            let on = if e.subject == image.digest { String::new() } else { format!(" on {}", short(&e.subject)) };
            let source = serde_json::to_value(e.source).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            println!("  {} {}{on} ({source})", e.kind, short(&e.manifest));
            for layer in &e.layers {
                let status = match layer.status {
                    bundler::selfcheck::Status::Verified => "verified",
                    bundler::selfcheck::Status::LogVerified => "log verified",
                    bundler::selfcheck::Status::NotChecked => "not checked",
                };
                let mut detail = Vec::new();
                if let Some(signer) = &layer.signer {
                    detail.push(format!("signer {signer}"));
                }
                if let Some(issuer) = &layer.issuer {
                    detail.push(format!("issuer {issuer}"));
                }
                if let Some(p) = &layer.predicate_type {
                    detail.push(format!("predicate {p}"));
                }
                if let Some(i) = layer.log_index {
                    detail.push(format!("Rekor entry {i} fetched with a fresh proof"));
                }
                if let Some(reason) = &layer.reason {
                    detail.push(reason.clone());
                }
                println!("    {status}: {}", detail.join("; "));
            }
        }
        for s in &image.sboms {
            let source = serde_json::to_value(s.source).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            println!("  sbom {} ({source}): sboms.tar.gz/{}", serde_json::to_value(s.format).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(), s.file);
        }
        let c = &image.self_check;
        println!(
            "  self-check: {} verified, {} log-verified, {} not checked; {} Rekor entr{} fetched",
            c.verified,
            c.log_verified,
            c.not_checked,
            image.log_entries_fetched,
            if image.log_entries_fetched == 1 { "y" } else { "ies" }
        );
        for w in &image.warnings {
            println!("  WARNING:    {w}");
        }
    }

    fn short(d: &oci::Digest) -> String {
        let s = d.to_string();
        s.chars().take(19).collect()
    }
}
