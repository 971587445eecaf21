//! Scale-out: `--shard I/N` (or a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` and
//! `JOB_COMPLETIONS`) names one of N key ranges of the table; each command works only its own
//! range, so N commands on N hosts work one table at once and no row is touched by two.
//!
//! The ranges are cut once per run by whichever worker starts first, from the table's ids at
//! that moment, and stored in the progress table (`progress_table.rs`): a worker started later,
//! elsewhere, reads the same boundaries instead of cutting its own from a table that has grown
//! since. The first range has no lower bound and the last no upper bound, so rows inserted
//! after the cut still fall into exactly one range.

use super::rows::RowId;
use crate::error::{CliError, Result};
use std::ffi::OsString;

/// Most shards of one run (a plan is N rows in the progress table, and N commands).
pub const MAX_SHARDS: u32 = 1024;

/// The Kubernetes Indexed Job variables read when `--shard` is absent.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// See [`INDEX_ENV`].
pub const COUNT_ENV: &str = "JOB_COMPLETIONS";

/// Which shard of how many (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// This command's shard, `0..count`.
    pub index: u32,
    /// How many shards the run has.
    pub count: u32,
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The typed refusal of a shard argument (`invalid_shard`, exit status 8).
fn invalid(message: String) -> CliError {
    CliError::new("invalid_shard", crate::error::exit::INPUT, message)
}

impl ShardSpec {
    /// Parses `I/N` (0 <= I < N <= [`MAX_SHARDS`]); `from` names where it came from.
    pub fn parse(text: &str, from: &str) -> Result<Self> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| invalid(format!("{from} {text:?}: expected I/N, e.g. 0/4")))?;
        let number = |s: &str, what: &str| -> Result<u32> {
            s.trim().parse::<u32>().map_err(|_| {
                invalid(format!(
                    "{from} {text:?}: the {what} is not a non-negative integer"
                ))
            })
        };
        ShardSpec::new(number(i, "index")?, number(n, "count")?, from)
    }

    /// Checks `index` < `count` <= [`MAX_SHARDS`].
    pub fn new(index: u32, count: u32, from: &str) -> Result<Self> {
        if count == 0 || count > MAX_SHARDS {
            return Err(invalid(format!(
                "{from}: the shard count must be 1..={MAX_SHARDS}, not {count}"
            )));
        }
        if index >= count {
            return Err(invalid(format!(
                "{from}: shard index {index} is out of range for {count} shards (0-based: \
                 0..={})",
                count - 1
            )));
        }
        Ok(ShardSpec { index, count })
    }

    /// `--shard` if given, else `JOB_COMPLETION_INDEX` with `JOB_COMPLETIONS` (both through
    /// the one environment parser, so an empty variable is unset), else none. An index
    /// without a count is refused: a Job's index alone does not say how to cut the table.
    pub fn resolve(
        arg: Option<&str>,
        lookup: &impl Fn(&str) -> Option<OsString>,
    ) -> Result<Option<Self>> {
        if let Some(text) = arg {
            return ShardSpec::parse(text, "--shard").map(Some);
        }
        let read = |name: &str| -> Result<Option<String>> {
            keyroll_store::env::var(lookup, name)
                .map(|v| v.map(|s| s.trim().to_string()))
                .map_err(|e| invalid(e.to_string()))
        };
        match (read(INDEX_ENV)?, read(COUNT_ENV)?) {
            (None, _) => Ok(None),
            (Some(i), Some(n)) => {
                ShardSpec::parse(&format!("{i}/{n}"), "JOB_COMPLETION_INDEX/JOB_COMPLETIONS")
                    .map(Some)
            }
            (Some(_), None) => Err(invalid(format!(
                "{INDEX_ENV} is set but {COUNT_ENV} is not: set both (a Kubernetes Indexed Job \
                 does) or pass --shard I/N"
            ))),
        }
    }
}

/// One shard's key range: ids above `after` (none: from the first) up to and including
/// `upto` (none: to the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Exclusive lower bound.
    pub after: Option<RowId>,
    /// Inclusive upper bound.
    pub upto: Option<RowId>,
}

