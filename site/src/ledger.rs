//! Recording an import in the site's ledger (`--state DIR`): the write half
//! of `verifier::ledger`, which defines the record and reads it to check an
//! incremental bundle's chain.

use crate::{Error, Result};
use verifier::ledger::{ImportRecord, Ledger};
use verifier::verify::VerifiedBundle;

/// Record `bundle` as imported at `imported`, after a complete load: every
/// blob it carried or inherited is then at the site, which a later
/// increment may rely on. Written to a temporary file and renamed, so a
/// crash never leaves half a record.
pub fn record(ledger: &Ledger, bundle: &VerifiedBundle, imported: jiff::Timestamp) -> Result<ImportRecord> {
    let content = bundle.content();
    let record = ImportRecord::new(&content.manifest.id, &content.manifest.manifest, imported);
    let path = ledger.record_path(&content.manifest.id);
    let io_error = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let partial = path.with_extension("json.partial");
    let bytes = serde_json::to_vec_pretty(&record).expect("record serialises");
    std::fs::write(&partial, bytes).map_err(io_error(&partial))?;
    std::fs::rename(&partial, &path).map_err(io_error(&path))?;
    Ok(record)
}
