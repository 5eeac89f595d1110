//! The TUF trusted-metadata state machine, with no I/O.
//!
//! [`TrustedSet`] holds the metadata airlock currently trusts and accepts new
//! metadata only through the checks of the TUF client workflow (spec §5.3 to
//! §5.6), evaluated at a [`ReferenceTime`] passed in by the caller. It
//! follows python-tuf's `TrustedMetadataSet` (the reference the
//! tuf-conformance suite is built on) step by step.
//!
//! What sigstore-tuf does here, and what we check ourselves (docs/trust.md
//! has the review): sigstore-tuf parses metadata (keeping the canonical
//! `signed` bytes), builds keys and verifies single signatures, and matches
//! delegation paths. This module owns the decisions: which keys count,
//! thresholds over *distinct* key material, keytype/scheme consistency,
//! versions, rollback, expiry (`>=`, as the spec says), pinned lengths and
//! hashes, with a named error for each. At the end of a chain,
//! [`second_opinion`] replays the accepted bytes through sigstore-tuf's own
//! `TrustedMetadataSet`, so a check either side forgets is still made.

use crate::error::{Error, Result};
use crate::time::ReferenceTime;
use sha2::{Digest as _, Sha256, Sha512};
use sigstore_tuf::{
    DelegatedRole, Key, MetaFile, Metadata, Role, Root, Snapshot, TargetFile, Targets, Timestamp,
};
use std::collections::{BTreeMap, BTreeSet};

/// Size and count bounds (endless-data and slow-walk protection).
///
/// Defaults are sigstore-tuf's `UpdaterConfig` (python-tuf's values), plus a
/// bound on delegated roles walked when a whole snapshot is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest root metadata file.
    pub root: u64,
    /// Largest timestamp metadata file.
    pub timestamp: u64,
    /// Largest snapshot metadata file (when the timestamp pins no length).
    pub snapshot: u64,
    /// Largest targets metadata file, top-level or delegated (when the
    /// snapshot pins no length).
    pub targets: u64,
    /// Largest target file.
    pub target: u64,
    /// Most root versions walked in one update.
    pub max_root_rotations: u32,
    /// Most targets roles visited while resolving one target (§5.7.2).
    pub max_delegations: u32,
    /// Most delegated roles loaded when a whole snapshot is walked.
    pub max_roles: u32,
}

impl Default for Limits {
    fn default() -> Self {
        let c = sigstore_tuf::UpdaterConfig::default();
        Self {
            root: c.root_max_length,
            timestamp: c.timestamp_max_length,
            snapshot: c.snapshot_max_length,
            targets: c.targets_max_length,
            target: c.target_max_length,
            max_root_rotations: c.max_root_rotations,
            max_delegations: c.max_delegations,
            max_roles: 1024,
        }
    }
}

/// Bytes with their sha256 and sha512, computed as they arrived.
#[derive(Clone)]
pub(crate) struct Blob {
    pub bytes: Vec<u8>,
    sha256: [u8; 32],
    sha512: [u8; 64],
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Blob({} bytes, sha256 {})",
            self.bytes.len(),
            self.sha256_hex()
        )
    }
}

impl Blob {
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    fn digest_hex(&self, algorithm: &str) -> Option<String> {
        match algorithm {
            "sha256" => Some(hex::encode(self.sha256)),
            "sha512" => Some(hex::encode(self.sha512)),
            _ => None,
        }
    }
}

/// Accumulates a download or file read: hashes while streaming and refuses
/// to hold more than `limit` bytes.
pub(crate) struct BlobWriter {
    what: String,
    limit: u64,
    bytes: Vec<u8>,
    sha256: Sha256,
    sha512: Sha512,
}

impl BlobWriter {
    pub fn new(what: impl Into<String>, limit: u64) -> Self {
        Self {
            what: what.into(),
            limit,
            bytes: Vec::new(),
            sha256: Sha256::new(),
            sha512: Sha512::new(),
        }
    }

