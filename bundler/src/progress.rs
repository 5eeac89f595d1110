//! Progress, reported through airlock's one interface (the `progress`
//! crate): the library never prints; the CLI draws.

pub use progress::{NoProgress, Phase, Progress, Unit};
