//! Role and target names as file names and URL paths.
//!
//! Role names and target paths come from signed metadata but are chosen by
//! whoever holds a delegation key, so they are hostile input for file
//! systems and URLs. Both are percent-encoded like python-tuf's
//! `urllib.parse.quote`: every byte outside RFC 3986's unreserved set is
//! escaped, so an encoded name is one path component that can never be
//! `..`-relative or absolute.

use crate::error::{Error, Result};

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A role name as it appears in metadata file names and URLs
/// (`/` escaped too), exactly as python-tuf quotes it.
pub(crate) fn quote(name: &str) -> String {
    encode(name, false)
}

/// A target's file name in a snapshot or target directory: one quoted
/// component. The names that would still be special (`""`, `.`, `..`) are
/// refused.
pub(crate) fn target_file(name: &str) -> Result<String> {
    match name {
        "" | "." | ".." => Err(Error::UnsafeName {
            what: "target",
            name: name.to_string(),
            reason: "not a file name",
        }),
        _ => Ok(quote(name)),
    }
}

/// A URL path for a target (`/` kept, everything else outside the
/// unreserved set escaped).
pub(crate) fn quote_path(path: &str) -> String {
    encode(path, true)
}

/// Decode a [`quote`]d file name, accepting only the canonical encoding
/// (so each target has exactly one file name).
pub(crate) fn unquote(file_name: &str) -> Result<String> {
    let refuse = |reason| Error::UnsafeName {
        what: "target",
        name: file_name.to_string(),
        reason,
    };
    let bytes = file_name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = file_name
                .get(i + 1..i + 3)
                .ok_or_else(|| refuse("truncated escape"))?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| refuse("bad escape"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).map_err(|_| refuse("not UTF-8"))?;
    if target_file(&name).ok().as_deref() != Some(file_name) {
        return Err(refuse("not the canonical encoding of a target name"));
    }
    Ok(name)
}

/// The metadata file name a targets role is published under.
pub(crate) fn role_file(role: &str, version: Option<u64>) -> String {
    match version {
        Some(v) => format!("{v}.{}.json", quote(role)),
        None => format!("{}.json", quote(role)),
    }
}

/// The repository path of a target: with consistent snapshots the hash
/// prefixes the file name, not the directory (`a/b/<hash>.name`).
pub(crate) fn target_repo_path(name: &str, hash: Option<&str>) -> String {
    match hash {
        None => quote_path(name),
        Some(hash) => match name.rsplit_once('/') {
            Some((dir, base)) => quote_path(&format!("{dir}/{hash}.{base}")),
            None => quote_path(&format!("{hash}.{name}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_safe_component() {
        for (name, file) in [
            ("targets", "targets"),
            ("registry.npmjs.org", "registry.npmjs.org"),
            ("../delegatedrole", "..%2Fdelegatedrole"),
            ("/delegatedrole", "%2Fdelegatedrole"),
            ("?", "%3F"),
            ("#", "%23"),
            ("a b/ü", "a%20b%2F%C3%BC"),
        ] {
            assert_eq!(target_file(name).unwrap(), file, "{name}");
            assert!(!file.contains('/'));
            assert_eq!(unquote(file).unwrap(), name);
        }
        for special in ["", ".", ".."] {
            assert!(target_file(special).is_err());
            assert!(unquote(special).is_err());
        }
    }

    #[test]
    fn non_canonical_file_names_are_refused() {
        for bad in ["%2", "%zz", "%61bc", "a%2fb", "%FF", "a/b", "a b", "%2E%2E"] {
            assert!(unquote(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consistent_target_paths_prefix_the_file_name() {
        assert_eq!(
            target_repo_path("trusted_root.json", Some("ab")),
            "ab.trusted_root.json"
        );
        assert_eq!(target_repo_path("a/b/c.txt", Some("ab")), "a/b/ab.c.txt");
        assert_eq!(
            target_repo_path("nonexistent artifact", None),
            "nonexistent%20artifact"
        );
        assert_eq!(role_file("../x", Some(3)), "3...%2Fx.json");
    }
}