    /// Add a chunk; fails as soon as the total would exceed the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if self.bytes.len() as u64 + chunk.len() as u64 > self.limit {
            return Err(Error::TooLarge {
                what: std::mem::take(&mut self.what),
                limit: self.limit,
            });
        }
        self.sha256.update(chunk);
        self.sha512.update(chunk);
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn finish(self) -> Blob {
        Blob {
            bytes: self.bytes,
            sha256: self.sha256.finalize().into(),
            sha512: self.sha512.finalize().into(),
        }
    }
}

impl Blob {
    /// Hash bytes already in memory (within `limit`).
    pub fn from_bytes(what: &str, bytes: &[u8], limit: u64) -> Result<Self> {
        let mut w = BlobWriter::new(what, limit);
        w.push(bytes)?;
        Ok(w.finish())
    }
}

/// A metadata file that passed its checks, with the bytes it arrived as.
#[derive(Debug, Clone)]
pub(crate) struct Held<T> {
    pub md: Metadata<T>,
    pub bytes: Vec<u8>,
}

impl<T: Role> Held<T> {
    pub fn signed(&self) -> &T {
        self.md.signed()
    }
}

/// Whether a new timestamp replaced the trusted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampUpdate {
    /// Accepted as the new trusted timestamp.
    Updated,
    /// Same version as the trusted one: kept the trusted copy (§5.4.3).
    Unchanged,
}

/// The metadata airlock trusts, updated only through the TUF checks.
#[derive(Debug, Clone)]
pub(crate) struct TrustedSet {
    root: Held<Root>,
    timestamp: Option<Held<Timestamp>>,
    snapshot: Option<Held<Snapshot>>,
    /// `targets` and every delegated role loaded, by role name.
    targets: BTreeMap<String, Held<Targets>>,
}

const TOP_LEVEL_ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

