//! AWS Secrets Manager as a keyring store (`aws-sm://NAME`, feature `aws`).
//!
//! The sealed document is the secret's `SecretBinary`; every change is a new secret version,
//! and the version carrying the `AWSCURRENT` stage is the keyring. Secrets Manager has no
//! conditional write, but moving a stage is conditional: `UpdateSecretVersionStage` with
//! `RemoveFromVersionId` fails unless `AWSCURRENT` is still on that version. So a save is
//!
//! 1. `DescribeSecret`: which version is `AWSCURRENT` and its generation (read from the
//!    version id, which keyroll chooses, see below); `keyring_conflict` if it is not the
//!    generation the caller loaded, and nothing is written;
//! 2. `PutSecretValue` of the new document under the stage `keyroll-writing` only (not yet
//!    current), with a `ClientRequestToken` derived from the secret's name, the new
//!    generation and the document's SHA-256 — the SDK's retries of a request are then
//!    idempotent, and a writer that crashed here leaves a version that blocks nobody;
//! 3. `UpdateSecretVersionStage`: `AWSCURRENT` from the version read in 1 to the new one. Of
//!    two writers that both passed 1, exactly one moves the stage; the other gets
//!    `keyring_conflict` (its version stays behind, unlabelled by the next write).
//!
//! Version ids are `keyroll-gNNNNNNNNNNNNNNNNNNNN-<hash>` (the generation in 20 digits), so
//! [`KeyringStore::generation`] is one `DescribeSecret`, with no document transferred.
//!
//! **Anti-rollback.** The highest generation ever stored is the largest of: the tag
//! `keyroll:high-generation` (set after each save), the generations of the versions holding
//! `AWSCURRENT` and `AWSPREVIOUS` (moving `AWSCURRENT` back leaves `AWSPREVIOUS` on the newer
//! version), and the highest this process has seen. A document at or below it is never
//! written, and a current version below it is refused on load (`keyring_rollback`). The tag
//! is written after the stage move and is only defence in depth: a failure to tag does not
//! fail the save (the new version's id already records its generation).
//!
//! **Audit.** Secrets Manager keeps no application records (CloudTrail records every API
//! call, with the caller's identity): audit records go to a local JSON-lines file,
//! `KEYROLL_AUDIT_LOG` (the CLI's `--audit-log`), or [`SmStore::with_audit_log`].
//!
//! **Readers.** There is no place for reader check-ins: `check_in` and `readers` return
//! `store_unsupported` (see `docs/fleet.md` for the fallback).
//!
//! Earlier versions stay in Secrets Manager (`AWSPREVIOUS`, and unlabelled versions until the
//! service deletes them): that is this store's backup, and a destroyed key's material sealed
//! in them cannot be purged by keyroll (see `docs/fleet.md`).

use crate::fleet::{KeyringStore, ReaderCheckIn, Stored};
use crate::{aws, AuditLog, AuditRecord, Error, Result};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use keyroll::Keyring;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

const CURRENT: &str = "AWSCURRENT";
const PREVIOUS: &str = "AWSPREVIOUS";
/// The stage a new version carries until it is made current (a version with no stage may be
/// deleted by the service).
const WRITING: &str = "keyroll-writing";
/// The tag holding the highest generation ever stored.
const HIGH_TAG: &str = "keyroll:high-generation";
/// Secrets Manager's limit on a secret value.
const MAX_SECRET: usize = 65_536;
const VERSION_PREFIX: &str = "keyroll-g";

/// A keyring kept as an AWS Secrets Manager secret.
pub struct SmStore {
    name: String,
    client: Client,
    /// The highest generation this process has seen stored here.
    high: AtomicU64,
    audit: Option<AuditLog>,
}

impl core::fmt::Debug for SmStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmStore")
            .field("secret", &self.name)
            .finish_non_exhaustive()
    }
}

/// What `DescribeSecret` says about the secret.
struct Head {
    /// The version id holding `AWSCURRENT`, and its generation if keyroll wrote it.
    current: Option<(String, Option<u64>)>,
    /// The highest generation the secret records (tag, current and previous versions).
    high: u64,
}

