//! airlock's transfer bundle, read side. The format is specified in
//! docs/bundle-format.md; this module is its reference reader, and the
//! bundler writes bundles through the same types.

pub mod archive;
pub mod confined;
pub mod content;
pub mod layout;
pub mod manifest;
pub mod transfer;
pub mod volumes;