impl TrustedSet {
    /// §5.2: load the trusted root. It must be signed to threshold by its own
    /// root keys; its expiry is checked only once the root chain is walked
    /// (§5.3.10).
    pub fn from_pinned_root(bytes: &[u8], file: &str) -> Result<Self> {
        let md = parse_root(bytes, file)?;
        let signed = md.signed();
        verify_threshold(&md, &signed.keys, role_of(signed, "root"), "root", file)?;
        Ok(Self {
            root: Held {
                md,
                bytes: bytes.to_vec(),
            },
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    pub fn root(&self) -> &Root {
        self.root.signed()
    }

    pub fn root_bytes(&self) -> &[u8] {
        &self.root.bytes
    }

    pub fn timestamp(&self) -> Option<&Held<Timestamp>> {
        self.timestamp.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Held<Snapshot>> {
        self.snapshot.as_ref()
    }

    pub fn targets_role(&self, role: &str) -> Option<&Held<Targets>> {
        self.targets.get(role)
    }

    /// A targets role that must already be loaded.
    pub fn loaded_targets(&self, role: &str) -> Result<&Held<Targets>> {
        self.targets
            .get(role)
            .ok_or_else(|| Error::Usage(format!("internal: {role} not loaded")))
    }

    fn held_timestamp(&self) -> Result<&Held<Timestamp>> {
        self.timestamp
            .as_ref()
            .ok_or_else(|| Error::Usage("internal: no trusted timestamp".into()))
    }

    fn held_snapshot(&self) -> Result<&Held<Snapshot>> {
        self.snapshot
            .as_ref()
            .ok_or_else(|| Error::Usage("internal: no trusted snapshot".into()))
    }

    /// The timestamp, snapshot and top-level targets of a completed update.
    pub fn final_roles(&self) -> Result<(&Timestamp, &Snapshot, &Targets)> {
        Ok((
            self.held_timestamp()?.signed(),
            self.held_snapshot()?.signed(),
            self.loaded_targets("targets")?.signed(),
        ))
    }

    /// §5.3.4 to §5.3.9: accept version N+1 of the root, signed to threshold
    /// by the trusted root's root keys *and* by its own.
    pub fn update_root(&mut self, bytes: &[u8], file: &str) -> Result<()> {
        if self.timestamp.is_some() {
            return Err(Error::Usage(
                "internal: root updated after timestamp".into(),
            ));
        }
        let new = parse_root(bytes, file)?;
        let trusted = self.root();
        // §5.3.4: signed by the trusted root's root role.
        verify_threshold(&new, &trusted.keys, role_of(trusted, "root"), "root", file)?;
        // §5.3.5: exactly the next version.
        let (have, got) = (trusted.version, new.signed().version);
        if got <= have {
            return Err(Error::Rollback {
                role: "root".into(),
                trusted: have,
                new: got,
            });
        }
        if got != have + 1 {
            return Err(Error::VersionMismatch {
                file: file.into(),
                pinned_by: format!("the root chain (trusted root v{have})"),
                expected: have + 1,
                found: got,
            });
        }
        // §5.3.6: signed by its own root role.
        let signed = new.signed();
        verify_threshold(&new, &signed.keys, role_of(signed, "root"), "root", file)?;
        self.root = Held {
            md: new,
            bytes: bytes.to_vec(),
        };
        Ok(())
    }

    /// §5.3.10: after walking the root chain, the final root must not be
    /// expired at the reference time (freeze).
    pub fn check_root_fresh(&self, t: &ReferenceTime) -> Result<()> {
        fresh("root", self.root().expires, t)
    }

    /// §5.4: a new timestamp. Rollback of its version or of the snapshot
    /// version it pins is refused; an equal version keeps the trusted copy.
    ///
    /// Like python-tuf, the timestamp is held as trusted before its expiry
    /// is checked, so an expired local copy still sets the rollback floor
    /// for the remote one (the caller ignores the error for local copies).
    pub fn update_timestamp(
        &mut self,
        bytes: &[u8],
        file: &str,
        t: &ReferenceTime,
    ) -> Result<TimestampUpdate> {
        if self.snapshot.is_some() {
            return Err(Error::Usage(
                "internal: timestamp updated after snapshot".into(),
            ));
        }
        self.check_root_fresh(t)?;
        let new: Metadata<Timestamp> = parse(bytes, file)?;
        let root = self.root();
        verify_threshold(
            &new,
            &root.keys,
            role_of(root, "timestamp"),
            "timestamp",
            file,
        )?;
        let Some(new_pin) = new.signed().snapshot_meta() else {
            return Err(Error::malformed(
                file,
                "timestamp does not list snapshot.json",
            ));
        };
        if let Some(current) = &self.timestamp {
            let (have, got) = (current.signed().version, new.signed().version);
            no_rollback("timestamp", have, got)?;
            if got == have {
                return Ok(TimestampUpdate::Unchanged);
            }
            let have_pin = current.signed().snapshot_meta().map_or(0, |m| m.version);
            no_rollback(
                "snapshot (as pinned by timestamp)",
                have_pin,
                new_pin.version,
            )?;
        }
        self.timestamp = Some(Held {
            md: new,
            bytes: bytes.to_vec(),
        });
        self.check_final_timestamp(t)?;
        Ok(TimestampUpdate::Updated)
    }

    /// §5.4.4: the timestamp in use must not be expired.
    fn check_final_timestamp(&self, t: &ReferenceTime) -> Result<&Held<Timestamp>> {
        let ts = self.held_timestamp()?;
        fresh("timestamp", ts.signed().expires, t)?;
        Ok(ts)
    }

    /// The snapshot version and file the trusted timestamp pins.
    pub fn snapshot_pin(&self) -> Result<&MetaFile> {
        let ts = self.held_timestamp()?;
        ts.signed()
            .snapshot_meta()
            .ok_or_else(|| Error::malformed("timestamp.json", "no snapshot.json"))
    }

    /// §5.5: a new snapshot. With `local`, the bytes are the client's own
    /// previously verified copy: its hashes are not compared with the
    /// (possibly newer) timestamp, so it can serve as the rollback reference
    /// for the remote one; it becomes final only if it matches the pin.
    pub fn update_snapshot(
        &mut self,
        bytes: &[u8],
        file: &str,
        t: &ReferenceTime,
        local: bool,
    ) -> Result<()> {
        if !self.targets.is_empty() {
            return Err(Error::Usage(
                "internal: snapshot updated after targets".into(),
            ));
        }
        let pin = self
            .check_final_timestamp(t)?
            .signed()
            .snapshot_meta()
            .cloned();
        let pin = pin.ok_or_else(|| Error::malformed("timestamp.json", "no snapshot.json"))?;
        // §5.5.2: the length and hashes the timestamp pins.
        if !local {
            check_pin(bytes, &pin, file, "timestamp")?;
        }
        let new: Metadata<Snapshot> = parse(bytes, file)?;
        let root = self.root();
        // §5.5.3
        verify_threshold(
            &new,
            &root.keys,
            role_of(root, "snapshot"),
            "snapshot",
            file,
        )?;
        // §5.5.5: no targets role may disappear or go back in version.
        if let Some(current) = &self.snapshot {
            no_rollback("snapshot", current.signed().version, new.signed().version)?;
            for (name, have) in &current.signed().meta {
                let Some(got) = new.signed().meta.get(name) else {
                    return Err(Error::malformed(
                        file,
                        format!("drops {name}, which the trusted snapshot lists"),
                    ));
                };
                no_rollback(name.trim_end_matches(".json"), have.version, got.version)?;
            }
        }
        self.snapshot = Some(Held {
            md: new,
            bytes: bytes.to_vec(),
        });
        self.check_final_snapshot(t, file)?;
        Ok(())
    }

    /// §5.5.4 and §5.5.6: the snapshot in use is the version the timestamp
    /// pins (and, for a local copy, still has the pinned length and hashes)
    /// and is not expired.
    fn check_final_snapshot(&self, t: &ReferenceTime, file: &str) -> Result<&Held<Snapshot>> {
        let snap = self.held_snapshot()?;
        fresh("snapshot", snap.signed().expires, t)?;
        let pin = self.snapshot_pin()?;
        if snap.signed().version != pin.version {
            return Err(Error::VersionMismatch {
                file: file.into(),
                pinned_by: "timestamp".into(),
                expected: pin.version,
                found: snap.signed().version,
            });
        }
        check_pin(&snap.bytes, pin, file, "timestamp")?;
        Ok(snap)
    }

    /// The snapshot's entry for a targets role (`<role>.json`).
    pub fn targets_pin(&self, role: &str, delegator: &str) -> Result<&MetaFile> {
        let snap = self.held_snapshot()?;
        snap.signed()
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| Error::NotInSnapshot {
                role: role.into(),
                delegator: delegator.into(),
            })
    }

    /// §5.6 (top-level `targets`, delegated by the root) and §5.7.2
    /// (a delegated role, by its delegator's `delegations` block).
    pub fn update_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
        file: &str,
        t: &ReferenceTime,
    ) -> Result<()> {
        self.check_final_snapshot(t, "snapshot")?;
        let pin = self.targets_pin(role, delegator)?.clone();
        // §5.6.2
        check_pin(bytes, &pin, file, "snapshot")?;
        let new: Metadata<Targets> = parse(bytes, file)?;
        check_delegations(new.signed(), file)?;
        // §5.6.3
        self.verify_delegated(&new, role, delegator, file)?;
        // §5.6.4
        if new.signed().version != pin.version {
            return Err(Error::VersionMismatch {
                file: file.into(),
                pinned_by: "snapshot".into(),
                expected: pin.version,
                found: new.signed().version,
            });
        }
        // §5.6.5
        fresh(role, new.signed().expires, t)?;
        self.targets.insert(
            role.to_string(),
            Held {
                md: new,
                bytes: bytes.to_vec(),
            },
        );
        Ok(())
    }

    /// A role already loaded through one delegator, reached again through
    /// another: it must also satisfy this delegator's keys and threshold.
    pub fn reverify_targets(&self, role: &str, delegator: &str, t: &ReferenceTime) -> Result<()> {
        let held = self.loaded_targets(role)?;
        self.verify_delegated(&held.md, role, delegator, role)?;
        fresh(role, held.signed().expires, t)
    }

    fn verify_delegated(
        &self,
        md: &Metadata<Targets>,
        role: &str,
        delegator: &str,
        file: &str,
    ) -> Result<()> {
        if role == "targets" {
            let root = self.root();
            return verify_threshold(md, &root.keys, role_of(root, "targets"), "targets", file);
        }
        let parent = self.loaded_targets(delegator)?;
        let delegations = parent.signed().delegations.as_ref();
        let found = delegations.and_then(|d| d.roles.iter().find(|r| r.name == role));
        let (Some(delegations), Some(found)) = (delegations, found) else {
            return Err(Error::Usage(format!(
                "internal: {delegator} does not delegate {role}"
            )));
        };
        verify_threshold(
            md,
            &delegations.keys,
            (&found.keyids, found.threshold),
            role,
            file,
        )
    }
}

// ---- parsing and structural rules -------------------------------------------

/// Parse through sigstore-tuf, naming the file in any error.
fn parse<T: Role>(bytes: &[u8], file: &str) -> Result<Metadata<T>> {
    let md = Metadata::<T>::from_slice(bytes).map_err(|e| Error::malformed(file, chain(&e)))?;
    if md.signed().version() == 0 {
        return Err(Error::malformed(file, "version 0 (versions start at 1)"));
    }
    let mut seen = BTreeSet::new();
    for sig in md.signatures().iter().filter(|s| !s.sig.is_empty()) {
        // "A client MUST NOT count more than one signature from a key ID";
        // like python-tuf and sigstore-tuf, two are refused outright.
        if !seen.insert(sig.keyid.as_str()) {
            return Err(Error::malformed(
                file,
                format!("two signatures by key {}", sig.keyid),
            ));
        }
    }
    Ok(md)
}

fn parse_root(bytes: &[u8], file: &str) -> Result<Metadata<Root>> {
    let md: Metadata<Root> = parse(bytes, file)?;
    let root = md.signed();
    for name in TOP_LEVEL_ROLES {
        let Some(role) = root.role(name) else {
            return Err(Error::malformed(
                file,
                format!("root defines no {name} role"),
            ));
        };
        check_role_keys(&role.keyids, role.threshold, name, file)?;
    }
    Ok(md)
}

fn check_role_keys(keyids: &[String], threshold: usize, role: &str, file: &str) -> Result<()> {
    if threshold == 0 {
        return Err(Error::malformed(
            file,
            format!("role {role} has threshold 0"),
        ));
    }
    let unique: BTreeSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err(Error::malformed(
            file,
            format!("role {role} lists a key ID twice"),
        ));
    }
    Ok(())
}

/// Delegation blocks: unique, non-top-level names; one of `paths` or
/// `path_hash_prefixes`; sane thresholds.
fn check_delegations(targets: &Targets, file: &str) -> Result<()> {
    let Some(delegations) = &targets.delegations else {
        return Ok(());
    };
    let mut names = BTreeSet::new();
    for role in &delegations.roles {
        if TOP_LEVEL_ROLES.contains(&role.name.as_str()) {
            return Err(Error::malformed(
                file,
                format!("delegated role reuses the top-level name {:?}", role.name),
            ));
        }
        if !names.insert(role.name.as_str()) {
            return Err(Error::malformed(
                file,
                format!("role {:?} delegated twice", role.name),
            ));
        }
        if role.paths.is_some() == role.path_hash_prefixes.is_some() {
            return Err(Error::malformed(
                file,
                format!(
                    "delegation {:?} must have exactly one of paths and path_hash_prefixes",
                    role.name
                ),
            ));
        }
        check_role_keys(&role.keyids, role.threshold, &role.name, file)?;
    }
    Ok(())
}

fn role_of<'a>(root: &'a Root, name: &str) -> (&'a [String], usize) {
    // parse_root guarantees the four top-level roles exist.
    root.role(name)
        .map(|r| (r.keyids.as_slice(), r.threshold))
        .unwrap_or((&[], usize::MAX))
}

