//! `airlock pin`: YAML files to the mirror's digests.

use crate::cli::PinArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use site::pin::{pin_text, Mapping, PinResult};

/// The largest YAML file read.
const MAX_FILE: u64 = 16 * 1024 * 1024;

#[derive(serde::Serialize)]
struct FileReport {
    path: String,
    #[serde(flatten)]
    result: Option<PinResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: PinArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.mapping).with_context(|| format!("cannot read {}", args.mapping.display()))?;
    let mapping = Mapping::parse(&text).with_context(|| format!("mapping {}", args.mapping.display()))?;
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, path, &mut files)?;
    }
    if !args.in_place && args.output_dir.is_none() && files.len() != 1 {
        bail!("{} files: give --in-place or --output DIR (stdout takes one file)", files.len());
    }
    let mut reports = Vec::new();
    for (root, file) in &files {
        let result = std::fs::metadata(file)
            .map_err(anyhow::Error::from)
            .and_then(|m| if m.len() > MAX_FILE { bail!("larger than {MAX_FILE} bytes") } else { Ok(()) })
            .and_then(|()| std::fs::read_to_string(file).map_err(anyhow::Error::from))
            .and_then(|text| pin_text(&text, &mapping).map_err(anyhow::Error::from));
        let (result, error) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        reports.push((root.clone(), file.clone(), FileReport { path: file.display().to_string(), result, error }));
    }
    let failed = reports.iter().any(|(_, _, r)| r.error.is_some() || r.result.as_ref().is_some_and(|p| !p.unknown.is_empty()));
    // Fail closed: nothing is written while anything is unknown, unless allowed.
    let write = !failed || (args.allow_unknown && reports.iter().all(|(_, _, r)| r.error.is_none()));
    if write {
        for (root, file, report) in &reports {
            let Some(result) = &report.result else { continue };
            if args.in_place {
                if !result.rewrites.is_empty() {
                    write_atomically(file, &result.text)?;
                }
            } else if let Some(out) = &args.output_dir {
                let relative = if root == file { PathBuf::from(file.file_name().unwrap_or_default()) } else { file.strip_prefix(root).unwrap_or(file).to_path_buf() };
                let dest = out.join(relative);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
                }
                write_atomically(&dest, &result.text)?;
            } else {
                print!("{}", result.text);
            }
        }
    }
    let to_stdout = !args.in_place && args.output_dir.is_none();
    match args.report {
        Format::Json if !to_stdout => print_json(&reports.iter().map(|(_, _, r)| r).collect::<Vec<_>>())?,
        _ => {
            for (_, _, report) in &reports {
                if let Some(e) = &report.error {
                    eprintln!("{}: not rewritten: {e}", report.path);
                }
                let Some(result) = &report.result else { continue };
                for r in &result.rewrites {
                    eprintln!("{}:{}: {} -> {}", report.path, r.line, r.from, r.to);
                }
                for u in &result.unknown {
                    eprintln!("{}:{}: UNKNOWN {}: {}", report.path, u.line, u.reference, u.reason);
                }
            }
            if failed && !write {
                eprintln!("airlock: pin: nothing written: unknown references or unreadable files (see above; --allow-unknown writes the rest)");
            }
        }
    }
    Ok(if failed { Outcome::Refused } else { Outcome::Success })
}

/// `path` itself, or every *.yaml / *.yml under it (symlinks and hidden
/// directories skipped; a Helm chart's `templates/` skipped, as templates
/// are not YAML until rendered).
fn collect(root: &Path, path: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_file() || (path == root && !meta.is_dir()) {
        out.push((root.to_path_buf(), path.to_path_buf()));
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let is_chart = path.join("Chart.yaml").is_file();
    let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        if name.starts_with('.') || kind.is_symlink() || (is_chart && name == "templates") {
            continue;
        }
        if kind.is_dir() {
            collect(root, &entry.path(), out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push((root.to_path_buf(), entry.path()));
        }
    }
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("airlock-pin.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}
