//! The two kinds of keyring the CLI stores, behind one trait, so that one store protocol
//! (lock, generation check, backup, atomic write, audit record) serves both and the
//! encryption and signing commands cannot drift apart.

use crate::error::{exit, CliError};
use crate::out;
use keyroll::signing::SigningKeyring;
use keyroll::{KeyState, Keyring, PolicyState, Protection, Unlock, VersionInfo};

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

    /// What an emergency rotation does to the old version's output, for the confirmation.
    const EMERGENCY_CONSEQUENCE: &'static str;

    /// The active version.
    fn active(&self) -> Option<u32>;

    /// Whether the rotation policy says the active version is due (`rotate --if-due`).
    fn due(&self, now: u64) -> bool;

    /// Rotates: a new active version; with a reason, an emergency rotation (the old one
    /// becomes compromised).
    fn rotate_now(&mut self, emergency_reason: Option<&str>, now: u64) -> keyroll::Result<u32>;

    /// What `rotate` prints when nothing was due.
    fn not_due_message(active: Option<u32>) -> String;

    /// What `rotate` prints after rotating from `previous` ("v2", or "-") to `active`.
    fn rotated_message(previous: &str, active: u32, emergency: bool) -> String;

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
    const EMERGENCY_CONSEQUENCE: &'static str = "refuse ordinary reads until data is migrated";

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

    fn active(&self) -> Option<u32> {
        self.active_version()
    }

    fn due(&self, now: u64) -> bool {
        self.check_policy(now).state == PolicyState::Due
    }

    fn rotate_now(&mut self, emergency_reason: Option<&str>, now: u64) -> keyroll::Result<u32> {
        match emergency_reason {
            Some(reason) => self.emergency_rotate(reason, now),
            None => self.rotate(now),
        }
    }

    fn not_due_message(active: Option<u32>) -> String {
        format!(
            "not due: active v{} stays (nothing changed)",
            active.unwrap_or(0)
        )
    }

    fn rotated_message(previous: &str, active: u32, emergency: bool) -> String {
        let what = if emergency {
            format!("{previous} is now compromised")
        } else {
            format!("{previous} is now decrypt-only")
        };
        format!(
            "{} v{active} is active; {what}. Run `keyroll migrate` to move data onto it.",
            out::good("rotated:")
        )
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
    const EMERGENCY_CONSEQUENCE: &'static str =
        "every token it signed stops verifying (users holding them must sign in again)";

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

    fn active(&self) -> Option<u32> {
        self.active_version()
    }

    fn due(&self, now: u64) -> bool {
        self.check_policy(now).state == PolicyState::Due
    }

    fn rotate_now(&mut self, emergency_reason: Option<&str>, now: u64) -> keyroll::Result<u32> {
        match emergency_reason {
            Some(reason) => self.emergency_rotate(reason, now),
            None => self.rotate(now),
        }
    }

    fn not_due_message(active: Option<u32>) -> String {
        format!(
            "not due: v{} keeps signing (nothing changed)",
            active.unwrap_or(0)
        )
    }

    fn rotated_message(previous: &str, active: u32, emergency: bool) -> String {
        let what = if emergency {
            format!("{previous} is compromised: its tokens no longer verify")
        } else {
            format!("{previous} verifies only: its tokens stay valid until they expire")
        };
        format!("{} v{active} signs; {what}", out::good("rotated:"))
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
