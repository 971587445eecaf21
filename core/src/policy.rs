//! Rotation policy: warn at 80 days, rotate at 90 (defaults), judged against a `now` handed in.

use serde::{Deserialize, Serialize};

const DAY: u64 = 86_400;

/// When the active key should be rotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Days after activation at which rotation is due.
    pub rotate_after_days: u32,
    /// Days after activation at which a warning is raised.
    pub warn_after_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rotate_after_days: 90,
            warn_after_days: 80,
        }
    }
}

/// Verdict of a policy check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyState {
    /// Younger than `warn_after_days`.
    Ok,
    /// Older than `warn_after_days`: schedule a rotation.
    Warn,
    /// Older than `rotate_after_days`: rotate now.
    Due,
    /// There is no active key (e.g. a decrypt-only export): nothing to rotate.
    NoActiveKey,
}

impl PolicyState {
    /// The verdict's name as in every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyState::Ok => "ok",
            PolicyState::Warn => "warn",
            PolicyState::Due => "due",
            PolicyState::NoActiveKey => "no_active_key",
        }
    }
}

/// The result of [`crate::Keyring::check_policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyStatus {
    /// The verdict.
    pub state: PolicyState,
    /// The active version, if any.
    pub active_version: Option<u32>,
    /// Age of the active key in seconds (0 if none).
    pub age_seconds: u64,
    /// When a warning starts (Unix seconds), if there is an active key.
    pub warn_at: Option<u64>,
    /// When rotation is due (Unix seconds), if there is an active key.
    pub due_at: Option<u64>,
}

impl Policy {
    /// Judges a key activated at `activated_at`.
    pub fn evaluate(&self, active: Option<(u32, u64)>, now: u64) -> PolicyStatus {
        let Some((version, activated_at)) = active else {
            return PolicyStatus {
                state: PolicyState::NoActiveKey,
                active_version: None,
                age_seconds: 0,
                warn_at: None,
                due_at: None,
            };
        };
        let age = now.saturating_sub(activated_at);
        let warn_at = activated_at.saturating_add(u64::from(self.warn_after_days) * DAY);
        let due_at = activated_at.saturating_add(u64::from(self.rotate_after_days) * DAY);
        let state = if now >= due_at {
            PolicyState::Due
        } else if now >= warn_at {
            PolicyState::Warn
        } else {
            PolicyState::Ok
        };
        PolicyStatus {
            state,
            active_version: Some(version),
            age_seconds: age,
            warn_at: Some(warn_at),
            due_at: Some(due_at),
        }
    }
}
