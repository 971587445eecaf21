//! The two kinds of keyring the CLI stores, behind one trait, so that one store protocol
//! (lock, generation check, backup, atomic write, audit record) serves both and the
//! encryption and signing commands cannot drift apart.

use crate::error::{exit, CliError};
use keyroll::signing::SigningKeyring;
use keyroll::{KeyState, Keyring, Protection, Unlock, VersionInfo};

/// A keyring that is stored as a sealed keyroll document.
pub trait Sealed: Sized {
    /// What to tell an operator who gave a document of the other kind (core's
    /// `wrong_keyring_kind`).
    const OTHER_KIND_HINT: &'static str;
    /// The prefix of this kind's state-change audit events (`state_destroyed`,
    /// `signing_state_destroyed`).
    const EVENT_PREFIX: &'static str;

    /// Opens a document of this kind.
    fn open(document: &[u8], unlock: Unlock<'_>) -> keyroll::Result<Self>;

    /// Seals it as the next generation.
    fn seal(&self, protection: Protection<'_>) -> keyroll::Result<Vec<u8>>;

    /// Records the generation it is stored as.
    fn mark_saved(&mut self, generation: u64);

    /// The keyring id, in hex.
    fn id_hex(&self) -> String;

    /// Every version's metadata, ascending.
    fn version_infos(&self) -> Vec<VersionInfo>;

    /// Moves a version along its life cycle (core's rules, the same for both kinds).
    fn set_version_state(
        &mut self,
        version: u32,
        to: KeyState,
        note: Option<&str>,
        now: u64,
    ) -> keyroll::Result<()>;

    /// A state as this kind's commands print it.
    fn state_word(state: KeyState) -> &'static str {
        state.as_str()
    }

    /// Core's error, with the wrong-kind refusal in words that name the right commands.
    fn open_error(e: keyroll::Error) -> CliError {
        if matches!(e, keyroll::Error::WrongKeyringKind) {
            return CliError::new(e.code(), exit::KEYRING, Self::OTHER_KIND_HINT);
        }
        CliError::from(e)
    }
}

impl Sealed for Keyring {
    const OTHER_KIND_HINT: &'static str = "this is a signing keyring, not an encryption keyring: use the `keyroll keys …` commands for it (`keyroll keys info`), or point --keyring / KEYROLL_KEYRING at an encryption keyring";
    const EVENT_PREFIX: &'static str = "";

    fn open(document: &[u8], unlock: Unlock<'_>) -> keyroll::Result<Self> {
        Keyring::from_document(document, unlock)
    }

    fn seal(&self, protection: Protection<'_>) -> keyroll::Result<Vec<u8>> {
        self.to_document(protection)
    }

    fn mark_saved(&mut self, generation: u64) {
        Keyring::mark_saved(self, generation);
    }

    fn id_hex(&self) -> String {
        self.id().to_hex()
    }

    fn version_infos(&self) -> Vec<VersionInfo> {
        self.versions()
    }

    fn set_version_state(
        &mut self,
        version: u32,
        to: KeyState,
        note: Option<&str>,
        now: u64,
    ) -> keyroll::Result<()> {
        self.set_state(version, to, note, now)
    }
}

impl Sealed for SigningKeyring {
    const OTHER_KIND_HINT: &'static str = "this is an encryption keyring, not a signing keyring: `keyroll keys …` and `keyroll jwks` work on signing keyrings (create one in its own file with `keyroll --keyring signing.json keys create --algorithm ed25519`)";
    const EVENT_PREFIX: &'static str = "signing_";

    fn open(document: &[u8], unlock: Unlock<'_>) -> keyroll::Result<Self> {
        SigningKeyring::from_document(document, unlock)
    }

    fn seal(&self, protection: Protection<'_>) -> keyroll::Result<Vec<u8>> {
        self.to_document(protection)
    }

    fn mark_saved(&mut self, generation: u64) {
        SigningKeyring::mark_saved(self, generation);
    }

    fn id_hex(&self) -> String {
        self.id().to_hex()
    }

    fn version_infos(&self) -> Vec<VersionInfo> {
        self.versions()
    }

    fn set_version_state(
        &mut self,
        version: u32,
        to: KeyState,
        note: Option<&str>,
        now: u64,
    ) -> keyroll::Result<()> {
        self.set_state(version, to, note, now)
    }

    /// "verify-only" rather than "decrypt_only".
    fn state_word(state: KeyState) -> &'static str {
        crate::cmd_signing::verb(state)
    }
}

/// Whether a stored document is a signing keyring's (`"purpose": "signing"` in its body, as
/// `docs/wire-format.md` §12 writes it), for commands that take either kind (`restore`).
/// Read without a key and unauthenticated: it only picks the loader, which then checks the
/// document in full (and refuses the other kind with `wrong_keyring_kind`).
pub fn is_signing_document(document: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(document)
        .ok()
        .and_then(|doc| {
            doc.pointer("/body/purpose")
                .and_then(|p| p.as_str().map(|p| p == "signing"))
        })
        .unwrap_or(false)
}
