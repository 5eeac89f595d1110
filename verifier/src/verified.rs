//! Proof that a value came out of a verification step.

use std::ops::Deref;

/// A value that only this crate's checks can produce.
///
/// There is no public constructor and no `Deserialize`: holding a
/// `Verified<T>` means a function in [`crate::check`] established it. Read it
/// through `Deref`; serialise it into reports like the `T` it wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }

    /// Give up the marker and keep the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::Serialize> serde::Serialize for Verified<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}
