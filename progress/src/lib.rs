//! airlock's one progress interface. Libraries never print: long work
//! (`bundle create`'s phases, a copy's blobs, `verify`'s hashing, `load`'s
//! push, `trust fetch`) reports [`Event`]s to a [`Progress`], and the CLI
//! draws them (bars on a terminal, a line per phase otherwise, nothing
//! with `--quiet`). [`bytes`] is the one way sizes are written for people.
//!
//! A crate of its own, depending on nothing of airlock's, so that every
//! crate (`oci`, `trust-roots` included) can report through it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

/// A named stretch of work, in the order the commands run them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Phase {
    /// Fetching (or reading) the trust material.
    Trust,
    /// Resolving every reference to a digest and walking indexes.
    Resolve,
    /// Finding signatures, attestations, SBOMs and referrers.
    Collect,
    /// Copying evidence blobs (what the self-check reads) into the layout.
    Evidence,
    /// Copying image configs and layers into a directory bundle.
    Fetch,
    /// Fetching Rekor entries and verifying every signature and proof.
    Verify,
    /// Writing index.json, SBOMs, the manifest and its signature.
    Write,
    /// Writing the archive (and volumes), fetching image configs and
    /// layers as it goes.
    Archive,
    /// Hashing a bundle's blobs against its manifest.
    Check,
    /// Pushing verified images into the site's registry or layout.
    Push,
}

impl Phase {
    /// The phase's name in progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Resolve => "resolve",
            Self::Collect => "collect",
            Self::Evidence => "evidence",
            Self::Fetch => "fetch",
            Self::Verify => "verify",
            Self::Write => "write",
            Self::Archive => "archive",
            Self::Check => "check",
            Self::Push => "push",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The unit a phase counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Items (images, manifests, signatures, files).
    Items,
    /// Bytes.
    Bytes,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A phase starts; `total` is how much work it has, in `unit`.
    Start {
        /// The phase.
        phase: Phase,
        /// Work to do.
        total: u64,
        /// What `total` counts.
        unit: Unit,
    },
    /// `n` more of the current phase is done (bytes streamed, or a blob
    /// found present counted whole, or items).
    Advance(u64),
    /// Something worth a line (a blob reused, a retry, a platform left out).
    Note(&'a str),
    /// The phase is over.
    Finish(Phase),
}

/// Hears events. Implementations must be cheap, must not block, and are
/// called from several tasks at once. The provided methods are shorthand
/// for [`Progress::event`].
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, event: Event<'_>);

    /// [`Event::Start`].
    fn start(&self, phase: Phase, total: u64, unit: Unit) {
        self.event(Event::Start { phase, total, unit });
    }

    /// [`Event::Advance`].
    fn advance(&self, n: u64) {
        self.event(Event::Advance(n));
    }

    /// [`Event::Note`].
    fn note(&self, message: &str) {
        self.event(Event::Note(message));
    }

    /// [`Event::Finish`].
    fn finish(&self, phase: Phase) {
        self.event(Event::Finish(phase));
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: Event<'_>) {}
}

/// `n` bytes for people, in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
/// The one formatter of sizes in airlock's output (progress, text reports).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn shorthand_sends_events() {
        struct Last(std::sync::Mutex<Vec<String>>);
        impl Progress for Last {
            fn event(&self, event: Event<'_>) {
                self.0.lock().unwrap().push(format!("{event:?}"));
            }
        }
        let p = Last(Default::default());
        p.start(Phase::Push, 3, Unit::Items);
        p.advance(2);
        p.note("hi");
        p.finish(Phase::Push);
        assert_eq!(
            *p.0.lock().unwrap(),
            ["Start { phase: Push, total: 3, unit: Items }", "Advance(2)", "Note(\"hi\")", "Finish(Push)"]
        );
    }
}