/// Render sigstore-tuf's error with its causes.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// ---- keys and thresholds -------------------------------------------------------

/// (keytype, scheme) pairs this client accepts. sigstore-tuf picks the
/// algorithm from `scheme` alone and ignores `keytype`; a key whose two
/// fields disagree is malformed, and refused here. `ecdsa-sha2-nistp256` as a
/// keytype is securesystemslib's legacy spelling (Sigstore roots v1 to v8).
const KEY_TYPES: &[(&str, &str)] = &[
    ("ed25519", "ed25519"),
    ("ecdsa", "ecdsa-sha2-nistp256"),
    ("ecdsa", "ecdsa-sha2-nistp384"),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
    ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
    ("rsa", "rsassa-pss-sha256"),
    ("rsa", "rsassa-pss-sha384"),
    ("rsa", "rsassa-pss-sha512"),
];

/// The key's raw public key if it is usable for its declared type.
fn usable_key(key: &Key) -> std::result::Result<Vec<u8>, String> {
    if !KEY_TYPES.contains(&(key.keytype.as_str(), key.scheme.as_str())) {
        return Err("keytype and scheme are not a supported pair".into());
    }
    // sigstore-crypto checks that the key material's algorithm is the one
    // the scheme names.
    key.verification_key()
        .map(|k| k.as_bytes().to_vec())
        .map_err(|e| chain(&e))
}

