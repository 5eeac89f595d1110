//! One file per subcommand.

mod verify_blob;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::VerifyBlob(args) => verify_blob::run(args),
    }
}
