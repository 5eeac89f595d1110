//! `airlock`: carry container images into air-gapped networks and prove,
//! offline, that they are exactly what their publishers signed.
//!
//! This binary is flags plus glue: each `cmd/` file builds typed inputs,
//! calls one library function and renders the result. Exit codes are in
//! [`exit`].

mod cli;
mod cmd;
mod exit;
mod output;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            // Each cause once: many library errors already print their source.
            eprintln!("airlock: {}", oci::error_chain(error.as_ref()));
            exit::Outcome::CouldNotRun.into()
        }
    }
}