/// Count valid signatures over `md`'s canonical bytes from distinct keys
/// authorised by `(keyids, threshold)`, with key material from `keys`.
///
/// §5.3.4: signatures from keys not authorised for the role, empty
/// placeholder signatures, and signatures that do not verify are ignored.
/// Two key IDs with the same key material count once (a repository cannot
/// meet a threshold of n with one key listed n times).
pub(crate) fn verify_threshold<T: Role>(
    md: &Metadata<T>,
    keys: &BTreeMap<String, Key>,
    (keyids, threshold): (&[String], usize),
    role: &str,
    file: &str,
) -> Result<()> {
    if threshold == 0 {
        return Err(Error::malformed(
            file,
            format!("role {role} has threshold 0"),
        ));
    }
    let authorised: BTreeSet<&str> = keyids.iter().map(String::as_str).collect();
    let mut distinct: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut unusable: Option<(String, &Key, String)> = None;
    for sig in md.signatures() {
        if sig.sig.is_empty() || !authorised.contains(sig.keyid.as_str()) {
            continue;
        }
        let Some(key) = keys.get(&sig.keyid) else {
            continue;
        };
        let material = match usable_key(key) {
            Ok(material) => material,
            Err(reason) => {
                unusable.get_or_insert((sig.keyid.clone(), key, reason));
                continue;
            }
        };
        let Ok(raw) = hex::decode(&sig.sig) else {
            continue;
        };
        let signature = sigstore_types::SignatureBytes::new(raw);
        if key.verify(md.signed_canonical(), &signature).is_ok() {
            distinct.insert(material);
        }
    }
    let valid = distinct.len();
    if valid >= threshold {
        return Ok(());
    }
    let role = role_label(role, file);
    Err(match unusable {
        Some((key_id, key, reason)) => Error::KeyType(Box::new(crate::error::UnusableKey {
            role,
            key_id,
            keytype: key.keytype.clone(),
            scheme: key.scheme.clone(),
            reason,
            valid,
            threshold,
        })),
        None => Error::ThresholdNotMet {
            role,
            valid,
            threshold,
        },
    })
}

