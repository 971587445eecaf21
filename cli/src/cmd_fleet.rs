//! The fleet side of a keyring: `keyroll readers`, the reader gate of `promote`, and the
//! reader lines of `health`.
//!
//! Readers (services holding the keyring through a reload loop) record in the store which
//! generation and versions they hold and when they last looked ([`ReaderCheckIn`]). A
//! reader is *live* while its last check-in is within three of its poll intervals: the rule
//! of [`keyroll_store::fleet::readers_lacking`], which is what a promote waits for. A reader
//! that stopped checking in is *stale*: it is shown, but waited for by nobody (it is down or
//! gone, and will load the current keyring when it starts).

use crate::args::PromoteArgs;
use crate::error::{exit, CliError, Result};
use crate::out;
use crate::session::{now, Session};
use keyroll::{KeyState, Keyring, VersionInfo};
use keyroll_store::fleet::{readers_lacking, ReaderCheckIn};
use keyroll_store::AuditRecord;
use serde_json::{json, Value};

/// How many poll intervals a reader may stay silent and still count as live (the rule of
/// [`readers_lacking`]; also the wait after `stage` on stores that keep no check-ins).
pub const LIVE_INTERVALS: u64 = 3;

/// Whether `r` checked in recently enough to be waited for.
pub fn is_live(r: &ReaderCheckIn, now: u64) -> bool {
    now.saturating_sub(r.checked_at) <= LIVE_INTERVALS * r.poll_interval.max(1)
}

