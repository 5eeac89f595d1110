//! `airlock-tuf-client`: the tuf-conformance client-under-test.
//!
//! Implements the suite's CLI contract (CLIENT-CLI.md) exactly: flags plus
//! one call into `trust_roots::client`. Exit 0 on success, 1 on any failure
//! (usage errors included). Expiry is evaluated at the system clock, read
//! through glibc, so the suite's `faketime` can move it.
//!
//! ```text
//! airlock-tuf-client --metadata-dir DIR init ROOT_FILE
//! airlock-tuf-client --metadata-url URL --metadata-dir DIR refresh
//! airlock-tuf-client --metadata-url URL --metadata-dir DIR --target-name P \
//!     [--target-name P2 ...] --target-dir DIR --target-base-url URL download
//! ```

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trust_roots::client::{self, TufClient};
use trust_roots::ReferenceTime;

#[derive(Debug, Parser)]
#[command(name = "airlock-tuf-client", version)]
struct Cli {
    /// Where the client keeps the metadata it trusts.
    #[arg(long, value_name = "DIR", global = true)]
    metadata_dir: Option<PathBuf>,
    /// The repository's metadata base URL.
    #[arg(long, value_name = "URL", global = true)]
    metadata_url: Option<String>,
    /// A target path to download (repeatable).
    #[arg(long = "target-name", value_name = "PATH", global = true)]
    target_names: Vec<String>,
    /// Where downloaded targets are stored.
    #[arg(long, value_name = "DIR", global = true)]
    target_dir: Option<PathBuf>,
    /// The repository's targets base URL.
    #[arg(long, value_name = "URL", global = true)]
    target_base_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Trust ROOT_FILE on first use.
    Init {
        /// The initial root.json.
        root_file: PathBuf,
    },
    /// Update the top-level metadata.
    Refresh,
    /// Refresh, then download and verify the targets.
    Download,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(1);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlock-tuf-client: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let need = |flag: &str| anyhow::anyhow!("{flag} is required");
    let metadata_dir = cli.metadata_dir.ok_or_else(|| need("--metadata-dir"))?;
    let client = || -> anyhow::Result<TufClient> {
        let url = cli
            .metadata_url
            .as_deref()
            .ok_or_else(|| need("--metadata-url"))?;
        let mut client = TufClient::new(&metadata_dir, url);
        if let Some(base) = &cli.target_base_url {
            client = client.with_target_base_url(base);
        }
        Ok(client)
    };
    let now = || ReferenceTime::local_clock(jiff::Timestamp::now());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Init { root_file } => client::init(&metadata_dir, &root_file)?,
        Command::Refresh => runtime.block_on(client()?.refresh(now()))?,
        Command::Download => {
            if cli.target_names.is_empty() {
                return Err(need("--target-name"));
            }
            let target_dir = cli
                .target_dir
                .as_deref()
                .ok_or_else(|| need("--target-dir"))?;
            runtime.block_on(client()?.download(&cli.target_names, target_dir, now()))?
        }
    }
    Ok(())
}
