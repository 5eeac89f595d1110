//! Policy gates and break-glass.
//!
//! A [`Gate`] is a *policy* reason to refuse an image: the site chose not to
//! admit it (no rule covers it, its registry is not approved, the evidence
//! a rule asks for is absent, its vulnerabilities). A gate can be waived in
//! an emergency with break-glass ([`BreakGlass`]), recorded per image as a
//! [`Waiver`]. Integrity is never a gate: a digest, archive, transfer
//! signature or cryptographic failure (a signature that is present and does
//! not verify, a certificate that does not chain, a signer the policy does
//! not name) refuses the image whatever the operator says.
//!
//! The policy decides whether break-glass is available at all and for which
//! gates and rules ([`BreakGlassPolicy`], `spec.breakGlass`).

use std::collections::BTreeSet;
use std::fmt;

/// A policy gate: a refusal break-glass may waive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Gate {
    /// No policy rule matches the image.
    UnmatchedImage,
    /// The image's registry (and repository) is not in `spec.allowedRegistries`.
    AllowedRegistries,
    /// A rule requires a signature and the bundle carries none for the image.
    MissingSignature,
    /// A rule requires an attestation and the bundle carries none of that kind.
    MissingAttestation,
    /// A rule requires an SBOM and the bundle carries none for the image.
    MissingSbom,
    /// The vulnerability gate (`spec.vulnerabilities`) refused the image.
    Vulnerabilities,
}

impl Gate {
    /// Every gate, in order.
    pub const ALL: [Gate; 6] = [
        Self::UnmatchedImage,
        Self::AllowedRegistries,
        Self::MissingSignature,
        Self::MissingAttestation,
        Self::MissingSbom,
        Self::Vulnerabilities,
    ];

    /// The name policies and reports use (`allowedRegistries`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::UnmatchedImage => "unmatchedImage",
            Self::AllowedRegistries => "allowedRegistries",
            Self::MissingSignature => "missingSignature",
            Self::MissingAttestation => "missingAttestation",
            Self::MissingSbom => "missingSbom",
            Self::Vulnerabilities => "vulnerabilities",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One gate an image failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateFailure {
    /// The gate.
    pub gate: Gate,
    /// The rule it failed under, when a rule asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

/// `spec.breakGlass`: whether and for what an operator may break glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassPolicy {
    /// `false` forbids break-glass (`allowed: false`).
    pub allowed: bool,
    /// Only these gates may be waived (all when `None`).
    pub gates: Option<BTreeSet<Gate>>,
    /// Only failures under these rules may be waived (any rule when
    /// `None`). Gates no rule raises (an unmatched image, the registry
    /// allowlist) are governed by `gates` alone.
    pub rules: Option<BTreeSet<String>>,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        Self { allowed: true, gates: None, rules: None }
    }
}

impl BreakGlassPolicy {
    /// Why this failure may not be waived, or `None` when it may.
    pub fn forbids(&self, failure: &GateFailure) -> Option<String> {
        if !self.allowed {
            return Some("the policy forbids break-glass (spec.breakGlass.allowed: false)".into());
        }
        if let Some(gates) = &self.gates {
            if !gates.contains(&failure.gate) {
                return Some(format!("the policy does not let break-glass waive the {} gate", failure.gate));
            }
        }
        match (&self.rules, &failure.rule) {
            (Some(rules), Some(rule)) if !rules.contains(rule) => {
                Some(format!("the policy does not let break-glass waive rule {rule:?}"))
            }
            _ => None,
        }
    }
}

/// Longest break-glass reason kept, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;

/// An operator's request to admit images that fail policy gates. (It is
/// read back from the audit log, hence `Deserialize`: it is a record, not a
/// verified state.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakGlass {
    reason: String,
    operator: String,
    at: jiff::Timestamp,
}

/// Why a break-glass request is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BreakGlassError {
    /// The reason or operator is empty.
    #[error("break-glass needs a non-empty {0}")]
    Empty(&'static str),
    /// Longer than [`MAX_REASON_BYTES`].
    #[error("the break-glass {what} is longer than {MAX_REASON_BYTES} bytes")]
    TooLong {
        /// `reason` or `operator`.
        what: &'static str,
    },
    /// Control characters would let a reason forge lines in logs.
    #[error("the break-glass {what} contains a control character")]
    ControlCharacter {
        /// `reason` or `operator`.
        what: &'static str,
    },
}

impl BreakGlass {
    /// A request: why, who, and when (the caller's clock).
    pub fn new(reason: &str, operator: &str, at: jiff::Timestamp) -> Result<Self, BreakGlassError> {
        for (what, text) in [("reason", reason), ("operator", operator)] {
            if text.trim().is_empty() {
                return Err(BreakGlassError::Empty(what));
            }
            if text.len() > MAX_REASON_BYTES {
                return Err(BreakGlassError::TooLong { what });
            }
            if text.chars().any(char::is_control) {
                return Err(BreakGlassError::ControlCharacter { what });
            }
        }
        Ok(Self { reason: reason.trim().to_string(), operator: operator.trim().to_string(), at })
    }

    /// Why the operator broke glass.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Who.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// When.
    pub fn at(&self) -> jiff::Timestamp {
        self.at
    }
}

/// An image admitted by break-glass: the request and the gates it waived.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiver {
    /// The operator's request.
    #[serde(flatten)]
    pub request: BreakGlass,
    /// Every gate the image failed, now waived.
    pub waived: Vec<GateFailure>,
}

impl Waiver {
    /// The waived gates' names, each once, comma-separated (for annotations).
    pub fn gate_names(&self) -> String {
        let gates: BTreeSet<Gate> = self.waived.iter().map(|f| f.gate).collect();
        gates.iter().map(|g| g.name()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(gate: Gate, rule: Option<&str>) -> GateFailure {
        GateFailure { gate, rule: rule.map(str::to_string), reason: String::new() }
    }

    #[test]
    fn policy_limits_by_gate_and_rule() {
        let open = BreakGlassPolicy::default();
        assert!(open.forbids(&failure(Gate::UnmatchedImage, None)).is_none());
        let closed = BreakGlassPolicy { allowed: false, ..BreakGlassPolicy::default() };
        assert!(closed.forbids(&failure(Gate::UnmatchedImage, None)).is_some());
        let limited = BreakGlassPolicy {
            allowed: true,
            gates: Some([Gate::MissingAttestation, Gate::AllowedRegistries].into()),
            rules: Some(["apps".to_string()].into()),
        };
        assert!(limited.forbids(&failure(Gate::MissingAttestation, Some("apps"))).is_none());
        assert!(limited.forbids(&failure(Gate::MissingAttestation, Some("infra"))).is_some());
        assert!(limited.forbids(&failure(Gate::UnmatchedImage, None)).is_some());
        assert!(limited.forbids(&failure(Gate::AllowedRegistries, None)).is_none());
    }

    #[test]
    fn requests_are_checked() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert!(BreakGlass::new("outage", "alice", now).is_ok());
        assert_eq!(BreakGlass::new(" ", "alice", now), Err(BreakGlassError::Empty("reason")));
        assert_eq!(BreakGlass::new("x", "", now), Err(BreakGlassError::Empty("operator")));
        assert!(matches!(BreakGlass::new("a\nforged line", "alice", now), Err(BreakGlassError::ControlCharacter { .. })));
        assert!(BreakGlass::new(&"x".repeat(2000), "alice", now).is_err());
        for gate in Gate::ALL {
            assert_eq!(serde_json::to_value(gate).unwrap(), gate.name());
        }
    }
}
