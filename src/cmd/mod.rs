//! One file per subcommand.

mod advisories;
mod audit;
mod bundle;
mod common;
mod inspect;
mod key;
mod load;
mod pin;
mod policy;
mod sbom;
mod scan;
mod scan_bundle;
mod serve;
mod trust;
mod verify;
mod verify_blob;
mod verify_image;

use crate::cli::{AdvisoriesCommand, AuditCommand, BundleCommand, Cli, Command, KeyCommand, PolicyCommand, TrustCommand};
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
        Command::Advisories(AdvisoriesCommand::Fetch(args)) => advisories::fetch(args),
        Command::Scan(args) => scan::run(args),
        Command::Bundle(BundleCommand::Create(args)) => bundle::create(args),
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(args),
        Command::Key(KeyCommand::Generate(args)) => key::generate(args),
        Command::Load(args) => load::run(args),
        Command::VerifyImage(args) => verify_image::run(args),
        Command::Policy(PolicyCommand::Export(args)) => policy::export(args),
        Command::Pin(args) => pin::run(args),
        Command::Serve(args) => serve::run(args),
    }
}
