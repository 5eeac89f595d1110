//! Policy gates an image can be refused by beyond its signatures, each a
//! decision of its own so a site's break-glass procedure can name the one
//! it waives.

use super::eval::Failure;
use crate::Check;

/// A waivable policy gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Gate {
    /// `spec.vulnerabilities`: the image's SBOM packages have advisories
    /// the deny rule catches (or it could not be scanned).
    Vulnerabilities,
}

impl Gate {
    /// The gate that refused an image, when its failure is a gate's.
    pub fn of_failure(failure: &Failure) -> Option<Self> {
        (failure.check == Some(Check::Vulnerabilities.name())).then_some(Self::Vulnerabilities)
    }
}