/// The generation a keyroll version id carries.
fn version_generation(version_id: &str) -> Option<u64> {
    let rest = version_id.strip_prefix(VERSION_PREFIX)?;
    let (digits, _) = rest.split_once('-')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The version id (`ClientRequestToken`) of `document` at `generation` in secret `name`:
/// deterministic, so a retried request never makes a second version; 54 characters (the
/// service wants 32-64).
fn version_id(name: &str, generation: u64, document: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"keyroll aws-sm version\0");
    h.update(name.as_bytes());
    h.update([0]);
    h.update(generation.to_be_bytes());
    h.update(Sha256::digest(document));
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{VERSION_PREFIX}{generation:020}-{hex}")
}

impl SmStore {
    /// The store for secret `name` (a name or an ARN). Region, endpoint and credentials come
    /// from the AWS SDK's configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, roles);
    /// audit records go to `KEYROLL_AUDIT_LOG` if set. Nothing is requested until the first
    /// call.
    pub fn connect(name: &str) -> Result<SmStore> {
        let location = format!("aws-sm://{name}");
        let config = aws::sdk_config(&location)?;
        let audit = crate::env::path(&crate::env::process, crate::env::AUDIT_LOG)
            .map_err(|e| Error::InvalidStoreConfig {
                location: location.clone(),
                message: e.to_string(),
            })?
            .map(AuditLog::new);
        Ok(SmStore {
            name: name.to_string(),
            client: Client::new(&config),
            high: AtomicU64::new(0),
            audit,
        })
    }

    /// Sends audit records to `path` (a local JSON-lines file) instead of `KEYROLL_AUDIT_LOG`.
    pub fn with_audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit = Some(AuditLog::new(path));
        self
    }

    fn unavailable<E, R>(
        &self,
        op: &'static str,
        e: &aws_sdk_secretsmanager::error::SdkError<E, R>,
    ) -> Error
    where
        E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: core::fmt::Debug,
    {
        Error::Unavailable {
            location: self.location(),
            op,
            message: aws::message(e),
        }
    }

    fn note(&self, generation: u64) {
        self.high.fetch_max(generation, Ordering::SeqCst);
    }

    /// `DescribeSecret`; `None` if there is no such secret.
    fn describe(&self) -> Result<Option<Head>> {
        let request = self.client.describe_secret().secret_id(&self.name).send();
        let out = match aws::block_on(&self.location(), request)? {
            Ok(out) => out,
            Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(self.unavailable("DescribeSecret", &e)),
        };
        if out.deleted_date().is_some() {
            return Err(Error::Unavailable {
                location: self.location(),
                op: "DescribeSecret",
                message: "the secret is scheduled for deletion: restore it (RestoreSecret) or choose another name".into(),
            });
        }
        let mut high = self.high.load(Ordering::SeqCst);
        for tag in out.tags() {
            if tag.key() == Some(HIGH_TAG) {
                if let Some(g) = tag.value().and_then(|v| v.parse::<u64>().ok()) {
                    high = high.max(g);
                }
            }
        }
        let mut current = None;
        if let Some(map) = out.version_ids_to_stages() {
            for (id, stages) in map {
                let generation = version_generation(id);
                let is_current = stages.iter().any(|s| s == CURRENT);
                if is_current || stages.iter().any(|s| s == PREVIOUS) {
                    high = high.max(generation.unwrap_or(0));
                }
                if is_current {
                    current = Some((id.clone(), generation));
                }
            }
        }
        Ok(Some(Head { current, high }))
    }

    /// The document of version `version_id`.
    fn fetch(&self, version_id: &str) -> Result<Option<Vec<u8>>> {
        let request = self
            .client
            .get_secret_value()
            .secret_id(&self.name)
            .version_id(version_id)
            .send();
        let out = match aws::block_on(&self.location(), request)? {
            Ok(out) => out,
            Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(self.unavailable("GetSecretValue", &e)),
        };
        match out.secret_binary {
            Some(blob) => Ok(Some(blob.into_inner())),
            None => Err(keyroll::Error::KeyringCorrupt(
                "the secret holds a string, not a keyroll keyring document (SecretBinary)",
            )
            .into()),
        }
    }

    /// The current version's id and generation (fetching the document when the version was
    /// not written by keyroll), `None` if there is no current version.
    fn current_generation(&self, head: &Head) -> Result<Option<(String, u64)>> {
        let Some((id, generation)) = &head.current else {
            return Ok(None);
        };
        if let Some(g) = generation {
            return Ok(Some((id.clone(), *g)));
        }
        match self.fetch(id)? {
            Some(doc) => Ok(Some((id.clone(), Keyring::document_generation(&doc)?))),
            None => Ok(None),
        }
    }

    fn rollback(seen: u64, found: u64) -> Error {
        keyroll::Error::KeyringRollback { seen, found }.into()
    }

    fn conflict(&self, expected: Option<u64>) -> Error {
        // Say what is there now if the service tells us; the conflict is the answer either way.
        let current = self
            .describe()
            .ok()
            .flatten()
            .and_then(|h| self.current_generation(&h).ok().flatten())
            .map(|(_, g)| g);
        keyroll::Error::KeyringConflict {
            base: expected.unwrap_or(0),
            current: current.unwrap_or(0),
        }
        .into()
    }

    /// Whether version `id` (this very document: ids are derived from it) holds
    /// `AWSCURRENT`. A save that finds so has already landed — its own earlier attempt (a
    /// response lost and the request retried, by the SDK or the caller) — and is a success:
    /// reporting it as `keyring_conflict` would have the caller apply its change again on
    /// top of itself.
    fn is_current(&self, id: &str) -> bool {
        self.describe()
            .ok()
            .flatten()
            .and_then(|h| h.current)
            .is_some_and(|(current, _)| current == id)
    }

    /// A save that landed: remembered, and the high-water tag set.
    fn saved(&self, generation: u64) -> Result<()> {
        self.note(generation);
        self.tag_high(generation);
        Ok(())
    }

    fn tag_high(&self, generation: u64) {
        let tag = Tag::builder()
            .key(HIGH_TAG)
            .value(generation.to_string())
            .build();
        let request = self
            .client
            .tag_resource()
            .secret_id(&self.name)
            .tags(tag)
            .send();
        // Defence in depth only (see the module docs): the save itself has succeeded.
        let _ = aws::block_on(&self.location(), request);
    }

    fn create(&self, document: &[u8], generation: u64, id: &str) -> Result<()> {
        let request = self
            .client
            .create_secret()
            .name(&self.name)
            .description("keyroll keyring document (sealed; see docs/fleet.md)")
            .secret_binary(Blob::new(document))
            .client_request_token(id)
            .tags(
                Tag::builder()
                    .key(HIGH_TAG)
                    .value(generation.to_string())
                    .build(),
            )
            .send();
        match aws::block_on(&self.location(), request)? {
            Ok(_) => Ok(()),
            Err(e) if aws::code(&e) == Some("ResourceExistsException") => Err(self.conflict(None)),
            Err(e) => Err(self.unavailable("CreateSecret", &e)),
        }
    }
}