/// The check-ins, or `None` if the store keeps none (`store_unsupported`).
fn check_ins(s: &Session) -> Result<Option<Vec<ReaderCheckIn>>> {
    match s.store.fleet()?.readers() {
        Ok(readers) => Ok(Some(readers)),
        Err(keyroll_store::Error::Unsupported { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A reader as `readers`, `health` and refusals name it: its id and generation.
fn name(r: &ReaderCheckIn) -> String {
    format!("{} (generation {})", r.reader, r.generation)
}

fn versions(r: &ReaderCheckIn) -> String {
    let v: Vec<String> = r.versions.iter().map(|v| format!("v{v}")).collect();
    v.join(",")
}

/// `readers`: every check-in, newest first.
pub fn readers(s: &Session) -> Result<i32> {
    let Some(readers) = check_ins(s)? else {
        return Err(keyroll_store::Error::Unsupported {
            location: s.store.location(),
            what: "this store keeps no reader check-ins: wait three poll intervals after `keyroll stage` before `keyroll promote` (docs/fleet.md)",
        }
        .into());
    };
    let now = now()?;
    if s.global.json {
        let rows: Vec<Value> = readers
            .iter()
            .map(|r| {
                json!({
                    "reader": r.reader,
                    "generation": r.generation,
                    "versions": r.versions,
                    "checked_at": r.checked_at,
                    "age_seconds": now.saturating_sub(r.checked_at),
                    "poll_interval": r.poll_interval,
                    "live": is_live(r, now),
                    "last_error": r.last_error,
                })
            })
            .collect();
        out::json(&json!({ "readers": rows }));
        return Ok(exit::OK);
    }
    if readers.is_empty() {
        println!("no reader has checked in at {}", s.store.location());
        return Ok(exit::OK);
    }
    println!(
        "{:<40}  {:>10}  {:<16}  {:>10}  {:<5}  last error",
        "reader", "generation", "versions", "last check", "state"
    );
    for r in &readers {
        let state = if is_live(r, now) {
            out::good("live ")
        } else {
            out::dim("stale")
        };
        println!(
            "{:<40}  {:>10}  {:<16}  {:>10}  {}  {}",
            r.reader,
            r.generation,
            versions(r),
            format!("{}s ago", now.saturating_sub(r.checked_at)),
            state,
            r.last_error
                .as_deref()
                .map(out::bad)
                .unwrap_or_else(|| "-".to_string())
        );
    }
    Ok(exit::OK)
}

/// The reader gate of `promote VERSION`, run inside the change on the keyring it is about to
/// change (so a retried change checks again). Returns a line to show, if any.
///
/// - Check-ins kept: refused with `readers_behind` while any live reader lacks VERSION (it
///   could not decrypt what is written, or verify what is signed, under VERSION); with
///   `--force` the event becomes `[signing_]promote_forced` and its details name those
///   readers and their generations.
/// - No check-ins (`store_unsupported`): the documented fallback, VERSION staged at least
///   three poll intervals ago (every reader has polled since), else `readers_unknown`; with
///   `--force`, `promote_forced`.
///
/// Both refusals are audited (as `promote` with the refusal's code) and change nothing.
pub fn promote_gate(
    s: &Session,
    versions: &[VersionInfo],
    args: &PromoteArgs,
    now: u64,
    record: &mut AuditRecord,
) -> Result<Option<String>> {
    let version = args.version;
    match check_ins(s)? {
        Some(readers) => {
            let lacking = readers_lacking(&readers, version, now);
            if lacking.is_empty() {
                return Ok(None);
            }
            let named: Vec<String> = lacking.iter().map(name).collect();
            let details = json!({
                "version": version,
                "readers_lacking": lacking.iter().map(|r| json!({
                    "reader": r.reader,
                    "generation": r.generation,
                    "versions": r.versions,
                    "checked_at": r.checked_at,
                })).collect::<Vec<_>>(),
            });
            record.details = Some(details);
            if !args.force {
                return Err(CliError::new(
                    "readers_behind",
                    exit::INPUT,
                    format!(
                        "{} live reader(s) do not hold v{version} yet: {}. They would fail to decrypt what is written under v{version}; they pick it up on their next poll (see `keyroll readers`): promote once they hold it, or pass --force. Nothing was changed",
                        lacking.len(),
                        named.join(", ")
                    ),
                ));
            }
            record.event = format!("{}_forced", record.event);
            Ok(Some(format!(
                "forced: {} live reader(s) lack v{version} and fail to decrypt data under it until they reload: {}",
                lacking.len(),
                named.join(", ")
            )))
        }
        None => {
            let Some(staged) = versions
                .iter()
                .find(|v| v.version == version)
                .map(|v| v.created_at)
            else {
                // Unknown version: the core's promote says so.
                return Ok(None);
            };
            let wait = LIVE_INTERVALS * args.poll_interval.max(1);
            let ready = staged.saturating_add(wait);
            if now >= ready {
                return Ok(Some(format!(
                    "{} keeps no reader check-ins: v{version} was staged {}s ago, more than {LIVE_INTERVALS} poll intervals of {} s, so every reader polling at that interval has loaded it",
                    s.store.location(),
                    now - staged,
                    args.poll_interval
                )));
            }
            record.details = Some(json!({
                "version": version,
                "readers": "unknown: the store keeps no reader check-ins",
                "staged_at": staged,
                "poll_interval": args.poll_interval,
            }));
            if !args.force {
                return Err(CliError::new(
                    "readers_unknown",
                    exit::INPUT,
                    format!(
                        "{} keeps no reader check-ins, so promote waits {LIVE_INTERVALS} poll intervals ({wait} s at --poll-interval {}) after `stage`: v{version} can be promoted in {} s, or pass --force (docs/fleet.md). Nothing was changed",
                        s.store.location(),
                        args.poll_interval,
                        ready - now
                    ),
                ));
            }
            record.event = format!("{}_forced", record.event);
            Ok(Some(format!(
                "forced: {} keeps no reader check-ins and v{version} was staged only {}s ago",
                s.store.location(),
                now - staged
            )))
        }
    }
}

/// What `health` says about the readers: warning lines, and the `readers` object of its
/// JSON (`null` where the store keeps no check-ins). A live reader lacking the active version,
/// or a pending one staged more than one of its poll intervals ago, is behind; a live reader
/// whose last reload failed is reported with the error's code. Stale readers are counted only.
pub fn health_readers(s: &Session, ring: &Keyring, now: u64) -> (Vec<String>, Value) {
    let readers = match check_ins(s) {
        Ok(Some(readers)) => readers,
        Ok(None) => return (Vec::new(), Value::Null),
        Err(e) => {
            return (
                vec![format!(
                    "cannot list the readers: {} [{}]",
                    e.message, e.code
                )],
                json!({ "error": e.code }),
            )
        }
    };
    let active = ring.active_version();
    let pending: Vec<(u32, u64)> = ring
        .versions()
        .into_iter()
        .filter(|v| v.state == KeyState::Pending)
        .map(|v| (v.version, v.created_at))
        .collect();
    let mut warnings = Vec::new();
    let mut behind = Vec::new();
    let mut errors = Vec::new();
    let live: Vec<&ReaderCheckIn> = readers.iter().filter(|r| is_live(r, now)).collect();
    for r in &live {
        let mut lacking: Vec<u32> = Vec::new();
        if let Some(a) = active {
            if !r.versions.contains(&a) {
                lacking.push(a);
                warnings.push(format!(
                    "reader {} lacks the active v{a}: it cannot decrypt data written now",
                    name(r)
                ));
            }
        }
        for &(p, staged) in &pending {
            if !r.versions.contains(&p) && now.saturating_sub(staged) > r.poll_interval.max(1) {
                lacking.push(p);
                warnings.push(format!(
                    "reader {} has not loaded the staged v{p} (last check {}s ago)",
                    name(r),
                    now.saturating_sub(r.checked_at)
                ));
            }
        }
        if !lacking.is_empty() {
            behind.push(
                json!({ "reader": r.reader, "generation": r.generation, "lacking": lacking }),
            );
        }
        if let Some(e) = &r.last_error {
            warnings.push(format!(
                "reader {}: its last reload failed ({e}); it keeps the keyring it holds",
                name(r)
            ));
            errors.push(json!({ "reader": r.reader, "generation": r.generation, "last_error": e }));
        }
    }
    let value = json!({
        "live": live.len(),
        "stale": readers.len() - live.len(),
        "behind": behind,
        "errors": errors,
    });
    (warnings, value)
}