impl KeyRange {
    /// Shard `index`'s range among `boundaries` (the N-1 inclusive upper bounds of shards
    /// 0..N-1, in key order).
    pub fn of(boundaries: &[RowId], index: usize) -> Self {
        KeyRange {
            after: index
                .checked_sub(1)
                .and_then(|i| boundaries.get(i).cloned()),
            upto: boundaries.get(index).cloned(),
        }
    }

    /// `(after, upto]` for people.
    pub fn describe(&self) -> String {
        let show = |b: &Option<RowId>, open: &str| match b {
            Some(id) => id.to_string(),
            None => open.to_string(),
        };
        format!(
            "({}, {}]",
            show(&self.after, "-inf"),
            show(&self.upto, "+inf")
        )
    }
}

/// The offsets (0-based positions in key order) of the N-1 boundary ids of a table of
/// `rows` rows cut into `count` shards of near-equal size: the last row of each shard but
/// the last. `None` where a shard would be empty (fewer rows than shards).
pub fn boundary_offsets(rows: u64, count: u32) -> Vec<Option<u64>> {
    (1..count as u64)
        .map(|k| {
            let end = rows * k / count as u64; // rows in shards 0..k
            end.checked_sub(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn parses_and_refuses_with_a_typed_error() {
        assert_eq!(
            ShardSpec::parse("2/3", "--shard").unwrap(),
            ShardSpec { index: 2, count: 3 }
        );
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/2000"] {
            let e = ShardSpec::parse(bad, "--shard").unwrap_err();
            assert_eq!(e.code, "invalid_shard", "{bad}");
            assert_eq!(e.exit, crate::error::exit::INPUT, "{bad}");
        }
    }

    #[test]
    fn the_argument_wins_over_the_job_variables_which_are_read_when_it_is_absent() {
        let vars = [("JOB_COMPLETION_INDEX", "4"), ("JOB_COMPLETIONS", "5")];
        assert_eq!(
            ShardSpec::resolve(None, &env(&vars)).unwrap(),
            Some(ShardSpec { index: 4, count: 5 })
        );
        assert_eq!(
            ShardSpec::resolve(Some("0/2"), &env(&vars)).unwrap(),
            Some(ShardSpec { index: 0, count: 2 })
        );
        assert_eq!(ShardSpec::resolve(None, &env(&[])).unwrap(), None);
        // Empty is unset, as everywhere in the environment contract.
        assert_eq!(
            ShardSpec::resolve(None, &env(&[("JOB_COMPLETION_INDEX", "")])).unwrap(),
            None
        );
        let e = ShardSpec::resolve(None, &env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert_eq!(e.code, "invalid_shard");
        let e = ShardSpec::resolve(
            None,
            &env(&[("JOB_COMPLETION_INDEX", "5"), ("JOB_COMPLETIONS", "5")]),
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_shard");
    }

    #[test]
    fn ranges_are_open_at_both_ends_and_meet_without_overlap() {
        let b = [RowId::Int(10), RowId::Int(20)];
        assert_eq!(
            KeyRange::of(&b, 0),
            KeyRange {
                after: None,
                upto: Some(RowId::Int(10))
            }
        );
        assert_eq!(
            KeyRange::of(&b, 1),
            KeyRange {
                after: Some(RowId::Int(10)),
                upto: Some(RowId::Int(20))
            }
        );
        assert_eq!(
            KeyRange::of(&b, 2),
            KeyRange {
                after: Some(RowId::Int(20)),
                upto: None
            }
        );
        assert_eq!(KeyRange::of(&[], 0), KeyRange::default());
    }

    #[test]
    fn offsets_cut_near_equal_shards() {
        assert_eq!(boundary_offsets(9, 3), [Some(2), Some(5)]);
        assert_eq!(boundary_offsets(10, 3), [Some(2), Some(5)]);
        assert_eq!(boundary_offsets(1, 3), [None, None]);
        assert!(boundary_offsets(100, 1).is_empty());
    }
}
