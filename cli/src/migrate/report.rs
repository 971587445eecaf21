//! `report`: how many values sit under each key version, counted in SQL from the text prefix
//! (`kr1:v<N>:`) or the binary header, with no key and no decryption.

use super::rows::{magic_hex, FERNET_PREFIX, VERSION_OFFSET};
use super::target::Target;
use crate::args::DbArgs;
use crate::error::{exit, Result};
use crate::out;
use crate::session::Session;
use keyroll::envelope::{HEADER_LEN, MAGIC, TEXT_PREFIX};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Counts per label: `v<N>`, `fernet`, `other`, `null`.
#[derive(Debug, Default, Serialize)]
pub struct Census {
    /// Rows per label.
    pub counts: BTreeMap<String, u64>,
}

impl Census {
    fn add(&mut self, label: String, n: u64) {
        let label = normalise(&label);
        *self.counts.entry(label).or_default() += n;
    }

    /// Non-null values.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| *k != "null")
            .map(|(_, v)| v)
            .sum()
    }

    /// Values under `version`.
    pub fn under(&self, version: u32) -> u64 {
        self.counts
            .get(&format!("v{version}"))
            .copied()
            .unwrap_or(0)
    }
}

/// `kr1:v12:` → `v12`; `bin:0000000c` → `v12`; others unchanged.
fn normalise(label: &str) -> String {
    if let Some(rest) = label.strip_prefix(TEXT_PREFIX) {
        let digits = rest.trim_end_matches(':');
        return match digits.parse::<u32>() {
            Ok(v) if digits.bytes().all(|b| b.is_ascii_digit()) => format!("v{v}"),
            _ => "other".into(),
        };
    }
    if let Some(hex) = label.strip_prefix("bin:") {
        return match u32::from_str_radix(hex, 16) {
            Ok(v) => format!("v{v}"),
            Err(_) => "other".into(),
        };
    }
    label.to_string()
}

/// Counts a column of a SQLite table.
pub fn sqlite(path: &std::path::Path, table: &str, column: &str) -> Result<Census> {
    let conn = super::sqlite::open(path)?;
    let (t, c, _) = super::sqlite::check_columns(&conn, table, column, None)?;
    let sql = format!(
        "SELECT CASE \
           WHEN {c} IS NULL THEN 'null' \
           WHEN typeof({c}) = 'blob' AND hex(substr({c}, 1, {ml})) = '{magic}' AND length({c}) >= {hl} \
             THEN 'bin:' || hex(substr({c}, {vo}, 4)) \
           WHEN typeof({c}) = 'text' AND substr({c}, 1, {pl}) = '{prefix}' AND instr(substr({c}, {pl1}, 11), ':') > 1 \
             THEN substr({c}, 1, {pl} + instr(substr({c}, {pl1}, 11), ':')) \
           WHEN typeof({c}) = 'text' AND substr({c}, 1, {fl}) = '{fernet}' THEN 'fernet' \
           ELSE 'other' END AS k, count(*) FROM {t} GROUP BY k",
        ml = MAGIC.len(),
        magic = magic_hex(),
        hl = HEADER_LEN,
        vo = VERSION_OFFSET + 1,
        prefix = TEXT_PREFIX,
        pl = TEXT_PREFIX.len(),
        pl1 = TEXT_PREFIX.len() + 1,
        fernet = FERNET_PREFIX,
        fl = FERNET_PREFIX.len(),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut census = Census::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (label, n) = row?;
        census.add(label, n as u64);
    }
    Ok(census)
}

/// Counts a column of a PostgreSQL table.
pub fn postgres(url: &str, table: &str, column: &str) -> Result<Census> {
    let mut client = super::postgres::connect(url)?;
    let t = super::postgres::check(&mut client, table, column, None)?;
    let c = &t.column;
    let sql = if t.value_kind == super::postgres::Kind::Bytes {
        format!(
            "SELECT CASE WHEN {c} IS NULL THEN 'null' \
               WHEN substring({c} from 1 for {ml}) = '\\x{magic}'::bytea AND length({c}) >= {hl} \
                 THEN 'bin:' || encode(substring({c} from {vo} for 4), 'hex') \
               ELSE 'other' END AS k, count(*) FROM {} GROUP BY k",
            t.table,
            ml = MAGIC.len(),
            magic = magic_hex(),
            hl = HEADER_LEN,
            vo = VERSION_OFFSET + 1
        )
    } else {
        format!(
            "SELECT CASE WHEN {c} IS NULL THEN 'null' \
               WHEN left({c}, {pl}) = '{prefix}' AND position(':' in substr({c}, {pl1}, 11)) > 1 \
                 THEN substr({c}, 1, {pl} + position(':' in substr({c}, {pl1}, 11))) \
               WHEN left({c}, {fl}) = '{fernet}' THEN 'fernet' \
               ELSE 'other' END AS k, count(*) FROM {} GROUP BY k",
            t.table,
            prefix = TEXT_PREFIX,
            pl = TEXT_PREFIX.len(),
            pl1 = TEXT_PREFIX.len() + 1,
            fernet = FERNET_PREFIX,
            fl = FERNET_PREFIX.len(),
        )
    };
    let mut census = Census::default();
    for row in client.query(sql.as_str(), &[])? {
        census.add(row.get::<_, String>(0), row.get::<_, i64>(1) as u64);
    }
    Ok(census)
}

