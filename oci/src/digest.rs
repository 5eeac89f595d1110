//! Content digests as values, and verification while streaming.

use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

/// A digest algorithm registered by the OCI image specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the algorithm every OCI implementation supports.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `algorithm:encoded` strings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of a digest in bytes.
    #[allow(clippy::len_without_is_empty)] // an algorithm is never "empty"
    pub fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Why a string or a stream did not match a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The string is not `algorithm:hex`.
    #[error("malformed digest {0:?}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>")]
    Malformed(String),
    /// The algorithm is not one airlock accepts.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// Content hashed to another value.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    Mismatch {
        /// The digest the content was supposed to have.
        expected: Digest,
        /// What it actually hashed to.
        actual: Digest,
    },
    /// Content was longer or shorter than its declared size.
    #[error("size mismatch for {digest}: expected {expected} bytes, read {actual}")]
    SizeMismatch {
        /// The digest of the content being read.
        digest: Digest,
        /// Declared size.
        expected: u64,
        /// Bytes actually read (for an overlong stream: the first byte past the limit).
        actual: u64,
    },
}

/// A content digest, such as `sha256:2c26b4…`.
///
/// The only way to build one is to parse a well-formed string or to hash
/// content, so a `Digest` is always valid.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    bytes: Box<[u8]>,
}

impl Digest {
    /// Wrap raw digest bytes. Fails if the length does not fit the algorithm.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, DigestError> {
        if bytes.len() != algorithm.len() {
            return Err(DigestError::Malformed(format!(
                "{}:{}",
                algorithm.name(),
                hex::encode(bytes)
            )));
        }
        Ok(Self {
            algorithm,
            bytes: bytes.into(),
        })
    }

    /// The SHA-256 digest of `content`.
    pub fn sha256_of(content: &[u8]) -> Self {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        hasher.update(content);
        hasher.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The lowercase hex encoding (the part after the colon).
    pub fn hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// The cosign tag prefix for this digest: `sha256-<hex>`.
    pub fn tag_form(&self) -> String {
        format!("{}-{}", self.algorithm.name(), self.hex())
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, encoded) = s
            .split_once(':')
            .ok_or_else(|| DigestError::Malformed(s.to_string()))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => return Err(DigestError::UnsupportedAlgorithm(other.to_string())),
        };
        // The OCI spec requires lowercase hex; accepting upper case would give
        // one blob two names.
        let well_formed = encoded.len() == algorithm.len() * 2
            && encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(DigestError::Malformed(s.to_string()));
        }
        let bytes = hex::decode(encoded).map_err(|_| DigestError::Malformed(s.to_string()))?;
        Self::from_bytes(algorithm, &bytes)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

serde_via_str!(Digest);

/// The read size for hashing streams. Measured (`scripts/bench.sh verify`):
/// 64 KiB reads keep the kernel's copy and the hash inside the CPU caches;
/// 1 MiB reads spent five times more system time for the same bytes.
pub const IO_CHUNK: usize = 64 * 1024;

/// An incremental hash for one [`Algorithm`].
#[derive(Clone)]
pub struct Hasher(HasherState);

#[derive(Clone)]
enum HasherState {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hash state.
    pub fn new(algorithm: Algorithm) -> Self {
        Self(match algorithm {
            Algorithm::Sha256 => HasherState::Sha256(Sha256::new()),
            Algorithm::Sha512 => HasherState::Sha512(Sha512::new()),
        })
    }

    /// Absorb bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherState::Sha256(h) => h.update(data),
            HasherState::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything absorbed.
    pub fn finish(self) -> Digest {
        let (algorithm, bytes): (Algorithm, Box<[u8]>) = match self.0 {
            HasherState::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec().into()),
            HasherState::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec().into()),
        };
        Digest { algorithm, bytes }
    }

    /// Hash a whole stream in fixed-size chunks; returns the digest and length.
    pub fn digest_reader(algorithm: Algorithm, mut reader: impl Read) -> io::Result<(Digest, u64)> {
        let mut hasher = Self::new(algorithm);
        let mut buf = vec![0u8; IO_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((hasher.finish(), total))
    }
}

/// The check both verifying readers share: count and hash what passes,
/// refuse the first byte past the declared size, compare at end of stream.
struct StreamCheck {
    expected: Digest,
    expected_size: u64,
    hasher: Option<Hasher>,
    read: u64,
}

impl StreamCheck {
    fn new(expected: Digest, expected_size: u64) -> Self {
        let hasher = Some(Hasher::new(expected.algorithm()));
        Self {
            expected,
            expected_size,
            hasher,
            read: 0,
        }
    }

    /// How many bytes to ask the inner reader for, given a buffer of `len`:
    /// one more than the remaining allowance, so an overlong stream is
    /// noticed without returning the excess to the caller.
    fn allowance(&self, len: usize) -> usize {
        let remaining = self.expected_size - self.read.min(self.expected_size);
        len.min(usize::try_from(remaining + 1).unwrap_or(usize::MAX))
    }

    fn size_error(&self, actual: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            DigestError::SizeMismatch {
                digest: self.expected.clone(),
                expected: self.expected_size,
                actual,
            },
        )
    }

    /// Account for `data` just read (empty at end of stream).
    fn accept(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return self.check_at_eof();
        }
        let total = self.read + data.len() as u64;
        if total > self.expected_size {
            return Err(self.size_error(total));
        }
        self.read = total;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(data);
        }
        Ok(())
    }

    fn check_at_eof(&mut self) -> io::Result<()> {
        let Some(hasher) = self.hasher.take() else {
            return Ok(());
        };
        if self.read != self.expected_size {
            return Err(self.size_error(self.read));
        }
        let actual = hasher.finish();
        if actual != self.expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                DigestError::Mismatch {
                    expected: self.expected.clone(),
                    actual,
                },
            ));
        }
        Ok(())
    }
}

