//! `airlock serve`.

use crate::exit::Outcome;

pub fn run(_args: crate::cli::ServeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not yet")
}
