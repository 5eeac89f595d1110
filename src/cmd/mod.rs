//! One file per subcommand.

mod bundle;
mod inspect;
mod sbom;
mod shared;
mod trust;
mod verify;
mod verify_blob;

use crate::cli::{BundleCommand, Cli, Command, TrustCommand};
use crate::exit::Outcome;

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::VerifyBlob(args) => verify_blob::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Sbom(command) => sbom::run(command),
        Command::Trust(TrustCommand::Fetch(args)) => trust::fetch(args),
        Command::Trust(TrustCommand::Verify(args)) => trust::verify(args),
        Command::Bundle(BundleCommand::Create(args)) => bundle::create(args),
    }
}