/// A reader that hashes what passes through it and, at end of stream, fails
/// unless the content matched the expected digest and size.
///
/// It never yields more than `expected_size` bytes: an overlong stream is an
/// error as soon as it goes past the limit, so a hostile source cannot make a
/// consumer buffer or write without bound. Consumers must read to EOF; the
/// check happens there.
pub struct DigestReader<R> {
    inner: R,
    check: StreamCheck,
}

impl<R: Read> DigestReader<R> {
    /// Verify `inner` against `expected` and `expected_size` while it is read.
    pub fn new(inner: R, expected: Digest, expected_size: u64) -> Self {
        Self {
            inner,
            check: StreamCheck::new(expected, expected_size),
        }
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let want = self.check.allowance(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        self.check.accept(&buf[..n])?;
        Ok(n)
    }
}

/// [`DigestReader`] for async readers: the same checks, for tokio's
/// [`AsyncRead`](tokio::io::AsyncRead).
pub struct AsyncDigestReader<R> {
    inner: R,
    check: StreamCheck,
}

impl<R> AsyncDigestReader<R> {
    /// Verify `inner` against `expected` and `expected_size` while it is read.
    pub fn new(inner: R, expected: Digest, expected_size: u64) -> Self {
        Self {
            inner,
            check: StreamCheck::new(expected, expected_size),
        }
    }
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for AsyncDigestReader<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let this = &mut *self;
        let want = this.check.allowance(buf.remaining());
        let unfilled = buf.initialize_unfilled_to(want);
        let mut limited = tokio::io::ReadBuf::new(unfilled);
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, &mut limited) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                this.check.accept(&limited.filled()[..n])?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str =
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn parses_and_displays_round_trip() {
        let d: Digest = HELLO_SHA256.parse().unwrap();
        assert_eq!(d.to_string(), HELLO_SHA256);
        assert_eq!(d, Digest::sha256_of(b"hello"));
        assert_eq!(d.tag_form(), HELLO_SHA256.replace(':', "-"));
    }

    #[test]
    fn refuses_malformed_digests() {
        for bad in [
            "sha256",
            "sha256:",
            "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982",
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98244",
            "sha256:zcf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ] {
            assert!(matches!(bad.parse::<Digest>(), Err(DigestError::Malformed(_))), "{bad}");
        }
        for unsupported in [
            "md5:00",
            " sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ] {
            assert!(matches!(
                unsupported.parse::<Digest>(),
                Err(DigestError::UnsupportedAlgorithm(_))
            ));
        }
    }

    fn read_all(reader: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut reader = reader;
        reader.read_to_end(&mut out)?;
        Ok(out)
    }

    fn inner_error(e: io::Error) -> DigestError {
        e.into_inner()
            .and_then(|e| e.downcast::<DigestError>().ok())
            .map(|e| *e)
            .expect("a DigestError")
    }

    #[test]
    fn digest_reader_accepts_matching_content() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(read_all(DigestReader::new(&b"hello"[..], d, 5)).unwrap(), b"hello");
    }

    #[test]
    fn digest_reader_refuses_changed_content() {
        let d = Digest::sha256_of(b"hello");
        let err = read_all(DigestReader::new(&b"hellp"[..], d, 5)).unwrap_err();
        assert!(matches!(inner_error(err), DigestError::Mismatch { .. }));
    }

    #[test]
    fn digest_reader_refuses_short_and_long_content() {
        let d = Digest::sha256_of(b"hello");
        let short = read_all(DigestReader::new(&b"hell"[..], d.clone(), 5)).unwrap_err();
        assert!(matches!(inner_error(short), DigestError::SizeMismatch { actual: 4, .. }));
        let long = read_all(DigestReader::new(&b"hello!"[..], d, 5)).unwrap_err();
        assert!(matches!(inner_error(long), DigestError::SizeMismatch { actual: 6, .. }));
    }

    #[test]
    fn digest_reader_never_yields_past_the_declared_size() {
        let d = Digest::sha256_of(b"hello");
        let mut reader = DigestReader::new(&b"hello and much more"[..], d, 5);
        let mut buf = [0u8; 64];
        // The overlong stream is refused on the read that crosses the limit,
        // before any byte past it reaches the caller.
        let err = reader.read(&mut buf).unwrap_err();
        assert!(matches!(inner_error(err), DigestError::SizeMismatch { .. }));
    }

    async fn read_all_async(reader: impl tokio::io::AsyncRead + Unpin) -> io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let mut reader = reader;
        reader.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn async_digest_reader_checks_like_the_sync_one() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(read_all_async(AsyncDigestReader::new(&b"hello"[..], d.clone(), 5)).await.unwrap(), b"hello");
        let e = read_all_async(AsyncDigestReader::new(&b"hellp"[..], d.clone(), 5)).await.unwrap_err();
        assert!(matches!(inner_error(e), DigestError::Mismatch { .. }));
        let e = read_all_async(AsyncDigestReader::new(&b"hell"[..], d.clone(), 5)).await.unwrap_err();
        assert!(matches!(inner_error(e), DigestError::SizeMismatch { actual: 4, .. }));
        let e = read_all_async(AsyncDigestReader::new(&b"hello!!!"[..], d, 5)).await.unwrap_err();
        assert!(matches!(inner_error(e), DigestError::SizeMismatch { .. }));
    }
}
