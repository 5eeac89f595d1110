//! `airlock pin`.

use crate::exit::Outcome;

pub fn run(_args: crate::cli::PinArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not yet")
}
