//! Writing transfer media: the image layout and its `index.json`
//! ([`layout`]), the bundle manifest and its transfer signature
//! ([`manifest`]), the archive and its compression ([`archive`]), and
//! split volumes ([`split`]).

pub mod archive;
pub mod layout;
pub mod manifest;
pub mod split;