fn role_label(role: &str, file: &str) -> String {
    if file == role || file.is_empty() || file.strip_suffix(".json") == Some(role) {
        role.to_string()
    } else {
        format!("{role} ({file})")
    }
}

// ---- versions, expiry, lengths and hashes ----------------------------------------

/// Rollback (§5.4.3, §5.5.5): a version below the trusted one.
fn no_rollback(role: &str, trusted: u64, new: u64) -> Result<()> {
    if new < trusted {
        return Err(Error::Rollback {
            role: role.to_string(),
            trusted,
            new,
        });
    }
    Ok(())
}

fn fresh(role: &str, expires: jiff::Timestamp, t: &ReferenceTime) -> Result<()> {
    if t.has_reached(expires) {
        return Err(Error::Expired {
            role: role.into(),
            expires,
            reference_time: t.at(),
        });
    }
    Ok(())
}

/// Compare bytes with what a parent role pinned in a `meta` entry: length
/// if pinned, and every supported hash if any are pinned.
fn check_pin(bytes: &[u8], pin: &MetaFile, file: &str, pinned_by: &str) -> Result<()> {
    if let Some(expected) = pin.length {
        if bytes.len() as u64 != expected {
            return Err(Error::LengthMismatch {
                file: file.into(),
                pinned_by: pinned_by.into(),
                expected,
                actual: bytes.len() as u64,
            });
        }
    }
    if let Some(hashes) = &pin.hashes {
        let blob = Blob::from_bytes(file, bytes, u64::MAX)?;
        check_hashes(&blob, hashes, file, pinned_by)?;
    }
    Ok(())
}

