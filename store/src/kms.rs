//! Key-encryption keys from AWS KMS (feature `aws`): a keyring document sealed under a
//! KMS-wrapped key ([`keyroll::Protection::WrappedKey`]).
//!
//! The KEK is a 256-bit data key from `GenerateDataKey`, bound to an encryption context; the
//! document records KMS's ciphertext of it, the key's ARN and the context (under the
//! document's MAC, see [`keyroll::KeyWrap`]). Opening a document is one `Decrypt` with the
//! recorded key and context; encrypting and decrypting data need no KMS call at all; and a
//! changed keyring is re-sealed under the same KEK and [`KeyWrap`] it was opened with, so a
//! save makes no call either. A different context, key or ciphertext is refused by KMS
//! (`bad_passphrase`, as for a wrong master key).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use keyroll::{document_sealing, Keyring, Protection, Sealing, Unlock};
//! use keyroll_store::kms::AwsKms;
//! let kms = AwsKms::new("alias/keyroll", [("app".into(), "payments".into())].into())?;
//! let (kek, wrap) = kms.new_kek()?;                       // one KMS call
//! let ring = Keyring::generate(1_700_000_000)?;
//! let doc = ring.to_document(Protection::WrappedKey { key: &kek, wrap: &wrap })?;
//! // Elsewhere: the document says which key and context open it.
//! let Sealing::Wrapped(wrap) = document_sealing(&doc)? else { unreachable!() };
//! let kek = kms.unwrap(&wrap)?;                           // one KMS call per open
//! let ring = Keyring::from_document(&doc, Unlock::Unwrapped(&kek))?;
//! # Ok(()) }
//! ```

use crate::{aws, Error, Result};
use aws_sdk_kms::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_kms::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;
use keyroll::{KeyWrap, SecretKey};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The [`KeyWrap::provider`] of AWS KMS wraps.
pub const PROVIDER: &str = "aws-kms";

/// An AWS KMS key that makes and unwraps key-encryption keys.
pub struct AwsKms {
    key_id: String,
    context: BTreeMap<String, String>,
    client: Client,
    sent: Arc<AtomicU64>,
}

impl core::fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AwsKms")
            .field("key_id", &self.key_id)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// Counts the requests actually handed to the HTTP client (retries included), so tests and
/// operators can check the "one call per open" promise.
#[derive(Debug)]
struct Counter(Arc<AtomicU64>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "keyroll-kms-request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> core::result::Result<(), aws_sdk_kms::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl AwsKms {
    /// The KMS key `key_id` (key id, ARN, alias name or alias ARN) with the encryption
    /// context new KEKs are bound to. Region, endpoint and credentials come from the AWS
    /// SDK's configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, roles). Nothing is
    /// requested until [`AwsKms::new_kek`] or [`AwsKms::unwrap`].
    pub fn new(key_id: impl Into<String>, context: BTreeMap<String, String>) -> Result<Self> {
        let key_id = key_id.into();
        let location = format!("{PROVIDER}:{key_id}");
        let config = aws::sdk_config(&location)?;
        let sent = Arc::new(AtomicU64::new(0));
        let client = Client::from_conf(
            aws_sdk_kms::config::Builder::from(&config)
                .interceptor(Counter(sent.clone()))
                .build(),
        );
        Ok(AwsKms {
            key_id,
            context,
            client,
            sent,
        })
    }

    /// The client for opening documents only: [`AwsKms::unwrap`] takes the key and context
    /// from the document's wrap.
    pub fn for_unwrap() -> Result<Self> {
        AwsKms::new("(from the document)", BTreeMap::new())
    }

    /// How many requests this client has sent to KMS (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn location(&self, key_id: &str) -> String {
        format!("{PROVIDER}:{key_id}")
    }

    fn context_map(context: &BTreeMap<String, String>) -> HashMap<String, String> {
        context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A fresh key-encryption key and its wrap: one `GenerateDataKey` (AES-256) under this
    /// key and context. The wrap records the key's ARN (not an alias, which could later
    /// point elsewhere).
    pub fn new_kek(&self) -> Result<(SecretKey, KeyWrap)> {
        let location = self.location(&self.key_id);
        let request = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(Self::context_map(&self.context)))
            .send();
        let out = aws::block_on(&location, request)?.map_err(|e| Error::Unavailable {
            location: location.clone(),
            op: "GenerateDataKey",
            message: aws::message(&e),
        })?;
        let plain = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
        let kek = SecretKey::from_slice(&plain).map_err(|_| Error::Unavailable {
            location: location.clone(),
            op: "GenerateDataKey",
            message: "KMS returned no 32-byte data key".into(),
        })?;
        let wrapped =
            out.ciphertext_blob
                .map(Blob::into_inner)
                .ok_or_else(|| Error::Unavailable {
                    location: location.clone(),
                    op: "GenerateDataKey",
                    message: "KMS returned no ciphertext".into(),
                })?;
        let wrap = KeyWrap {
            provider: PROVIDER.into(),
            key_id: out.key_id.unwrap_or_else(|| self.key_id.clone()),
            context: self.context.clone(),
            wrapped,
        };
        Ok((kek, wrap))
    }

    /// The key-encryption key of `wrap`: one `Decrypt` with the key and encryption context
    /// it records. `bad_passphrase` if KMS refuses the ciphertext, key or context;
    /// `store_unavailable` if KMS cannot be reached or denies access.
    pub fn unwrap(&self, wrap: &KeyWrap) -> Result<SecretKey> {
        let location = self.location(&wrap.key_id);
        if wrap.provider != PROVIDER {
            return Err(Error::Unsupported {
                location,
                what:
                    "this document's key-encryption key was wrapped by another service than AWS KMS",
            });
        }
        let request = self
            .client
            .decrypt()
            .key_id(&wrap.key_id)
            .ciphertext_blob(Blob::new(wrap.wrapped.clone()))
            .set_encryption_context(Some(Self::context_map(&wrap.context)))
            .send();
        let out = match aws::block_on(&location, request)? {
            Ok(out) => out,
            Err(e)
                if matches!(
                    aws::code(&e),
                    Some("InvalidCiphertextException" | "IncorrectKeyException")
                ) =>
            {
                return Err(keyroll::Error::BadPassphrase.into())
            }
            Err(e) => {
                return Err(Error::Unavailable {
                    location,
                    op: "Decrypt",
                    message: aws::message(&e),
                })
            }
        };
        let plain = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
        SecretKey::from_slice(&plain).map_err(|_| keyroll::Error::BadPassphrase.into())
    }
}
