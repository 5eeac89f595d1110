//! `airlock policy export`.

use crate::exit::Outcome;

pub fn export(_args: crate::cli::PolicyExportArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not yet")
}