/// §5.7.3: a target's length and hashes, as its targets role lists them.
pub(crate) fn check_target(blob: &Blob, info: &TargetFile, name: &str, role: &str) -> Result<()> {
    if blob.bytes.len() as u64 != info.length {
        return Err(Error::LengthMismatch {
            file: name.into(),
            pinned_by: role.into(),
            expected: info.length,
            actual: blob.bytes.len() as u64,
        });
    }
    check_hashes(blob, &info.hashes, name, role)
}

/// Every supported pinned hash must match, and at least one must be
/// supported (a pin we cannot check is no pin).
fn check_hashes(
    blob: &Blob,
    hashes: &BTreeMap<String, String>,
    file: &str,
    pinned_by: &str,
) -> Result<()> {
    let mut checked = 0;
    for (algorithm, expected) in hashes {
        let Some(actual) = blob.digest_hex(algorithm) else {
            continue;
        };
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Error::HashMismatch {
                file: file.into(),
                pinned_by: pinned_by.into(),
                algorithm: algorithm.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(Error::NoSupportedHash {
            file: file.into(),
            pinned_by: pinned_by.into(),
        });
    }
    Ok(())
}

/// Whether `role` is delegated `target` by its delegator (sigstore-tuf's
/// shell-glob and hash-prefix matching; a bad pattern fails closed).
pub(crate) fn delegates(role: &DelegatedRole, target: &str, file: &str) -> Result<bool> {
    role.matches_path(target)
        .map_err(|e| Error::malformed(file, chain(&e)))
}

// ---- the second opinion ---------------------------------------------------------

/// The files of one accepted chain, in the order they were accepted.
#[derive(Debug, Default)]
pub(crate) struct Accepted<'a> {
    /// The starting root, then each root walked.
    pub roots: Vec<(&'a str, &'a [u8])>,
    pub timestamp: Option<(&'a str, &'a [u8])>,
    pub snapshot: Option<(&'a str, &'a [u8])>,
    pub targets: Option<(&'a str, &'a [u8])>,
    /// (file, role, delegator, bytes)
    pub delegated: Vec<(&'a str, &'a str, &'a str, &'a [u8])>,
}