impl KeyringStore for SmStore {
    fn location(&self) -> String {
        format!("aws-sm://{}", self.name)
    }

    fn load(&self) -> Result<Option<Stored>> {
        let Some(head) = self.describe()? else {
            return Ok(None);
        };
        let Some((id, _)) = &head.current else {
            return Ok(None);
        };
        let Some(document) = self.fetch(id)? else {
            return Ok(None);
        };
        let generation = Keyring::check_not_rolled_back(&document, head.high)?;
        self.note(generation);
        Ok(Some(Stored {
            document,
            generation,
        }))
    }

    fn generation(&self) -> Result<Option<u64>> {
        let Some(head) = self.describe()? else {
            return Ok(None);
        };
        let Some((_, generation)) = self.current_generation(&head)? else {
            return Ok(None);
        };
        if generation < head.high {
            return Err(Self::rollback(head.high, generation));
        }
        self.note(generation);
        Ok(Some(generation))
    }

    fn compare_and_swap(&self, expected: Option<u64>, document: &[u8]) -> Result<()> {
        let next = Keyring::document_generation(document)?;
        if document.len() > MAX_SECRET {
            return Err(Error::Unsupported {
                location: self.location(),
                what:
                    "the keyring document is larger than Secrets Manager's 64 KiB limit on a secret",
            });
        }
        let id = version_id(&self.name, next, document);
        let Some(head) = self.describe()? else {
            if expected.is_some() {
                return Err(keyroll::Error::KeyringConflict {
                    base: expected.unwrap_or(0),
                    current: 0,
                }
                .into());
            }
            let high = self.high.load(Ordering::SeqCst);
            if next <= high {
                return Err(Self::rollback(high, next));
            }
            self.create(document, next, &id)?;
            self.note(next);
            return Ok(());
        };
        let current = self.current_generation(&head)?;
        let built_on_expected = expected.map_or(true, |e| e.checked_add(1) == Some(next));
        // Already current (and not an old copy put back since: nothing higher was stored).
        if built_on_expected && next >= head.high && current.as_ref().is_some_and(|(c, _)| *c == id)
        {
            return self.saved(next);
        }
        if current.as_ref().map(|(_, g)| *g) != expected {
            return Err(keyroll::Error::KeyringConflict {
                base: expected.unwrap_or(0),
                current: current.map(|(_, g)| g).unwrap_or(0),
            }
            .into());
        }
        // The successor rule of `Keyring::check_successor`, on the generation read above.
        if let Some((_, g)) = &current {
            if g.checked_add(1) != Some(next) {
                return Err(keyroll::Error::KeyringConflict {
                    base: next.saturating_sub(1),
                    current: *g,
                }
                .into());
            }
        }
        if next <= head.high {
            return Err(Self::rollback(head.high, next));
        }
        let request = self
            .client
            .put_secret_value()
            .secret_id(&self.name)
            .secret_binary(Blob::new(document))
            .client_request_token(&id)
            .version_stages(WRITING)
            .send();
        let put = match aws::block_on(&self.location(), request)? {
            Ok(out) => out,
            Err(e) if aws::code(&e) == Some("ResourceExistsException") => {
                if self.is_current(&id) {
                    return self.saved(next);
                }
                return Err(self.conflict(expected));
            }
            Err(e) => return Err(self.unavailable("PutSecretValue", &e)),
        };
        // The first version of a secret created empty (e.g. by infrastructure code) is made
        // current by the service itself.
        if !put.version_stages().iter().any(|s| s == CURRENT) {
            let mut request = self
                .client
                .update_secret_version_stage()
                .secret_id(&self.name)
                .version_stage(CURRENT)
                .move_to_version_id(&id);
            if let Some((from, _)) = &current {
                request = request.remove_from_version_id(from);
            }
            match aws::block_on(&self.location(), request.send())? {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        aws::code(&e),
                        Some("InvalidParameterException" | "InvalidRequestException")
                    ) =>
                {
                    // AWSCURRENT is no longer on the version we read: someone saved first,
                    // unless it is on ours (this request's first attempt moved it).
                    if self.is_current(&id) {
                        return self.saved(next);
                    }
                    return Err(self.conflict(expected));
                }
                Err(e) => return Err(self.unavailable("UpdateSecretVersionStage", &e)),
            }
        }
        self.saved(next)
    }

    fn audit(&self, record: &AuditRecord) -> Result<()> {
        match &self.audit {
            Some(log) => log.append(record),
            None => Err(Error::Unsupported {
                location: self.location(),
                what: "Secrets Manager keeps no audit records: set KEYROLL_AUDIT_LOG (the CLI's --audit-log) to a local JSON-lines file; CloudTrail records every API call",
            }),
        }
    }

    fn check_in(&self, _reader: &ReaderCheckIn) -> Result<()> {
        Err(Error::Unsupported {
            location: self.location(),
            what: "Secrets Manager has no place for reader check-ins (see docs/fleet.md for the fallback)",
        })
    }

    fn readers(&self) -> Result<Vec<ReaderCheckIn>> {
        Err(Error::Unsupported {
            location: self.location(),
            what: "Secrets Manager has no place for reader check-ins (see docs/fleet.md for the fallback)",
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn version_ids_carry_the_generation_and_fit_the_service() {
        let id = version_id("prod/keyroll", 42, b"doc");
        assert!((32..=64).contains(&id.len()), "{id}");
        assert_eq!(version_generation(&id), Some(42));
        assert_eq!(id, version_id("prod/keyroll", 42, b"doc"), "deterministic");
        assert_ne!(id, version_id("prod/keyroll", 42, b"other doc"));
        assert_ne!(id, version_id("prod/other", 42, b"doc"));
        for foreign in [
            "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
            "keyroll-g42-abc",
            "keyroll-g0000000000000000004x-abc",
        ] {
            assert_eq!(version_generation(foreign), None, "{foreign}");
        }
    }
}