/// Counts per label for any target.
pub fn census(target: &Target, table: &str, column: &str) -> Result<Census> {
    match target {
        Target::Sqlite(p) => sqlite(p, table, column),
        Target::Postgres(u) => postgres(u, table, column),
    }
}

/// `report`.
pub fn run(s: &Session, args: &DbArgs) -> Result<i32> {
    let target = Target::parse(&args.db)?;
    let census = census(&target, &args.table, &args.column)?;
    // The keyring is optional here: with it, the report names the active version and the
    // state of each version; without it, counts only.
    let ring = if s.store.exists() {
        Some(s.open()?)
    } else {
        None
    };
    let active = ring.as_ref().and_then(|r| r.active_version());
    let total = census.total();
    let current = active.map(|v| census.under(v)).unwrap_or(0);
    let to_migrate = total - current;
    let percent = if total == 0 {
        0.0
    } else {
        100.0 * to_migrate as f64 / total as f64
    };
    let state_of = |label: &str| -> Option<String> {
        let v: u32 = label.strip_prefix('v')?.parse().ok()?;
        ring.as_ref()?
            .version(v)
            .map(|i| i.state.as_str().to_string())
    };
    if s.global.json {
        let mut versions = serde_json::Map::new();
        for (label, n) in &census.counts {
            if label.starts_with('v') {
                versions.insert(
                    label.clone(),
                    json!({ "rows": n, "state": state_of(label) }),
                );
            }
        }
        out::json(&json!({
            "database": target.kind(),
            "table": args.table,
            "column": args.column,
            "total": total,
            "null": census.counts.get("null").copied().unwrap_or(0),
            "versions": versions,
            "fernet": census.counts.get("fernet").copied().unwrap_or(0),
            "other": census.counts.get("other").copied().unwrap_or(0),
            "active_version": active,
            "current": current,
            "to_migrate": to_migrate,
            "percent_to_migrate": (percent * 100.0).round() / 100.0,
        }));
        return Ok(exit::OK);
    }
    println!(
        "{} {}.{} ({})",
        out::bold("report"),
        args.table,
        args.column,
        target.kind()
    );
    println!("  {:<22} {:>12} {:>8}", "source", "rows", "share");
    let share = |n: u64| {
        if total == 0 {
            0.0
        } else {
            100.0 * n as f64 / total as f64
        }
    };
    for (label, n) in &census.counts {
        if label == "null" {
            continue;
        }
        let name = match label.as_str() {
            "fernet" => "Fernet (legacy)".to_string(),
            "other" => "other (raw/unreadable)".to_string(),
            v => match state_of(v) {
                Some(st) if Some(v) == active.map(|a| format!("v{a}")).as_deref() => {
                    format!("{v} ({st})")
                }
                Some(st) => format!("{v} ({st})"),
                None => format!("{v} (not in keyring)"),
            },
        };
        println!("  {:<22} {:>12} {:>7.1}%", name, n, share(*n));
    }
    if let Some(n) = census.counts.get("null") {
        println!("  {:<22} {:>12}", out::dim("NULL (skipped)"), n);
    }
    println!("  {:<22} {:>12}", "total", total);
    match active {
        Some(v) => {
            let line = format!("{to_migrate} values ({percent:.1}%) not yet under active v{v}");
            println!(
                "{}",
                if to_migrate == 0 {
                    out::good(line)
                } else {
                    out::warn(line)
                }
            );
        }
        None => println!("{}", out::dim("(no keyring opened: counts only)")),
    }
    Ok(exit::OK)
}
