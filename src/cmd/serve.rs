//! `airlock serve`: a read-only registry over a verified bundle or a store.

use crate::cli::ServeArgs;
use crate::exit::Outcome;
use anyhow::Context;
use std::io::Write;
use verifier::store::BundleStore;

pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    // Decisions about exposure come first, before any work.
    serve::check_listen(&args.listen, args.tls_cert.is_some(), args.insecure_http)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::tls_config(cert, key)?),
        _ => None,
    };
    let htpasswd = args.htpasswd.as_deref().map(serve::Htpasswd::from_file).transpose()?;
    let options = serve::ServeOptions { tls, htpasswd };
    let runtime = super::common::runtime()?;
    if let Some(path) = args.source.strip_prefix("dir:") {
        let layout = oci::Layout::open(path).with_context(|| format!("store {path}"))?;
        let roots = layout.repository_roots();
        let catalog = runtime.block_on(serve::Catalog::build(&layout, &roots))?;
        return listen(&runtime, &args, layout, catalog, options);
    }
    // A bundle is served only once it has verified, every image of it.
    let verified = super::verify::verify(std::path::Path::new(&args.source), &args.verify)?;
    let Some(bundle) = &verified.verification.verified else {
        eprint!("{}", verified.verification.report.to_text());
        eprintln!("airlock: serve: {} did not verify: not served", args.source);
        return Ok(Outcome::Refused);
    };
    let store = BundleStore::verified(bundle);
    let roots = runtime.block_on(site::load::bundle_roots(&store))?;
    let catalog = runtime.block_on(serve::Catalog::build(&store, &roots))?;
    listen(&runtime, &args, store, catalog, options)
}

fn listen<S: oci::Store + 'static>(
    runtime: &tokio::runtime::Runtime,
    args: &ServeArgs,
    store: S,
    catalog: serve::Catalog,
    options: serve::ServeOptions,
) -> anyhow::Result<Outcome> {
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let repositories = catalog.repositories().count();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        println!("listening on {scheme}://{address} ({repositories} repositories, read-only)");
        std::io::stdout().flush()?;
        tokio::select! {
            result = serve::serve(listener, store, catalog, options) => result.map_err(anyhow::Error::from),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    Ok(Outcome::Success)
}