/// Replay an accepted chain through sigstore-tuf's `TrustedMetadataSet`.
///
/// airlock's checks are at least as strict as sigstore-tuf's (expiry at the
/// instant itself, distinct key material, keytype/scheme pairs, structural
/// rules), so this never refuses what airlock accepted unless one of our
/// checks is missing. It is cheap (a few signature checks), so it runs on
/// every chain.
pub(crate) fn second_opinion(chain: &Accepted<'_>, t: &ReferenceTime) -> Result<()> {
    let tuf = |file: &str| {
        let file = file.to_string();
        move |source| Error::SecondOpinion { file, source }
    };
    let now = t.at();
    let Some(((first_file, first), rest)) = chain.roots.split_first() else {
        return Err(Error::Usage("internal: empty chain".into()));
    };
    let mut set = sigstore_tuf::TrustedMetadataSet::from_root(first).map_err(tuf(first_file))?;
    for (file, bytes) in rest {
        set.update_root(bytes).map_err(tuf(file))?;
    }
    set.check_root_expired(now).map_err(tuf("root"))?;
    if let Some((file, bytes)) = chain.timestamp {
        set.update_timestamp(bytes, now).map_err(tuf(file))?;
    }
    if let Some((file, bytes)) = chain.snapshot {
        set.update_snapshot(bytes, now).map_err(tuf(file))?;
    }
    if let Some((file, bytes)) = chain.targets {
        set.update_targets(bytes, now).map_err(tuf(file))?;
    }
    for (file, role, delegator, bytes) in &chain.delegated {
        set.update_delegated_targets(bytes, role, delegator, now)
            .map_err(tuf(file))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ReferenceTime {
        ReferenceTime::operator(s.parse().unwrap())
    }

    #[test]
    fn blob_writer_refuses_the_byte_past_its_limit() {
        let mut w = BlobWriter::new("x.json", 4);
        w.push(b"ab").unwrap();
        w.push(b"cd").unwrap();
        let err = w.push(b"e").unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 4, .. }), "{err}");
        let blob = Blob::from_bytes("y", b"abc", 3).unwrap();
        assert_eq!(
            blob.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn expiry_boundary_is_inclusive() {
        let at = t("2026-01-01T00:00:00Z");
        assert!(fresh("r", "2026-01-01T00:00:00Z".parse().unwrap(), &at).is_err());
        assert!(fresh("r", "2026-01-01T00:00:01Z".parse().unwrap(), &at).is_ok());
    }

    #[test]
    fn malformed_json_never_panics() {
        let inputs: &[&[u8]] = &[
            b"",
            b"{",
            b"[]",
            b"null",
            b"{\"signed\":{},\"signatures\":[]}",
            b"{\"signed\":{\"_type\":\"root\"},\"signatures\":{}}",
            b"{\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1.5},\"signatures\":[]}",
            b"{\"signed\":{\"_type\":\"root\",\"spec_version\":\"2.0\",\"version\":1},\"signatures\":[]}",
            b"\xff\xfe",
            &[b'['; 100_000],
        ];
        for input in inputs {
            let err = TrustedSet::from_pinned_root(input, "x.root.json").unwrap_err();
            assert_eq!(err.check(), "malformed", "{err}");
        }
    }

    #[test]
    fn pins_check_length_then_every_supported_hash() {
        let bytes = b"hello";
        let sha = hex::encode(Sha256::digest(bytes));
        let pin = |length: Option<u64>, hashes: &[(&str, &str)]| -> MetaFile {
            serde_json::from_value(serde_json::json!({
                "version": 1,
                "length": length,
                "hashes": if hashes.is_empty() { serde_json::Value::Null } else {
                    hashes.iter().map(|(a, h)| (a.to_string(), serde_json::json!(h))).collect()
                },
            }))
            .unwrap()
        };
        check_pin(bytes, &pin(Some(5), &[("sha256", &sha)]), "f", "p").unwrap();
        check_pin(bytes, &pin(None, &[]), "f", "p").unwrap();
        let e = check_pin(bytes, &pin(Some(6), &[]), "f", "p").unwrap_err();
        assert!(matches!(
            e,
            Error::LengthMismatch {
                expected: 6,
                actual: 5,
                ..
            }
        ));
        let e = check_pin(bytes, &pin(None, &[("sha256", &"0".repeat(64))]), "f", "p").unwrap_err();
        assert!(matches!(e, Error::HashMismatch { .. }));
        let e = check_pin(bytes, &pin(None, &[("md5", "abc")]), "f", "p").unwrap_err();
        assert!(matches!(e, Error::NoSupportedHash { .. }));
        // An unknown algorithm beside a good one is ignored.
        check_pin(
            bytes,
            &pin(None, &[("md5", "abc"), ("sha256", &sha)]),
            "f",
            "p",
        )
        .unwrap();
    }
}
