//! Exit codes, documented in docs/commands.md.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything verified (or the command succeeded): exit 0.
    Success,
    /// Evidence was refused or a policy was not met: exit 1.
    Refused,
    /// The command could not run: bad usage, unreadable input, unusable
    /// trust material: exit 2.
    CouldNotRun,
    /// `load --partial` pushed the images that passed and left others out:
    /// exit 3, so a script never mistakes a partial import for a complete
    /// one (0) or for one where nothing was pushed (1).
    Partial,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Refused => 1,
            Outcome::CouldNotRun => 2,
            Outcome::Partial => 3,
        })
    }
}

impl Outcome {
    /// The outcome for a verification error: the environment's fault is
    /// "could not run", anything about the evidence is "refused".
    pub fn for_error(error: &verifier::Error) -> Self {
        match error.kind() {
            verifier::ErrorKind::Environment => Self::CouldNotRun,
            _ => Self::Refused,
        }
    }

    /// The outcome for a trust-material error: I/O, network and usage are
    /// "could not run"; everything the TUF checks refuse is "refused".
    pub fn for_trust_error(error: &trust_roots::Error) -> Self {
        match error.kind() {
            trust_roots::ErrorKind::Environment => Self::CouldNotRun,
            _ => Self::Refused,
        }
    }

    /// The outcome for an advisories error: I/O, network and usage are
    /// "could not run"; data that was refused is "refused".
    pub fn for_advisories_error(error: &advisories::Error) -> Self {
        match error.kind() {
            advisories::ErrorKind::Environment => Self::CouldNotRun,
            _ => Self::Refused,
        }
    }
}
